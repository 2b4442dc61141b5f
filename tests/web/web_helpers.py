"""Helpers shared by the web tests (fixtures are in conftest.py)."""
from __future__ import annotations

from pathlib import Path

from appliance.models import User
from web.pages.security import session_values

PASSWORD = "counter-pass-123"
USERNAMES = {"staff": "sam", "manager": "maria", "admin": "ada"}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def sign_in(client, user: User):
    """Gives the client the session the sign-in page would give it."""
    with client.session_transaction() as session:
        session.clear()
        session.permanent = True
        session.update(session_values(User.get_by_id(user.id)))
    return client


def csrf_of(client) -> str:
    with client.session_transaction() as session:
        return session["csrf_token"]


def post_form(client, path: str, data: dict | None = None, **kwargs):
    """A form POST as the browser sends it: with the session's CSRF token."""
    return client.post(path, data={"csrf_token": csrf_of(client), **(data or {})}, **kwargs)


def browser_sign_in(page, role: str) -> None:
    page.goto("/login")
    page.fill("#username", USERNAMES[role])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

