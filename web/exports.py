"""Downloads of a report or list from the pages: rows and columns as CSV or as XLSX.

One helper for every page: `download(rows, columns, fmt, name)`. Columns say how each value is
written: text, whole numbers, other numbers, or money kept in integer cents. The files are written
by the same writers as `appliance export` (appliance.import_export.files): a CSV in UTF-8 with a
byte-order mark (Excel reads accents right), money as 12.50; an XLSX (openpyxl) with money as number
cells shown with two decimals, never text, so a spreadsheet sums them. Text that a spreadsheet would
run as a formula stays text in both.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from flask import Response

from appliance.import_export.files import Money, write_csv, write_xlsx

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = "text"  # text | int | number | money (integer cents)


def download(rows: Iterable[dict], columns: list[Column], fmt: str, name: str) -> Response:
    """`name` without extension (letters, digits, '-', '_' and '.'); `fmt` is csv or xlsx."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown download format {fmt!r}: use csv or xlsx.")
    header = [c.title for c in columns]
    cells = (_cells(row, columns) for row in rows)
    body = write_csv(header, cells) if fmt == "csv" else write_xlsx(header, cells, sheet_title=_sheet_title(name))
    return Response(body, content_type=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{_file_name(name)}.{fmt}"'})


def _cells(row: dict, columns: list[Column]) -> list:
    cells = []
    for c in columns:
        value = row.get(c.key)
        if value is None:
            cells.append(None)
        elif c.kind == "money":
            cells.append(Money(int(value)))
        elif c.kind in ("int", "number"):
            cells.append(value)
        else:
            cells.append(str(value))
    return cells


def _file_name(name: str) -> str:
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name) or "download"


def _sheet_title(name: str) -> str:
    cleaned = "".join(ch for ch in name if ch not in '[]:*?/\\')
    return (cleaned or "Report")[:31]
