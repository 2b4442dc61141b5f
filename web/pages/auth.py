"""Sign-in (with lock-out after repeated failures), sign-out and changing one's own password."""
from __future__ import annotations

import logging

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from appliance import accounts
from appliance.errors import AppError, Unauthorized

from . import settings
from .forms import field_errors
from .security import public, refresh_password_stamp, requires, safe_next, start_session

blueprint = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login():
    next_url = request.values.get("next", "")
    if request.method == "GET":
        if g.user is not None:
            return redirect(safe_next(next_url))
        return render_template("login.html", username="", error=None, next_url=next_url)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    security = settings().security
    try:
        user = accounts.authenticate(username, password, security.login_max_failures, security.lockout_minutes)
    except Unauthorized as e:
        log.info("failed sign-in for %r from %s", username, request.remote_addr)
        return render_template("login.html", username=username, error=e.message, next_url=next_url), 401
    start_session(user)
    return redirect(safe_next(next_url))


@blueprint.route("/logout", methods=["GET", "POST"])
@public
def logout():
    # GET only asks: a link or an <img> on another site must not be able to sign people out.
    if request.method == "GET":
        return render_template("logout.html")
    g.user = None
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/account/password", methods=["GET", "POST"])
@requires("staff")
def change_password():
    if request.method == "GET":
        return render_template("password.html", errors={})
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    repeat = request.form.get("repeat_password", "")
    errors: dict[str, str] = {}
    if new != repeat:
        errors["repeat_password"] = "The two new passwords differ."
    if not errors:
        try:
            accounts.change_own_password(g.user, current, new)
        except AppError as e:
            errors = field_errors(e, {"password": "new_password"})
    if errors:
        return render_template("password.html", errors=errors), 422
    refresh_password_stamp(g.user)  # this session stays signed in; the others end
    flash("Your password was changed.", "success")
    return redirect(url_for("orders.list_orders"))


@blueprint.get("/")
@requires("staff")
def home():
    return redirect(url_for("orders.list_orders"))
