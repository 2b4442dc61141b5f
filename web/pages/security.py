"""Who is signed in, what their role allows, and the CSRF token of every form.

- The session cookie carries the user id, a session id, the sign-in time and a stamp of the password.
  The session id must name a live session on the server (appliance.accounts.web_session_user):
  signing out deletes it, "sign out everywhere" deletes all of the user's, so a copied or replayed
  cookie is dead at once. A password change or reset signs out every other session, a disabled user
  is out at the next click.
- The cookie is HttpOnly and SameSite=Lax always, and Secure whenever the request came over TLS
  (or `SESSION_COOKIE_SECURE` is set), so the same box works on plain HTTP in a shop LAN.
- Every POST outside /api must send `csrf_token` (form field) or `X-CSRF-Token` (header) equal to
  the session's token; /api/v1 checks the same header itself for session callers
  (web.api._session_principal), and Bearer-token callers have no cookie to abuse.
"""
from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, has_app_context, has_request_context, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from appliance.accounts import end_web_session, role_allows, start_web_session, web_session_user
from appliance.errors import Forbidden
from appliance.models import User

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_FIELD = "csrf_token"


class _TlsAwareSessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        return has_request_context() and request.is_secure

    def save_session(self, app: Flask, session, response) -> None:
        super().save_session(app, session, response)
        # The cookie is signed again on every answer, so `Vary: Cookie` makes the browser's cached copy
        # of a page miss at once; the till's order-entry page is kept there for when the box is away
        # (web/pages/orders.py: its script reloads it from the box when another user signed in).
        if getattr(response, "cached_for_the_till", False):
            response.vary.discard("Cookie")


def install(app: Flask) -> None:
    hours = app.config["SETTINGS"].security.session_hours
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=hours)
    app.session_interface = _TlsAwareSessionInterface()
    app.before_request(_load_user)
    app.before_request(_check_csrf)
    app.after_request(_page_headers)


# -- the signed-in user -----------------------------------------------------------------------

def _password_stamp(user: User) -> str:
    return user.password_changed_at.isoformat() if user.password_changed_at else ""


def start_session(user: User) -> None:
    """A fresh session (new CSRF token too): nothing from before sign-in carries over."""
    session.clear()
    session.permanent = True
    session.update(session_values(user))


def session_values(user: User) -> dict:
    """What a signed-in session's cookie holds; registers the session on the server (its `sid`)."""
    hours = current_app.config["SETTINGS"].security.session_hours if has_app_context() else 12
    return {"user_id": user.id, "sid": start_web_session(user, hours), "pw": _password_stamp(user),
            "since": int(time.time()), CSRF_FIELD: secrets.token_urlsafe(32)}


def end_session() -> None:
    """Sign-out: the session ends on the server too, so a copy of the cookie is worth nothing."""
    end_web_session(session.get("sid"))
    g.user = None
    session.clear()


def refresh_password_stamp(user: User) -> None:
    session["pw"] = _password_stamp(User.get_by_id(user.id))


def _load_user() -> None:
    g.user = None
    if session.get("user_id") is None:
        return
    user = web_session_user(session.get("sid"))  # None once signed out, here or everywhere
    max_age = current_app.config["SETTINGS"].security.session_hours * 3600
    if (user is None or user.id != session.get("user_id") or not user.active
            or session.get("pw") != _password_stamp(user) or time.time() - session.get("since", 0) > max_age):
        session.clear()
        return
    g.user = user


# -- roles ------------------------------------------------------------------------------------

def can(role: str) -> bool:
    user = g.get("user")
    return user is not None and role_allows(user.role, role)


def requires(role: str) -> Callable:
    """Every page view declares its role; anonymous visitors are sent to sign in first.

    The role is kept on the view (`required_role`) so a test can prove no page skips the check.
    """
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if g.get("user") is None:
                abort(redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))
            if not can(role):
                raise Forbidden(f"This page needs the {role} role; you are signed in as {g.user.role}.")
            return view(*args, **kwargs)
        wrapper.required_role = role
        return wrapper
    return decorate


def public(view: Callable) -> Callable:
    view.required_role = None
    return view


def safe_next(target: str | None) -> str:
    """Only paths on this site: `next=https://evil.example` must not turn sign-in into a redirector."""
    if not target:
        return url_for("orders.list_orders")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("orders.list_orders")
    return target


# -- CSRF -------------------------------------------------------------------------------------

def csrf_token() -> str:
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def _check_csrf() -> None:
    if request.method in SAFE_METHODS or request.path.startswith("/api/"):
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token", "")
    expected = session.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden("This form has expired or did not come from this site; reload the page and try again.")


def _page_headers(response):
    if request.path.startswith("/api/") or request.path in ("/healthz", "/readyz", "/metrics"):
        return response
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # No inline scripts: page data travels in <script type="application/json"> blocks.
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")  # shared counter tablets
    return response


# -- navigation -------------------------------------------------------------------------------

@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    role: str


NAVIGATION = [
    NavItem("New order", "orders.new_order", "staff"),
    NavItem("Orders", "orders.list_orders", "staff"),
    NavItem("Stock", "stock.stock_page", "staff"),
    NavItem("Stocktake", "stocktake.stocktake_list", "staff"),
    NavItem("Purchasing", "purchasing.purchasing_page", "staff"),
    NavItem("Customers", "customers.customer_list", "staff"),
    NavItem("Shift close", "shifts.shift_close_page", "staff"),
    NavItem("Products", "products.product_list", "manager"),
    NavItem("Import", "imports.import_page", "manager"),
    NavItem("Reports", "reports.dashboard", "manager"),
    NavItem("Users", "admin.users", "admin"),
    NavItem("Tokens", "admin.tokens", "admin"),
    NavItem("Webhooks", "webhooks.webhook_list", "admin"),
    NavItem("Ops", "ops.ops_page", "admin"),
]


def navigation() -> list[NavItem]:
    return [item for item in NAVIGATION if can(item.role)]
