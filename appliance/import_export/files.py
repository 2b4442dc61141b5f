"""Reading and writing the tables shop owners edit in spreadsheets: CSV (UTF-8, `,` `;` or tab) and XLSX.

Reading gives a `Table`: the normalised header and `(row_number, {column: text})` pairs, where the row
number is the one a spreadsheet shows (the header is row 1). Every cell comes back as stripped text, so
the per-kind parsers see the same thing whatever the format; XLSX numbers are turned into the text a
person would type (12, 3.5), never into float noise, and XLSX dates into ISO text.

A file that cannot be read at all raises `FileRejected` with the same {row, column, message} details a
bad row gets, so callers report both the same way.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Iterable

from ..errors import Invalid

FORMATS = ("csv", "xlsx")
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
DELIMITERS = (",", ";", "\t")
ZIP_MAGIC = b"PK\x03\x04"


class Money(int):
    """Cents that an export writes as decimal text in CSV ('3.50') and as a 0.00 number in XLSX."""

    def text(self) -> str:
        return f"{self // 100}.{self % 100:02d}"


class FileRejected(Invalid):
    """The file as a whole cannot be read; details are {row, column, message} like row errors."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None):
        super().__init__(message, [{"row": row, "column": column, "message": message}])


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    # (row, column index) of values found under a blank header cell: data that would be lost.
    stray_values: list[tuple[int, int]] = field(default_factory=list)
    # (row, column) of XLSX formulas without a saved result: their value is unknown.
    uncalculated_formulas: list[tuple[int, str]] = field(default_factory=list)


def file_format(filename: str) -> str:
    """'csv' or 'xlsx' from the file name's extension."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in FORMATS:
        return suffix
    if suffix in ("xls", "ods", "numbers"):
        raise FileRejected(f"A .{suffix} file cannot be read; save it as .xlsx or .csv (UTF-8).")
    shown = f".{suffix} file" if suffix else "file without an extension"
    raise FileRejected(f"A {shown} cannot be imported; use a .csv or .xlsx file.")


def read_table(data: bytes, filename: str) -> Table:
    fmt = file_format(filename)
    if not data.strip():
        raise FileRejected("The file is empty.")
    if len(data) > MAX_BYTES:
        raise FileRejected(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files.")
    raw_rows = _csv_rows(data) if fmt == "csv" else _xlsx_rows(data)
    return _table(raw_rows)


# -- CSV --------------------------------------------------------------------------------------

def _csv_rows(data: bytes) -> Iterable[tuple[int, list[str]]]:
    if data.startswith(ZIP_MAGIC):
        raise FileRejected("This is an XLSX (or other zip) file named .csv; rename it to .xlsx.")
    if b"\x00" in data[:4096]:
        raise FileRejected("This is not a CSV text file (it contains binary data).")
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        # Records, not physical lines, are a spreadsheet's rows (a quoted cell may span lines).
        return [(number, cells) for number, cells in enumerate(reader, start=1)]
    except csv.Error as e:
        raise FileRejected(f"The CSV cannot be read: {e}.", row=reader.line_num) from None


def _decode(data: bytes) -> str:
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte-order mark, other tools' files do not.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise FileRejected(f"The file is not UTF-8 text (bad bytes on line {line}); "
                           "save it as \"CSV UTF-8\".", row=line) from None


def _delimiter(text: str) -> str:
    """The separator used in the header line: spreadsheets in many locales save `;` instead of `,`."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


# -- XLSX -------------------------------------------------------------------------------------

def _xlsx_rows(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # imported late: the CLI starts faster without it

    if not data.startswith(ZIP_MAGIC):
        raise FileRejected("This is not an XLSX file (it is not a zip archive); save it again as .xlsx.")
    try:
        # Two views of the same sheet: cached results for the values, formulas to spot the ones
        # that were never calculated (written by a script, never opened in a spreadsheet program).
        values_book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        formula_book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise FileRejected(f"The XLSX file cannot be read ({e}); save it again as .xlsx.") from None
    try:
        if not values_book.worksheets:
            raise FileRejected("The XLSX file has no sheet.")
        values_sheet, formula_sheet = values_book.worksheets[0], formula_book.worksheets[0]
        rows = []
        for number, (cells, formulas) in enumerate(zip(values_sheet.iter_rows(values_only=True),
                                                       formula_sheet.iter_rows(values_only=True)), start=1):
            if number > MAX_ROWS + 1 and any(value is not None for value in cells):
                raise FileRejected(f"The file has more than {MAX_ROWS} rows; split it into smaller files.")
            rows.append((number, [_cell_text(value, formula) for value, formula in zip(cells, formulas)]))
        return rows
    finally:
        values_book.close()
        formula_book.close()


class UncalculatedFormula(str):
    """Marks a cell whose formula has no saved result; `_table` turns it into a row error."""


def _cell_text(value, formula) -> str:
    if value is None and isinstance(formula, str) and formula.startswith("="):
        return UncalculatedFormula(formula)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same float: 3.5, not 3.5000000001.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value).strip()


# -- both -------------------------------------------------------------------------------------

def normalise_column(name: str) -> str:
    """'Reorder Point ' -> 'reorder_point'; 'On-hand' -> 'on_hand'."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().lstrip("\ufeff").lower()).strip("_")


def _table(raw_rows: Iterable[tuple[int, list[str]]]) -> Table:
    rows = iter(raw_rows)
    for number, cells in rows:
        if any(str(c).strip() for c in cells):
            break
    else:
        raise FileRejected("The file has no header row.")
    if number != 1:
        raise FileRejected("The header must be on the first row.", row=number)
    table = Table(header=[normalise_column(c) for c in cells])
    for number, cells in rows:
        cells = [c if isinstance(c, UncalculatedFormula) else str(c).strip() for c in cells]
        if not any(cells):
            continue  # blank rows: spreadsheets keep them at the end, they mean nothing
        if len(table.rows) >= MAX_ROWS:
            raise FileRejected(f"The file has more than {MAX_ROWS} rows; split it into smaller files.")
        values = {}
        for index, cell in enumerate(cells):
            column = table.header[index] if index < len(table.header) else ""
            if not column:
                if cell:
                    table.stray_values.append((number, index))
                continue
            if isinstance(cell, UncalculatedFormula):
                table.uncalculated_formulas.append((number, column))
                cell = ""
            values.setdefault(column, cell)
        table.rows.append((number, values))
    return table


# -- writing ----------------------------------------------------------------------------------

def write_csv(header: list[str], rows: Iterable[list], *, byte_order_mark: bool = True) -> bytes:
    """UTF-8 CSV; the byte-order mark makes Excel open it as UTF-8 (names with accents stay intact)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    text = out.getvalue()
    return text.encode("utf-8-sig" if byte_order_mark else "utf-8")


def _csv_value(value):
    if value is None:
        return ""
    return value.text() if isinstance(value, Money) else value


def write_xlsx(header: list[str], rows: Iterable[list], *, sheet_title: str = "data") -> bytes:
    """One sheet, header on row 1; money as numbers shown with 2 decimals, text stays text (barcodes
    keep their leading zeros)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title)
    bold = Font(bold=True)
    header_cells = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, Money):
                # An exact decimal, so the spreadsheet can sum it and shows 3.50, not 3.5.
                cell = WriteOnlyCell(sheet, value=Decimal(int(value)) / 100)
                cell.number_format = "0.00"
            else:
                cell = WriteOnlyCell(sheet, value=value)
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
