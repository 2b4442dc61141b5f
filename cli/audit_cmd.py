"""`appliance audit verify`: detects an edited or deleted audit event and names the first bad one."""
from __future__ import annotations

import click

from appliance import audit
from appliance.commandline import CliContext, pass_app


@click.group("audit")
def command() -> None:
    """The audit trail of every change."""


@command.command("verify")
@pass_app
def verify(app: CliContext) -> None:
    app.settings()
    report = audit.verify()
    if not report.ok:
        raise click.ClickException(f"audit chain broken at event {report.first_bad_id}: {report.reason}")
    click.echo(f"audit chain intact: {report.checked} events")
