"""Payment rows typed at the counter (the order-entry page and pay-later on the order page).

A form carries one row per payment as repeated fields `pay_method`, `pay_amount` and `pay_tendered`
(money as people type it: 12.50, 12,50 or 12). A row left empty is no payment. Each problem is said
on its field (`pay_amount:0`, `pay_tendered:1`, …) or, for the sum, on `payments`; appliance.payments
stays the judge and its refusals are said on the same fields.
"""
from __future__ import annotations

import re

from appliance import payments
from appliance.errors import AppError
from appliance.models import PAYMENT_METHODS

PAYMENTS = "payments"  # the error key of the payments as a whole (their sum)
_MONEY = re.compile(r"^(\d{1,9})(?:[.,](\d{1,2}))?$")


def money_cents(raw: str) -> int | None:
    """12.50 → 1250; None when it does not look like an amount of money."""
    match = _MONEY.match((raw or "").strip())
    if not match:
        return None
    whole, part = match.groups()
    return int(whole) * 100 + int((part or "0").ljust(2, "0"))


def money_text(cents: int) -> str:
    return f"{cents / 100:.2f}"


def submitted_rows(form) -> list[dict]:
    """The payment rows as typed (for showing them again), empty rows left out."""
    rows = []
    if not hasattr(form, "getlist"):
        return rows
    for method, amount, tendered in zip(form.getlist("pay_method"), form.getlist("pay_amount"),
                                        form.getlist("pay_tendered")):
        if not (amount or "").strip() and not (tendered or "").strip():
            continue
        rows.append({"method": method, "amount": amount.strip(), "tendered": (tendered or "").strip()})
    return rows


def parse_rows(rows: list[dict], due_cents: int | None) -> tuple[list[payments.PaymentRequest], dict[str, str]]:
    """PaymentRequests from typed rows and {field: message} for each problem. `due_cents`: what the
    payments must add up to (None: not known here; appliance.payments checks it)."""
    found, errors = [], {}
    for i, row in enumerate(rows):
        method = row["method"]
        if method not in PAYMENT_METHODS:
            errors[f"pay_method:{i}"] = "Choose cash, card or other."
        amount = money_cents(row["amount"])
        if amount is None:
            errors[f"pay_amount:{i}"] = "Enter an amount like 12.50."
            continue
        if amount <= 0:
            errors[f"pay_amount:{i}"] = "Enter an amount above zero."
            continue
        tendered = None
        if method == "cash" and row["tendered"]:
            tendered = money_cents(row["tendered"])
            if tendered is None:
                errors[f"pay_tendered:{i}"] = "Enter the cash handed over, like 20.00."
                continue
            if tendered < amount:
                errors[f"pay_tendered:{i}"] = (f"Less than the amount: {money_text(amount - tendered)} more is needed.")
                continue
        if due_cents is not None and method != "cash" and amount > due_cents:
            errors[f"pay_amount:{i}"] = f"A {method} payment cannot be more than the {money_text(due_cents)} due."
            continue
        found.append(payments.PaymentRequest(method, amount, tendered))
    if not errors and found and due_cents is not None:
        total = sum(p.amount_cents for p in found)
        if total != due_cents:
            errors[PAYMENTS] = (f"The payments add up to {money_text(total)}; {money_text(due_cents)} is due"
                                f" ({money_text(abs(due_cents - total))} {'short' if total < due_cents else 'too much'}).")
    return found, errors


def domain_errors(error: AppError) -> dict[str, str]:
    """appliance.payments' refusal, said on the form's payment fields."""
    errors = {}
    for detail in error.details:
        if not isinstance(detail, dict):
            continue
        field = str(detail.get("field") or "")
        match = re.match(r"^payments\[(\d+)\]\.(method|amount_cents|tendered_cents)$", field)
        if match:
            name = {"method": "pay_method", "amount_cents": "pay_amount", "tendered_cents": "pay_tendered"}[match[2]]
            errors[f"{name}:{match[1]}"] = detail.get("message", "not valid")
        elif field == PAYMENTS and "paid_cents" in detail:
            errors[PAYMENTS] = (f"The payments add up to {money_text(detail['paid_cents'])}; "
                                f"{money_text(detail['due_cents'])} is due.")
    if not errors:
        errors[PAYMENTS] = error.message
    return errors
