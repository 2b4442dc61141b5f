"""Checking a file's header and reading typed values out of its rows, collecting every problem.

Nothing here raises on bad data: each problem becomes a RowError (row, column, reason) so one pass
over the file reports all of them, which is what someone fixing a spreadsheet needs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from .files import Table
from .report import RowError

MONEY = re.compile(r"^(-)?(\d+)(?:[.,](\d*))?$")
MAX_MONEY_CENTS = 100_000_000  # 1,000,000.00: far above any shop price, far below integer overflow
MAX_QUANTITY = 1_000_000
TRUE_WORDS = ("yes", "y", "true", "1")
FALSE_WORDS = ("no", "n", "false", "0")


@dataclass(frozen=True)
class Columns:
    """A kind's file layout. Informational columns are written by exports for people and ignored."""
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    informational: tuple[str, ...] = ()
    layout: tuple[str, ...] = ()  # the order exports write them in (default: as listed above)

    @property
    def export_order(self) -> list[str]:
        return list(self.layout or (*self.required, *self.optional, *self.informational))

    @property
    def known(self) -> set[str]:
        return set(self.required) | set(self.optional) | set(self.informational)


class Problems:
    def __init__(self) -> None:
        self.errors: list[RowError] = []

    def add(self, row: int | None, column: str | None, message: str) -> None:
        self.errors.append(RowError(row, column, message))

    def __bool__(self) -> bool:
        return bool(self.errors)


def check_header(table: Table, columns: Columns, problems: Problems) -> bool:
    """Missing, unknown and repeated columns; False when the rows cannot be read meaningfully."""
    seen: set[str] = set()
    for name in table.header:
        if not name:
            continue
        if name in seen:
            problems.add(1, name, "this column appears twice")
        elif name not in columns.known:
            problems.add(1, name, f"unknown column; the columns are: {', '.join(columns.export_order)}")
        seen.add(name)
    for name in columns.required:
        if name not in seen:
            problems.add(1, name, "required column is missing")
    for row, index in table.stray_values:
        problems.add(row, f"#{index + 1}", "a value in a column without a header")
    for row, column in table.uncalculated_formulas:
        problems.add(row, column, "is a formula without a saved result; open the file in a spreadsheet "
                                  "program and save it, or paste the values")
    return not problems


class Row:
    """One data row; each reader returns the parsed value, or None when empty or bad (bad is recorded)."""

    def __init__(self, number: int, values: dict[str, str], problems: Problems):
        self.number = number
        self.values = values
        self._problems = problems
        self._before = len(problems.errors)

    @property
    def ok(self) -> bool:
        return len(self._problems.errors) == self._before

    def has(self, column: str) -> bool:
        return column in self.values

    def error(self, column: str, message: str) -> None:
        self._problems.add(self.number, column, message)

    def raw(self, column: str) -> str:
        return self.values.get(column, "")

    def text(self, column: str, *, required: bool = False, max_length: int | None = None) -> str | None:
        value = self.raw(column)
        if not value:
            if required:
                self.error(column, "is required")
            return None
        if max_length and len(value) > max_length:
            self.error(column, f"is longer than {max_length} characters")
            return None
        return value

    def money(self, column: str, *, required: bool = False) -> int | None:
        """Cents from decimal text ('3.50', '3,50', '3'); exact, never through a float."""
        value = self.raw(column)
        if not value:
            if required:
                self.error(column, "is required")
            return None
        match = MONEY.match(value)
        if not match:
            self.error(column, f"{value!r} is not an amount; write it like 3.50")
            return None
        negative, whole, decimals = match.groups()
        if negative:
            self.error(column, "must not be negative")
            return None
        if decimals and len(decimals) > 2:
            self.error(column, f"{value!r} has more than 2 decimals")
            return None
        cents = int(Decimal(f"{whole}.{decimals or '0'}") * 100)
        if cents > MAX_MONEY_CENTS:
            self.error(column, f"must be at most {MAX_MONEY_CENTS // 100}.00")
            return None
        return cents

    def whole(self, column: str, *, minimum: int, required: bool = False) -> int | None:
        value = self.raw(column)
        if not value:
            if required:
                self.error(column, "is required")
            return None
        wanted = "a whole number above zero" if minimum == 1 else "a whole number, zero or more"
        if not re.fullmatch(r"-?\d+", value):
            self.error(column, f"must be {wanted}")
            return None
        number = int(value)
        if number < minimum:
            self.error(column, f"must be {wanted}")
            return None
        if number > MAX_QUANTITY:
            self.error(column, f"must be at most {MAX_QUANTITY}")
            return None
        return number

    def flag(self, column: str) -> bool | None:
        value = self.raw(column).lower()
        if not value:
            return None
        if value in TRUE_WORDS:
            return True
        if value in FALSE_WORDS:
            return False
        self.error(column, "must be yes or no")
        return None

    def choice(self, column: str, choices: tuple[str, ...], *, required: bool = False) -> str | None:
        value = self.raw(column).lower()
        if not value:
            if required:
                self.error(column, "is required")
            return None
        if value not in choices:
            self.error(column, f"must be one of {', '.join(choices)}")
            return None
        return value

    def moment(self, column: str) -> datetime | None:
        """A date or date and time; with an offset it is converted to UTC, without one it is UTC."""
        value = self.raw(column)
        if not value:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.error(column, f"{value!r} is not a date; write it like 2026-03-01 14:30")
            return None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        return parsed


def yes_no(value: bool) -> str:
    return "yes" if value else "no"
