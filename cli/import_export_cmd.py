"""`appliance import products|stock|orders FILE [--dry-run]` and `appliance export KIND [--format] [--output]`."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from appliance import import_export
from appliance.commandline import CliContext, pass_app

ACTOR = "cli"


@click.command("import")
@click.argument("kind", type=click.Choice(list(import_export.KINDS)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the whole file and report; write nothing.")
@pass_app
def import_command(app: CliContext, kind: str, file: Path, dry_run: bool) -> None:
    """Import products, stock counts or orders from a .csv or .xlsx FILE: all rows or none.

    Every bad row is reported with its row number, column and reason. Import products first, then
    stock, then orders (confirmed orders reserve stock). See docs/import-export.md for the columns.
    """
    settings = app.settings()
    if dry_run:
        report = import_export.validate(kind, file, settings=settings)
    else:
        report = import_export.apply(kind, file, actor=ACTOR, settings=settings)
    for error in report.errors:
        click.echo(str(error), err=True)
    click.echo(report.summary(), err=not report.ok)
    if not report.ok:
        sys.exit(1)


@click.command("export")
@click.argument("kind", type=click.Choice(list(import_export.KINDS)))
@click.option("--format", "fmt", type=click.Choice(import_export.FORMATS), default=None,
              help="csv or xlsx (default: from --output's extension, else csv).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: standard output, CSV only).")
@pass_app
def export_command(app: CliContext, kind: str, fmt: str | None, output: Path | None) -> None:
    """Export products, stock counts or orders as CSV or XLSX, in the layout `import` reads back."""
    fmt = fmt or ("xlsx" if output and output.suffix.lower() == ".xlsx" else "csv")
    if output is None and fmt == "xlsx" and sys.stdout.isatty():
        raise click.UsageError("An XLSX export needs --output FILE (it is not text for a terminal).")
    settings = app.settings()
    # A file on disk gets the byte-order mark Excel needs to read UTF-8; a pipe gets plain UTF-8.
    data = import_export.export(kind, fmt, settings=settings, byte_order_mark=output is not None)
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    _write_atomically(output, data)
    click.echo(f"wrote {kind} to {output} ({len(data)} bytes)", err=True)


def _write_atomically(path: Path, data: bytes) -> None:
    """Never leaves half a file where a previous export was."""
    path = path.resolve()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; an export is an ordinary file
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
