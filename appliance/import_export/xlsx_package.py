"""Checking an XLSX file before openpyxl parses it: an XLSX is untrusted input.

openpyxl trusts a file: it pads rows to the sheet's declared `<dimension>` (a 1.5 KB file declaring
A1:XFD1048576 grew a worker by gigabytes), builds parts like the shared strings and styles whole in
memory, and leaves the zip's own sizes unchecked. So `inspect` first reads the zip's directory
(member count, declared sizes, compression ratios), then streams every part through a size-capped
reader into expat, with no tree kept: it refuses XML with a document type declaration (billion
laughs, external entities), counts what openpyxl would build, and records per sheet the facts the
reading needs (last row with a value, widest value column, cells up to there), measured, not
declared. Memory stays constant whatever the file holds; time is bounded by the unpacked size and
the deadline.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from xml.parsers import expat

from . import limits
from .files import FileRejected

CHUNK = 64 * 1024
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
SHEET_DATA, ROW, CELL, VALUE, FORMULA = (MAIN + name for name in ("sheetData", "row", "c", "v", "f"))
CELL_TEXT = {VALUE, FORMULA, MAIN + "t"}  # a cell's value, inline text, formula
SHARED_STRING = MAIN + "si"


@dataclass
class SheetFacts:
    """What a worksheet part really holds, counted cell by cell."""

    last_value_row: int = 0
    widest_value_column: int = 0
    value_rows: int = 0
    # Row elements and cells openpyxl parses up to the last row with a value (it stops there).
    rows_until_last_value: int = 0
    cells_until_last_value: int = 0
    formulas_without_result: int = 0

    def check_limits(self) -> None:
        if refused := self._refusal():
            raise FileRejected(refused)

    def over_limit(self) -> bool:
        return self._refusal() is not None

    def _refusal(self) -> str | None:
        # The header is a row too. Rows are those a spreadsheet shows: a value on row 100,002 is
        # past the limit even with blank rows above it, and so are row elements openpyxl would parse.
        if max(self.value_rows, self.last_value_row, self.rows_until_last_value) > limits.MAX_ROWS + 1:
            return limits.rows_refused()
        if self.widest_value_column > limits.MAX_COLUMNS:
            return limits.columns_refused()
        if self.cells_until_last_value > limits.MAX_CELLS:
            return limits.cells_refused()
        return None


@dataclass
class PackageFacts:
    sheets: dict[str, SheetFacts] = field(default_factory=dict)

    def sheet(self, path: str) -> SheetFacts:
        if path not in self.sheets:
            raise FileRejected("The XLSX file's first sheet cannot be read; save it again as .xlsx.")
        return self.sheets[path]


def inspect(data: bytes, deadline: limits.Deadline) -> PackageFacts:
    """Refuses a hostile or oversized XLSX with one sentence; the facts about its sheets otherwise."""
    # Counted before zipfile reads the directory: it builds an object per member, and a 20 MB file
    # can name hundreds of thousands. (The signature may occur by chance in packed data: harmless.)
    if data.count(b"PK\x01\x02") > limits.MAX_PARTS:
        raise FileRejected(f"The XLSX file has more than {limits.MAX_PARTS:,} parts; save it again as .xlsx.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise FileRejected(f"The XLSX file cannot be read ({e}); save it again as .xlsx.") from None
    with archive:
        members = archive.infolist()
        _check_declared_sizes(members)
        facts = PackageFacts()
        budget = _UnpackBudget()
        for member in members:
            if member.is_dir():
                continue
            sheet = _scan_part(archive, member, budget, deadline)
            if sheet is not None:
                facts.sheets[member.filename] = sheet
        return facts


def _check_declared_sizes(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > limits.MAX_PARTS:
        raise FileRejected(f"The XLSX file has more than {limits.MAX_PARTS:,} parts; save it again as .xlsx.")
    if sum(m.file_size for m in members) > limits.MAX_UNPACKED_BYTES:
        raise _unpacked_too_large()
    for member in members:
        if (member.file_size > limits.RATIO_CHECKED_ABOVE
                and member.file_size > limits.MAX_COMPRESSION_RATIO * max(member.compress_size, 1)):
            raise FileRejected(f"The XLSX file's part {member.filename} is packed more than "
                               f"{limits.MAX_COMPRESSION_RATIO} to 1, as zip bombs are and spreadsheets "
                               "never are; save it again as .xlsx.")


def _unpacked_too_large() -> FileRejected:
    return FileRejected(f"The XLSX file unpacks to more than {limits.size_text(limits.MAX_UNPACKED_BYTES)}; "
                        "split it into smaller files.")


class _UnpackBudget:
    """Bytes actually unpacked so far, over all parts: a member whose header lies about its size
    still cannot make the whole exceed the limit."""

    def __init__(self):
        self.used = 0

    def take(self, size: int) -> None:
        self.used += size
        if self.used > limits.MAX_UNPACKED_BYTES:
            raise _unpacked_too_large()


def _scan_part(archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: _UnpackBudget,
               deadline: limits.Deadline) -> SheetFacts | None:
    """Streams one part; XML parts (sniffed, whatever their name) go through expat."""
    scanner = None
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(CHUNK):
                budget.take(len(chunk))
                deadline.check()
                if scanner is None:
                    if not chunk.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
                        _drain(stream, budget, deadline)  # a picture or other binary part: size only
                        return None
                    scanner = _PartScanner(member.filename)
                try:
                    scanner.feed(chunk)
                except _SheetOverLimit:
                    _drain(stream, budget, deadline)  # refused if it is the sheet read; sized anyway
                    return scanner.sheet
        if scanner is None:
            return None
        scanner.finish()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as e:
        raise FileRejected(f"The XLSX file cannot be read ({member.filename}: {e}); "
                           "save it again as .xlsx.") from None
    return scanner.sheet


def _drain(stream, budget: _UnpackBudget, deadline: limits.Deadline) -> None:
    while chunk := stream.read(CHUNK):
        budget.take(len(chunk))
        deadline.check()


class _SheetOverLimit(Exception):
    """A sheet is already past a limit: counting the rest of it would change nothing."""


class _PartScanner:
    """expat handlers for one XML part; they keep counters, never the document."""

    def __init__(self, name: str):
        self.name = name
        self.parser = expat.ParserCreate(namespace_separator="}")  # tags arrive as "namespace}local"
        self.parser.buffer_text = True
        self.parser.StartDoctypeDeclHandler = self._refuse_document_type
        self.parser.EntityDeclHandler = self._refuse_document_type
        self.parser.StartElementHandler = self._start_root
        self.elements = 0
        self.sheet: SheetFacts | None = None
        self.shared_strings = 0
        self.in_shared_string = False
        self.text_length = 0

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.Parse(chunk, False)
        except expat.ExpatError as e:
            raise self._unreadable(e) from None

    def finish(self) -> None:
        try:
            self.parser.Parse(b"", True)
        except expat.ExpatError as e:
            raise self._unreadable(e) from None

    def _unreadable(self, error) -> FileRejected:
        return FileRejected(f"The XLSX file cannot be read ({self.name}: {error}); save it again as .xlsx.")

    def _refuse_document_type(self, *_):
        raise FileRejected(f"The XLSX file's part {self.name} declares an XML document type, which "
                           "spreadsheets never do and XML bombs need; save it again as .xlsx.")

    def count_element(self) -> None:
        self.elements += 1
        if self.elements > limits.MAX_PART_ELEMENTS:
            raise FileRejected(f"The XLSX file's part {self.name} has more than {limits.MAX_PART_ELEMENTS:,} "
                               "XML elements; save it again as .xlsx.")

    # -- which kind of part -------------------------------------------------------------------

    def _start_root(self, tag, attributes):
        root = tag.rpartition("}")[2]
        if root == "worksheet":
            self.sheet = SheetFacts()
            counter = _SheetCounter(self, self.sheet)
            self.parser.StartElementHandler = counter.start
            self.parser.EndElementHandler = counter.end
            self.parser.CharacterDataHandler = counter.text
        elif root == "sst":  # the shared strings: openpyxl keeps every one in memory
            self.parser.StartElementHandler = self._start_in_shared_strings
            self.parser.EndElementHandler = self._end_in_shared_strings
            self.parser.CharacterDataHandler = self._count_text
        else:  # styles, workbook, relationships, …: openpyxl builds these whole
            self.parser.StartElementHandler = lambda tag, attributes: self.count_element()
        self.count_element()

    def _start_in_shared_strings(self, tag, attributes):
        if tag == SHARED_STRING:
            self.shared_strings += 1
            self.in_shared_string, self.text_length = True, 0
            if self.shared_strings > limits.MAX_SHARED_STRINGS:
                raise FileRejected(f"The XLSX file has more than {limits.MAX_SHARED_STRINGS:,} different "
                                   "texts; split it into smaller files.")
        elif not self.in_shared_string:  # openpyxl clears each string once read, nothing else
            self.count_element()

    def _end_in_shared_strings(self, tag):
        if tag == SHARED_STRING:
            self.in_shared_string = False

    def _count_text(self, text: str) -> None:
        self.text_length += len(text)
        if self.text_length > limits.MAX_CELL_CHARACTERS:
            raise cell_too_long()


def cell_too_long() -> FileRejected:
    return FileRejected(f"A cell holds more than {limits.MAX_CELL_CHARACTERS:,} characters, "
                        "a spreadsheet program's own limit; save it again as .xlsx.")


class _SheetCounter:
    """Follows rows and cells the way openpyxl numbers them (an `r` attribute, else the next one).
    Tags are compared whole, namespace included, as openpyxl does: it ignores other namespaces."""

    def __init__(self, scanner: _PartScanner, facts: SheetFacts):
        self.scanner, self.facts = scanner, facts
        self.in_sheet_data = False
        self.row = self.column = 0
        self.rows_seen = self.cells_seen = self.cells_in_row = 0
        self.row_has_value = False
        self.in_cell = False
        self.cell_has_formula = self.cell_has_value = self.cell_has_result = False
        self.text_element = None  # the v, t or f tag while inside one in a cell
        self.text_length = 0

    def start(self, tag, attributes):
        if not self.in_sheet_data:  # columns, views, …: openpyxl keeps what precedes the rows
            self.scanner.count_element()
            self.in_sheet_data = tag == SHEET_DATA
        elif tag == CELL:
            self._start_cell(attributes)
        elif tag in CELL_TEXT and self.in_cell:
            self.cell_has_formula |= tag == FORMULA
            self.text_element, self.text_length = tag, 0
        elif tag == ROW:
            self.row = _whole_number(attributes.get("r"), self.row + 1)
            self.rows_seen += 1
            self.column = self.cells_in_row = 0
            self.row_has_value = False

    def _start_cell(self, attributes):
        self.column = _column_number(attributes.get("r"), self.column + 1)
        self.cells_seen += 1
        self.cells_in_row += 1
        if self.cells_in_row > limits.MAX_CELLS_IN_A_ROW:  # openpyxl builds a whole row at once
            raise FileRejected(f"A row has more than {limits.MAX_CELLS_IN_A_ROW:,} cells, a spreadsheet "
                               "program's own limit; save it again as .xlsx.")
        self.in_cell = True
        self.cell_has_formula = self.cell_has_value = self.cell_has_result = False

    def text(self, text: str) -> None:
        if self.text_element is None:
            return
        self.text_length += len(text)
        if self.text_length > limits.MAX_CELL_CHARACTERS:
            raise cell_too_long()
        if not self.cell_has_value and text.strip():
            self.cell_has_value = True
            self.cell_has_result = self.text_element == VALUE
        elif self.text_element == VALUE and text.strip():
            self.cell_has_result = True

    def end(self, tag):
        if not self.in_sheet_data:
            return
        if tag in CELL_TEXT:
            self.text_element = None
        elif tag == CELL:
            self._end_cell()
        elif tag == ROW and self.row_has_value:
            self._end_value_row()
        elif tag == SHEET_DATA:
            self.in_sheet_data = False

    def _end_cell(self):
        self.in_cell = False
        if self.cell_has_formula and not self.cell_has_result:
            self.facts.formulas_without_result += 1
        if self.cell_has_value or self.cell_has_formula:
            self.row_has_value = True
            self.facts.widest_value_column = max(self.facts.widest_value_column, self.column)

    def _end_value_row(self):
        facts = self.facts
        facts.value_rows += 1
        facts.last_value_row = max(facts.last_value_row, self.row)
        facts.rows_until_last_value = self.rows_seen
        facts.cells_until_last_value = self.cells_seen
        if facts.over_limit():
            raise _SheetOverLimit


def _whole_number(text: str | None, otherwise: int) -> int:
    return int(text) if text and text.isdigit() else otherwise


def _column_number(reference: str | None, otherwise: int) -> int:
    """'AB12' -> 28, as openpyxl reads a cell reference; no reference: the next column."""
    if not reference:
        return otherwise
    number = 0
    for character in reference:
        if not character.isalpha():
            break
        number = number * 26 + (ord(character.upper()) - 64)
    return number or otherwise
