"""Placeholder until the import/export module lands (being written now)."""
import click


@click.command("import")
def import_command() -> None:
    """Import products, stock counts or orders (not available yet)."""
    raise click.ClickException("import is not available yet")


@click.command("export")
def export_command() -> None:
    """Export products, stock counts or orders (not available yet)."""
    raise click.ClickException("export is not available yet")
