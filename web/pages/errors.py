"""HTML error pages (403, 404, 500, …) for everything outside /api.

The message comes from web.errors: for a 500 it is a fixed sentence, never the exception or a trace.
"""
from __future__ import annotations

import logging

from flask import make_response, render_template
from markupsafe import escape

log = logging.getLogger(__name__)

TITLES = {
    400: "The request is not valid",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    409: "That did not work",
    413: "Too large",
    422: "Please check the form",
    500: "Something went wrong",
    503: "Not available right now",
}


def render_error_page(status: int, message: str):
    title = TITLES.get(status, "Error")
    try:
        body = render_template("error.html", status=status, title=title, message=message)
    except Exception:  # noqa: BLE001 - the error page itself must never fail
        log.exception("error page template failed")
        body = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(message)}</p>"
    response = make_response(body, status)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response
