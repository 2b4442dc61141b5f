"""Sign-in (throttled per address and per user name at that address, never a lock), sign-out (here or
everywhere) and changing one's own password, which comes first after an admin set it."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from appliance import accounts
from appliance.errors import AppError, Unauthorized

from web.errors import error_response

from . import settings
from .forms import field_errors
from .security import end_session, public, refresh_password_stamp, requires, safe_next, start_session

blueprint = Blueprint("auth", __name__)


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
    try:
        user = accounts.authenticate(username, password, **_throttle())
    except Unauthorized as e:  # audited by accounts.authenticate; the same answer whatever the reason
        return render_template("login.html", username=username, error=e.message, next_url=next_url), 401
    start_session(user)
    return redirect(safe_next(next_url))


def _throttle() -> dict:
    """The sign-in throttle's settings, for this request's address (sign-in and the current password)."""
    security = settings().security
    return {"max_failures": security.login_max_failures, "max_wait_minutes": security.lockout_minutes,
            "address": request.remote_addr or "unknown", "first_wait_seconds": security.login_first_wait_seconds,
            "user_max_failures": security.login_user_max_failures,
            "user_max_wait_seconds": security.login_user_max_wait_seconds,
            "forget_minutes": security.login_forget_minutes}


# What a user whose password an admin set may still reach: the page to choose their own, and signing out.
_BEFORE_A_NEW_PASSWORD = {"auth.change_password", "auth.logout", "auth.sign_out_everywhere", "static"}
NEW_PASSWORD_FIRST = "An admin set your password: choose your own to go on."


@blueprint.before_app_request
def _a_new_password_first():
    """Runs after the session's user is loaded (web.pages.security is installed before blueprints)."""
    user = g.get("user")
    if user is None or not user.must_change_password or request.endpoint in _BEFORE_A_NEW_PASSWORD:
        return None
    if request.path.startswith("/api/"):
        return error_response(403, NEW_PASSWORD_FIRST, [{"field": "password", "message": "must be changed"}])
    return redirect(url_for("auth.change_password"))


@blueprint.route("/logout", methods=["GET", "POST"])
@public
def logout():
    # GET only asks: a link or an <img> on another site must not be able to sign people out.
    if request.method == "GET":
        return render_template("logout.html")
    end_session()
    flash("You are signed out.", "info")
    return _forgetting_cached_pages(redirect(url_for("auth.login")))


@blueprint.post("/account/sign-out-everywhere")
@requires("staff")
def sign_out_everywhere():
    """Ends every session of this user: other tablets, a forgotten browser, a stolen cookie, this one."""
    accounts.end_all_web_sessions(g.user, g.user.username)
    end_session()
    flash("You are signed out everywhere.", "info")
    return _forgetting_cached_pages(redirect(url_for("auth.login")))


def _forgetting_cached_pages(response):
    """The till's pages stay in the browser's cache for a shift (web/pages/orders.py
    TILL_CACHE_SECONDS), so that it sells while the box is away: signed out, this browser must not
    open the last user's till from that cache. Only the cache: "storage" would also drop the sales
    the till took offline and has not handed over yet (IndexedDB)."""
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@blueprint.route("/account/password", methods=["GET", "POST"])
@requires("staff")
def change_password():
    if request.method == "GET":
        return render_template("password.html", errors={}, forced=g.user.must_change_password)
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    repeat = request.form.get("repeat_password", "")
    errors: dict[str, str] = {}
    if new != repeat:
        errors["repeat_password"] = "The two new passwords differ."
    if not errors:
        try:
            accounts.change_own_password(g.user, current, new, **_throttle())
        except AppError as e:
            errors = field_errors(e, {"password": "new_password"})
    if errors:
        return render_template("password.html", errors=errors, forced=g.user.must_change_password), 422
    refresh_password_stamp(g.user)  # this session stays signed in; the others end
    flash("Your password was changed.", "success")
    return redirect(url_for("orders.list_orders"))


@blueprint.get("/")
@requires("staff")
def home():
    return redirect(url_for("orders.list_orders"))
