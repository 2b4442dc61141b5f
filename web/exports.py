"""Downloads of a report or list from the pages: rows and columns as CSV or as XLSX.

One helper for every page: `download(rows, columns, fmt, name)`. Columns say how each value is
written: text, whole numbers, or money kept in integer cents. CSV (the csv module) writes money as
12.50; XLSX (openpyxl, write-only) writes money as a number cell of units with a two-decimal format,
never as text, so a spreadsheet sums it. Text that a spreadsheet would read as a formula is quoted.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from flask import Response

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
MONEY_FORMAT = "#,##0.00"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = "text"  # text | int | money (integer cents) | number


def download(rows: Iterable[dict], columns: list[Column], fmt: str, name: str) -> Response:
    """`name` without extension; `fmt` is csv or xlsx (anything else is a ValueError)."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown download format {fmt!r}: use csv or xlsx.")
    body = to_csv(rows, columns) if fmt == "csv" else to_xlsx(rows, columns, name)
    return Response(body, mimetype=FORMATS[fmt].split(";")[0], content_type=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def to_csv(rows: Iterable[dict], columns: list[Column]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.title for c in columns])
    for row in rows:
        writer.writerow([_text(row.get(c.key), c) for c in columns])
    return out.getvalue().encode("utf-8")


def to_xlsx(rows: Iterable[dict], columns: list[Column], title: str) -> bytes:
    from openpyxl import Workbook  # imported late: most requests never need it
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_sheet_title(title))
    bold = Font(bold=True)
    header = []
    for c in columns:
        cell = WriteOnlyCell(sheet, value=c.title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c.key)
            if value is None:
                cells.append(None)
            elif c.kind == "money":
                cell = WriteOnlyCell(sheet, value=Decimal(int(value)) / 100)
                cell.number_format = MONEY_FORMAT
                cells.append(cell)
            elif c.kind in ("int", "number"):
                cells.append(value)
            else:
                cells.append(WriteOnlyCell(sheet, value=_safe(str(value))))
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(value, column: Column) -> str:
    if value is None:
        return ""
    if column.kind == "money":
        sign = "-" if value < 0 else ""
        units, cents = divmod(abs(int(value)), 100)
        return f"{sign}{units}.{cents:02d}"
    if column.kind in ("int", "number"):
        return str(value)
    return _safe(str(value))


def _safe(text: str) -> str:
    """Text a spreadsheet would run as a formula (=, +, -, @) is kept as text with a leading quote."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _sheet_title(name: str) -> str:
    cleaned = "".join(ch for ch in name if ch not in '[]:*?/\\')
    return (cleaned or "Report")[:31]
