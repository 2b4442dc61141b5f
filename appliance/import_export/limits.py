"""How much an import file may hold, and how long reading it may take.

Shops import suppliers' spreadsheets, so a file is untrusted input: a 1.5 KB XLSX can declare a
sheet of a million rows by 16,384 columns, or unpack to gigabytes. Every limit below is checked while
the file is read (never from what the file says about itself), and a file over one is refused with
one sentence naming it. The numbers are well above what a shop's real files hold (a full export of
100,000 products is about 35 MB unpacked, 800,000 cells) and low enough that reading the worst file
that passes them stays within a few hundred MB of memory and a minute of time.
"""
from __future__ import annotations

import time

MB = 1024 * 1024

MAX_BYTES = 20 * MB                 # the file as uploaded (the web's upload limit is the same)
MAX_ROWS = 100_000                  # data rows, below the header
MAX_COLUMNS = 200                   # a value further right than this is refused
MAX_CELLS = 2_000_000               # cells in the file (XLSX: every cell the sheet stores up to its last value)
MAX_READ_SECONDS = 60               # wall-clock time for reading the file (checks against the database come after)

# XLSX only: an XLSX is a zip of XML parts.
MAX_UNPACKED_BYTES = 100 * MB       # all parts together, unpacked
MAX_PARTS = 1_000                   # a spreadsheet program writes a few dozen
MAX_COMPRESSION_RATIO = 100         # real sheets pack 5-20 to 1; zip bombs about 1,000 to 1
RATIO_CHECKED_ABOVE = 1 * MB        # small parts (styles, themes) may pack better, harmlessly
MAX_SHARED_STRINGS = 500_000        # distinct texts; openpyxl keeps them all in memory (~170 bytes each)
MAX_CELL_CHARACTERS = 32_767        # a spreadsheet program's own limit for one cell
MAX_SHEET_ROWS = 1_048_576          # a spreadsheet program's own limit of rows, blank ones included
MAX_CELLS_IN_A_ROW = 16_384         # a spreadsheet program's own limit (column XFD)
MAX_PART_ELEMENTS = 300_000         # XML elements of a part openpyxl builds whole (styles, workbook, …)


class Deadline:
    """The moment reading must have finished by; `check()` refuses the file once it has passed."""

    def __init__(self, seconds: float | None = None):
        self.seconds = MAX_READ_SECONDS if seconds is None else seconds
        self._ends_at = time.monotonic() + self.seconds

    def check(self) -> None:
        if time.monotonic() > self._ends_at:
            from .files import FileRejected
            raise FileRejected(f"Reading the file took longer than {self.seconds:g} seconds; "
                               "split it into smaller files.")


def size_text(size: int) -> str:
    """20 MB; 1,000 bytes for a size that is not whole megabytes."""
    return f"{size // MB} MB" if size % MB == 0 else f"{size:,} bytes"


def rows_refused() -> str:
    return f"The file has more than {MAX_ROWS:,} rows; split it into smaller files."


def columns_refused() -> str:
    return f"The file has values beyond column {MAX_COLUMNS}; keep only the columns the import reads."


def cells_refused() -> str:
    return f"The file has more than {MAX_CELLS:,} cells; split it into smaller files."
