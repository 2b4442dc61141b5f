"""One JSON error shape for the API: {"error": "<one sentence>", "details": [...]}.

Pages outside /api get HTML error pages (registered by the pages blueprint when present)."""
from __future__ import annotations

import logging

import peewee
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from appliance.errors import AppError

log = logging.getLogger(__name__)

HTTP_SENTENCES = {
    400: "The request is not valid.",
    401: "Authentication is required.",
    403: "You are not allowed to do this.",
    404: "Nothing exists at this address.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
    415: "The request body must be JSON.",
    429: "Too many requests.",
    500: "Something went wrong on the server; nothing was saved.",
    503: "The service is not available right now.",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/readyz", "/metrics")


def error_response(status: int, message: str, details: list | None = None):
    response = jsonify({"error": message, "details": details or []})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="appliance"'
    return response


html_error_handler = None  # set by the pages package: (status, message) -> response


def _render(status: int, message: str, details: list | None = None):
    if wants_json() or html_error_handler is None:
        return error_response(status, message, details)
    return html_error_handler(status, message)


def register(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(e: AppError):
        return _render(e.status, e.message, e.details)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        status = e.code or 500
        response = _render(status, HTTP_SENTENCES.get(status, e.description or "Error."))
        if isinstance(e, MethodNotAllowed) and e.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(e.valid_methods))  # RFC 9110: a 405 says what is
        return response

    @app.errorhandler(peewee.OperationalError)
    def _database_unavailable(e):
        log.error("database error on %s %s: %s", request.method, request.path, e)
        return _render(503, "The database is not available right now; nothing was saved.")

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500, HTTP_SENTENCES[500])
