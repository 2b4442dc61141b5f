"""Import and export of products, stock counts and orders as CSV or XLSX (see docs/import-export.md).

The functions the CLI and the web upload page use:

    report = import_export.validate("products", data_or_path, "products.xlsx", settings=settings)
    report = import_export.apply("products", data_or_path, "products.xlsx", actor="alice", settings=settings)
    data = import_export.export("stock", "csv")

An import checks the whole file first and reports every bad row (row, column, reason). `apply` then
writes all rows in one transaction, or nothing when any row is bad; the checks run again inside that
transaction, so what was checked is what is written even with other clerks at work. An import that
changes something records one audit event summarising it; one that changes nothing writes nothing.
"""
from __future__ import annotations

from pathlib import Path
from types import ModuleType

from ..config import Settings
from ..db import write_transaction
from ..errors import Invalid
from . import files, limits, orders, products, stock
from .files import FileRejected
from .report import Report, RowError
from .values import Problems, check_header

KINDS: dict[str, ModuleType] = {"products": products, "stock": stock, "orders": orders}
FORMATS = files.FORMATS

__all__ = ["KINDS", "FORMATS", "Report", "RowError", "validate", "apply", "export"]


def validate(kind: str, source: bytes | str | Path, filename: str | None = None, *,
             settings: Settings) -> Report:
    """Checks a file against the database as it is now; writes nothing (the --dry-run)."""
    return _run(kind, source, filename, settings, actor=None)


def apply(kind: str, source: bytes | str | Path, filename: str | None = None, *,
          actor: str, settings: Settings) -> Report:
    """Imports the whole file in one transaction, or nothing when any row is bad (see report.errors)."""
    return _run(kind, source, filename, settings, actor=actor)


def export(kind: str, fmt: str = "csv", *, settings: Settings | None = None, byte_order_mark: bool = True) -> bytes:
    """The kind's data in the file layout its import reads, so an export re-imports unchanged."""
    header, rows = _module(kind).export_rows(settings)
    if fmt == "csv":
        return files.write_csv(header, rows, byte_order_mark=byte_order_mark)
    if fmt == "xlsx":
        return files.write_xlsx(header, rows, sheet_title=kind)
    raise Invalid(f"Unknown format {fmt!r}; use csv or xlsx.", [{"field": "format", "message": "csv or xlsx"}])


def _run(kind: str, source, filename: str | None, settings: Settings, actor: str | None) -> Report:
    module = _module(kind)
    filename = _filename(source, filename)
    report = Report(kind, filename, dry_run=actor is None)
    try:
        table = files.read_table(_read(source), filename)
    except FileRejected as rejected:
        report.errors = [RowError(d["row"], d["column"], d["message"]) for d in rejected.details]
        return report
    report.rows = len(table.rows)
    if actor is None:
        _check(module, table, settings, report)
        return report
    with write_transaction():
        plan = _check(module, table, settings, report)
        if plan is not None and plan.changes_anything:
            plan.write(actor, filename)
            report.written = True
    return report


def _check(module: ModuleType, table: files.Table, settings: Settings, report: Report):
    """The kind's plan when the whole file is good; None (with report.errors filled) otherwise."""
    problems = Problems()
    if not check_header(table, module.COLUMNS, problems):
        report.errors = problems.errors
        return None
    plan = module.plan(table, problems, settings)
    if problems:
        report.errors = sorted(problems.errors, key=lambda e: e.row or 0)  # stable: columns stay in order
        return None
    report.counts = plan.counts()
    return plan


def _module(kind: str) -> ModuleType:
    if kind not in KINDS:
        raise Invalid(f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}.",
                      [{"field": "kind", "message": f"one of {', '.join(KINDS)}"}])
    return KINDS[kind]


def _filename(source: bytes | str | Path, filename: str | None) -> str:
    if isinstance(source, (bytes, bytearray)):
        if not filename:
            raise Invalid("An uploaded file needs its file name (for its format).")
        return filename
    return filename or Path(source).name


def _read(source: bytes | str | Path) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    # At most one byte over the limit: a path may name a huge file or a device that never ends.
    with open(source, "rb") as file:
        data = file.read(limits.MAX_BYTES + 1)
    if len(data) > limits.MAX_BYTES:
        raise files.too_large()
    return data
