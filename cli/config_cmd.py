"""`appliance config check|docs`."""
from __future__ import annotations

import click

from appliance import config
from appliance.commandline import CliContext, pass_app


@click.group("config")
def command() -> None:
    """Check the configuration or print the settings reference."""


@command.command("check")
@pass_app
def check(app: CliContext) -> None:
    config.load(app.home)
    click.echo(f"{app.home / config.CONFIG_FILE}: ok")


@command.command("docs")
def docs() -> None:
    """Prints docs/settings.md."""
    click.echo(config.reference_markdown(), nl=False)
