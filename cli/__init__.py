"""`appliance` command line: the composition root, the only package that knows every other one.

It sits above them all (web → runbooks → monitors → failover → backup → appliance) and wires them
together: commands, tables, scheduled jobs, operations (`wiring.py`). One module per core command
(init, serve, user, token, import/export, audit, config); other packages bring their own click
commands, listed in `wiring.COMMANDS`.
"""
from __future__ import annotations

import importlib

import click

from appliance.commandline import AppGroup, CliContext


class LazyGroup(AppGroup):
    """Imports a command's module only when that command is asked for (wiring.COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from .wiring import COMMANDS
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from .wiring import COMMANDS
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup)
@click.option("--home", envvar="APPLIANCE_HOME", default=None, metavar="DIR",
              help="The box's home folder (default ./var, or $APPLIANCE_HOME).")
@click.pass_context
def main(ctx: click.Context, home: str | None) -> None:
    """Store Appliance: orders, stock, backups, monitors and recovery runbooks."""
    from .wiring import extra_models, extra_steps, register_operations, register_settings
    register_settings()  # before any command loads the config
    register_operations()
    ctx.obj = CliContext(home, extra_models, extra_steps)
