"""Reading and writing the tables shop owners edit in spreadsheets: CSV (UTF-8, `,` `;` or tab) and XLSX.

Reading gives a `Table`: the normalised header and `(row_number, {column: text})` pairs, where the row
number is the one a spreadsheet shows (the header is row 1). Every cell comes back as stripped text, so
the per-kind parsers see the same thing whatever the format; XLSX numbers are turned into the text a
person would type (12, 3.5), never into float noise, and XLSX dates into ISO text.

A file that cannot be read at all raises `FileRejected` with the same {row, column, message} details a
bad row gets, so callers report both the same way. Files come from suppliers too: reading streams,
and stops with one sentence at the first limit passed (limits.py); an XLSX is checked by
xlsx_package.py before openpyxl parses it.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Iterable

from ..errors import Invalid
from . import limits

FORMATS = ("csv", "xlsx")
DELIMITERS = (",", ";", "\t")
ZIP_MAGIC = b"PK\x03\x04"
# A cell starting with one of these is a formula to a spreadsheet program (OWASP "CSV injection"):
# `=HYPERLINK(...)`, `=cmd|' /C calc'!A0`, `+1+cmd|...`, `@SUM(...)`, and tab or CR before one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A CSV export writes such text after a single quote, which spreadsheet programs show as text; a text
# that really starts with a quote gets one more, so the import removes exactly one quote before either.
TEXT_MARK = "'"


class Money(int):
    """Cents that an export writes as decimal text in CSV ('3.50') and as a 0.00 number in XLSX."""

    def text(self) -> str:
        units, cents = divmod(abs(int(self)), 100)
        return f"{'-' if self < 0 else ''}{units}.{cents:02d}"  # -150 is -1.50 (floor division would say -2.50)


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
    if not data or data.isspace():  # (not data.strip(): that copies the whole file)
        raise FileRejected("The file is empty.")
    if len(data) > limits.MAX_BYTES:
        raise too_large()
    deadline = limits.Deadline()
    raw_rows = _csv_rows(data) if fmt == "csv" else _xlsx_rows(data, deadline)
    return _table(raw_rows, deadline)


def too_large() -> FileRejected:
    return FileRejected(f"The file is larger than {limits.size_text(limits.MAX_BYTES)}; split it into smaller files.")


# -- CSV --------------------------------------------------------------------------------------

def _csv_rows(data: bytes) -> Iterable[tuple[int, list[str]]]:
    if data.startswith(ZIP_MAGIC):
        raise FileRejected("This is an XLSX (or other zip) file named .csv; rename it to .xlsx.")
    if b"\x00" in data[:4096]:
        raise FileRejected("This is not a CSV text file (it contains binary data).")
    _check_utf8(data)
    # Decoded line by line: the whole file as one string, and io.StringIO's own copy of it (4 bytes
    # a character), would hold several times its size in memory.
    lines = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    header = lines.readline()
    delimiter = _delimiter(header)
    reader = csv.reader(_lines_of_bounded_width(itertools.chain([header], lines), delimiter), delimiter=delimiter)
    return _csv_records(reader)


def _lines_of_bounded_width(lines: Iterable[str], delimiter: str) -> Iterable[str]:
    """The lines csv reads, each checked first: csv makes a list of a record's every cell before
    anything can look at it, and a 20 MB line of separators would be 20 million cells."""
    for line in lines:
        if line.count(delimiter) > limits.MAX_CELLS_IN_A_ROW:
            raise FileRejected(f"A line has more than {limits.MAX_CELLS_IN_A_ROW:,} separators, more columns "
                               "than a spreadsheet program allows; keep only the columns the import reads.")
        yield line


def _csv_records(reader) -> Iterable[tuple[int, list[str]]]:
    """One record at a time: a file of blank lines or endless separators is never held as rows."""
    try:
        # Records, not physical lines, are a spreadsheet's rows (a quoted cell may span lines).
        for number, cells in enumerate(reader, start=1):
            yield number, [_without_text_mark(cell) for cell in cells]
    except csv.Error as e:
        raise FileRejected(f"The CSV cannot be read: {e}.", row=reader.line_num) from None


def _without_text_mark(cell: str) -> str:
    """The text an export wrote after TEXT_MARK (see `csv_text`): the quote goes only where an export
    puts one, before a formula start or another quote, so a supplier's `'Tis the season` stays."""
    text = cell.lstrip()
    if len(text) > 1 and text[0] == TEXT_MARK and (text[1] in FORMULA_STARTS or text[1] == TEXT_MARK):
        return text[1:]
    return cell


def _check_utf8(data: bytes) -> None:
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte-order mark, other tools' files do not.
        data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise FileRejected(f"The file is not UTF-8 text (bad bytes on line {line}); "
                           "save it as \"CSV UTF-8\".", row=line) from None


def _delimiter(header: str) -> str:
    """The separator used in the header line: spreadsheets in many locales save `;` instead of `,`."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


# -- XLSX -------------------------------------------------------------------------------------

def _xlsx_rows(data: bytes, deadline: limits.Deadline) -> Iterable[tuple[int, list[str]]]:
    if not data.startswith(ZIP_MAGIC):
        raise FileRejected("This is not an XLSX file (it is not a zip archive); save it again as .xlsx.")
    from . import xlsx_package  # imported late, like openpyxl: the CLI starts faster without them

    package = xlsx_package.inspect(data, deadline)  # refuses bombs and oversized sheets before openpyxl
    values_book = _open_workbook(data, deadline, data_only=True)
    formula_book = None
    try:
        if not values_book.worksheets:
            raise FileRejected("The XLSX file has no sheet.")
        values_sheet = values_book.worksheets[0]
        sheet = package.sheet(values_sheet._worksheet_path)
        sheet.check_limits()
        if not sheet.last_value_row:
            return
        # Measured bounds, never the sheet's <dimension> (openpyxl would pad every row and column up
        # to it): rows up to the last one with a value, cells up to the widest value column.
        bounds = dict(min_row=1, max_row=sheet.last_value_row, max_col=sheet.widest_value_column,
                      values_only=True)
        values_sheet.reset_dimensions()
        formula_rows = itertools.repeat(())
        if sheet.formulas_without_result:
            # Formulas to spot the ones never calculated (a file written by a script and never
            # opened in a spreadsheet program); only then is the sheet read a second time.
            formula_book = _open_workbook(data, deadline, data_only=False)
            formula_sheet = formula_book.worksheets[0]
            formula_sheet.reset_dimensions()
            formula_rows = formula_sheet.iter_rows(**bounds)
        for number, (cells, formulas) in enumerate(zip(values_sheet.iter_rows(**bounds), formula_rows), start=1):
            yield number, [_cell_text(value, formula)
                           for value, formula in itertools.zip_longest(cells, formulas[:len(cells)])]
    finally:
        values_book.close()
        if formula_book is not None:
            formula_book.close()


def _open_workbook(data: bytes, deadline: limits.Deadline, *, data_only: bool):
    from openpyxl import DEFUSEDXML, load_workbook

    if not DEFUSEDXML:  # openpyxl parses with defusedxml when it is installed: refuse to go without
        raise FileRejected("XLSX files cannot be read safely on this box: the defusedxml package is "
                           "missing; reinstall the appliance.")
    try:
        return load_workbook(_ReadUntil(data, deadline), read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise FileRejected(f"The XLSX file cannot be read ({e}); save it again as .xlsx.") from None


class _ReadUntil(io.BytesIO):
    """The file as openpyxl's zip reader sees it: every read checks the deadline, so no part,
    however slow to parse, keeps the reading going past it."""

    def __init__(self, data: bytes, deadline: limits.Deadline):
        super().__init__(data)
        self.deadline = deadline

    def read(self, size: int | None = -1) -> bytes:
        self.deadline.check()
        return super().read(size)


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


def _table(raw_rows: Iterable[tuple[int, list[str]]], deadline: limits.Deadline) -> Table:
    rows = _within_limits(raw_rows, deadline)
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
        if len(table.rows) >= limits.MAX_ROWS:
            raise FileRejected(limits.rows_refused())
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


def _within_limits(raw_rows: Iterable[tuple[int, list[str]]], deadline: limits.Deadline):
    """The rows without their trailing empty cells, refusing the file at the first limit it passes
    (the same limits for CSV and XLSX, whatever an XLSX's own checks let through)."""
    cells_so_far = 0
    for number, cells in raw_rows:
        deadline.check()
        if number > limits.MAX_SHEET_ROWS:  # a CSV of blank lines: no spreadsheet has that many rows
            raise FileRejected(limits.rows_refused())
        width = len(cells)
        while width and not str(cells[width - 1]).strip():
            width -= 1  # `a,b,,,,` or a sheet's formatted empty cells: no column, no cell
        if width > limits.MAX_COLUMNS:
            raise FileRejected(limits.columns_refused())
        cells_so_far += width
        if cells_so_far > limits.MAX_CELLS:
            raise FileRejected(limits.cells_refused())
        yield number, cells[:width]


# -- writing ----------------------------------------------------------------------------------

def write_csv(header: list[str], rows: Iterable[list], *, byte_order_mark: bool = True) -> bytes:
    """UTF-8 CSV; the byte-order mark makes Excel open it as UTF-8 (names with accents stay intact).

    Text that a spreadsheet program would run as a formula is written after a quote (`csv_text`), and
    a cell holding `;` or a tab is quoted like one holding `,`, so a program that splits on its own
    locale's separator (and honours quotes) does not start a new cell, perhaps a formula, inside it."""
    out = io.StringIO(newline="")
    out.write(_csv_line(header))
    for row in rows:
        out.write(_csv_line([_csv_value(value) for value in row]))
    text = out.getvalue()
    return text.encode("utf-8-sig" if byte_order_mark else "utf-8")


def _csv_line(cells: list) -> str:
    return ",".join(_csv_cell(str(cell)) for cell in cells) + "\r\n"


CSV_QUOTED = frozenset(',;\t"\r\n')


def _csv_cell(text: str) -> str:
    if any(c in text for c in CSV_QUOTED):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, Money):
        return value.text()
    if isinstance(value, str):
        return csv_text(value)
    return value  # numbers stay numbers: -5 is not text to neutralise


def csv_text(text: str) -> str:
    """`=1+2` -> `'=1+2`, `'quoted` -> `''quoted`; any other text as it is (the import undoes it)."""
    if text and (text[0] in FORMULA_STARTS or text[0] == TEXT_MARK):
        return TEXT_MARK + text
    return text


def write_xlsx(header: list[str], rows: Iterable[list], *, sheet_title: str = "data") -> bytes:
    """One sheet, header on row 1; money as numbers shown with 2 decimals, text stays text (barcodes
    keep their leading zeros, and `=HYPERLINK(...)` is a text cell, never a formula)."""
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
                if isinstance(value, str) and value[:1] in FORMULA_STARTS:
                    # openpyxl makes every text starting with = a formula: store it as a text cell,
                    # marked like text typed after a quote so editing it in Excel keeps it text.
                    cell.data_type = "s"
                    cell.quotePrefix = True
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
