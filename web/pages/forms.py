"""Small helpers for HTML forms: field errors from domain errors, whole numbers typed by people."""
from __future__ import annotations

from flask import request

from appliance.errors import AppError

FORM = "_form"  # errors that belong to no single field are shown above the form


def field_errors(error: AppError, rename: dict[str, str] | None = None) -> dict[str, str]:
    """{field: message} from an AppError's details; the error's sentence goes on the form itself.

    Domain errors name fields like "customer.name" or "lines[2].sku"; `rename` maps them to the
    form's input names.
    """
    rename = rename or {}
    errors = {FORM: error.message}
    for detail in error.details:
        name = detail.get("field") if isinstance(detail, dict) else None
        if name:
            errors[rename.get(name, name)] = detail.get("message", "not valid")
    return errors


class FormError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def whole_number(name: str, *, low: int | None = None, high: int | None = None, required: bool = True) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        if required:
            raise FormError(name, "Required.")
        return None
    try:
        value = int(raw)
    except ValueError:
        raise FormError(name, "Enter a whole number.") from None
    if low is not None and value < low:
        raise FormError(name, f"Must be at least {low}.")
    if high is not None and value > high:
        raise FormError(name, f"Must be at most {high}.")
    return value

