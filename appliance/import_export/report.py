"""What an import found and did: the rows it read, what it changed, and every bad row."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Invalid


@dataclass(frozen=True)
class RowError:
    row: int | None      # as a spreadsheet numbers it: the header is row 1; None for the whole file
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"

    def to_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Report:
    kind: str
    filename: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    # What the import does or did, e.g. {"created": 3, "updated": 1, "unchanged": 7}.
    counts: dict[str, int] = field(default_factory=dict)
    dry_run: bool = True
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """One line for people: '12 products read: 3 created, 1 updated, 8 unchanged (dry run ...)'."""
        if self.errors:
            bad_rows = len({e.row for e in self.errors})
            return (f"{self.filename}: {len(self.errors)} problem(s) in {bad_rows} row(s); "
                    "nothing was imported.")
        what = ", ".join(f"{n} {label}" for label, n in self.counts.items())
        line = f"{self.filename}: {self.rows} row(s) of {self.kind} read" + (f": {what}" if what else "")
        if self.dry_run:
            line += " (dry run: nothing was written)"
        elif not self.written:
            line += " (nothing to change)"
        return line + "."

    def to_dict(self) -> dict:
        return {"kind": self.kind, "filename": self.filename, "rows": self.rows, "ok": self.ok,
                "dry_run": self.dry_run, "written": self.written, "counts": dict(self.counts),
                "errors": [e.to_dict() for e in self.errors]}

    def raise_if_errors(self) -> None:
        """For the API: the one error shape, with one detail per bad cell."""
        if self.errors:
            raise Invalid(f"The {self.kind} file has {len(self.errors)} problem(s); nothing was imported.",
                          [e.to_dict() for e in self.errors])
