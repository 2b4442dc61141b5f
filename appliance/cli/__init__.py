"""`appliance` command line: the composition root, the only place that wires every package together.

One module per command (init, serve, user, token, import/export, audit, config); other packages
contribute their own click commands through `wiring.py`.
"""
from __future__ import annotations

import click

from .base import AppGroup, CliContext


@click.group(cls=AppGroup)
@click.option("--home", envvar="APPLIANCE_HOME", default=None, metavar="DIR",
              help="The box's home folder (default ./var, or $APPLIANCE_HOME).")
@click.pass_context
def main(ctx: click.Context, home: str | None) -> None:
    """Store Appliance: orders, stock, backups, monitors and recovery runbooks."""
    ctx.obj = CliContext(home)


def _register() -> None:
    from . import wiring
    for command in wiring.commands():
        main.add_command(command)


_register()
