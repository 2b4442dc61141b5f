"""IT administration: users and roles, API tokens (the plaintext is shown exactly once)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from appliance import accounts
from appliance.errors import AppError
from appliance.models import ROLES, ApiToken, User

from .forms import FORM, field_errors
from .security import requires

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


# -- users ------------------------------------------------------------------------------------

@blueprint.get("/users")
@requires("admin")
def users():
    return _users_page({}, {})


def _users_page(form, errors, status: int = 200):
    rows = list(User.select().order_by(User.username))
    return render_template("admin/users.html", users=rows, roles=ROLES, form=form, errors=errors), status


@blueprint.post("/users")
@requires("admin")
def create_user():
    form = request.form
    errors = {}
    if form.get("password", "") != form.get("repeat_password", ""):
        errors["repeat_password"] = "The two passwords differ."
    else:
        try:
            user = accounts.create_user(form.get("username", ""), form.get("password", ""), form.get("role", ""),
                                        g.user.username)
        except AppError as e:
            errors = field_errors(e)
            if e.status == 409:
                errors["username"] = e.message
    if errors:
        return _users_page(form, errors, status=422)
    flash(f"User {user.username} ({user.role}) was created.", "success")
    return redirect(url_for(".users"))


@blueprint.post("/users/<username>/role")
@requires("admin")
def change_role(username: str):
    if _is_self(username):
        return _users_page({}, {FORM: "You cannot change your own role (ask another admin)."}, status=409)
    role = request.form.get("role", "")
    try:
        accounts.set_role(username, role, g.user.username)
    except AppError as e:
        return _users_page({}, {FORM: e.message}, status=e.status)
    flash(f"{username} is now {role}.", "success")
    return redirect(url_for(".users"))


@blueprint.post("/users/<username>/active")
@requires("admin")
def set_active(username: str):
    active = request.form.get("active") == "1"
    if _is_self(username) and not active:
        return _users_page({}, {FORM: "You cannot disable your own account."}, status=409)
    try:
        accounts.set_active(username, active, g.user.username)
    except AppError as e:
        return _users_page({}, {FORM: e.message}, status=e.status)
    flash(f"{username} is {'enabled' if active else 'disabled'}.", "success")
    return redirect(url_for(".users"))


@blueprint.post("/users/<username>/password")
@requires("admin")
def reset_password(username: str):
    try:
        # Only they should know their password: the one given here works once, to choose their own.
        accounts.set_password(username, request.form.get("password", ""), g.user.username,
                              force_change=not _is_self(username))
    except AppError as e:
        return _users_page({}, {FORM: f"{username}: {e.message}"}, status=e.status)
    flash(f"The password of {username} was reset; they choose their own at their next sign-in, and their "
          "sessions are signed out.", "success")
    return redirect(url_for(".users"))


def _is_self(username: str) -> bool:
    return username.strip().lower() == g.user.username


# -- API tokens -------------------------------------------------------------------------------

@blueprint.get("/tokens")
@requires("admin")
def tokens():
    return _tokens_page({}, {})


def _tokens_page(form, errors, status: int = 200, created: str | None = None, created_name: str | None = None):
    rows = list(ApiToken.select().order_by(ApiToken.revoked_at.is_null(False), ApiToken.name))
    return render_template("admin/tokens.html", tokens=rows, roles=ROLES, form=form, errors=errors,
                           created=created, created_name=created_name), status


@blueprint.post("/tokens")
@requires("admin")
def create_token():
    form = request.form
    try:
        token, plaintext = accounts.create_token(form.get("name", ""), form.get("role", ""), g.user.username)
    except AppError as e:
        errors = field_errors(e)
        if e.status == 409:
            errors["name"] = e.message
        return _tokens_page(form, errors, status=e.status)
    # Rendered, not redirected: the plaintext lives only in this one response (sent with no-store).
    return _tokens_page({}, {}, created=plaintext, created_name=token.name)


@blueprint.post("/tokens/<name>/revoke")
@requires("admin")
def revoke_token(name: str):
    try:
        accounts.revoke_token(name, g.user.username)
    except AppError as e:
        return _tokens_page({}, {FORM: e.message}, status=e.status)
    flash(f"Token {name} is revoked; scripts using it now get 401.", "success")
    return redirect(url_for(".tokens"))
