"""Domain errors. Each carries an HTTP status so the API renders one error shape everywhere:
{"error": "<one sentence>", "details": [...]}."""
from __future__ import annotations


class AppError(Exception):
    status = 400

    def __init__(self, message: str, details: list | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_dict(self) -> dict:
        return {"error": self.message, "details": self.details}


class BadRequest(AppError):
    status = 400


class Unauthorized(AppError):
    status = 401


class Forbidden(AppError):
    status = 403


class NotFound(AppError):
    status = 404


class Conflict(AppError):
    status = 409


class TooLarge(AppError):
    status = 413


class Invalid(AppError):
    status = 422


class ServiceUnavailable(AppError):
    status = 503


class InsufficientStock(Conflict):
    """details: one entry per line that lacks stock: sku, requested, available."""


class IllegalTransition(Conflict):
    def __init__(self, number: str, current: str, action: str):
        super().__init__(
            f"Order {number} is {current}; it cannot be {_past(action)}.",
            [{"number": number, "status": current, "action": action}],
        )
        self.current = current


def _past(action: str) -> str:
    return {"approve": "approved", "cancel": "cancelled", "ship": "shipped",
            "deliver": "delivered", "return": "returned"}.get(action, action)
