"""`appliance token create|list|revoke`: API tokens, shown once."""
from __future__ import annotations

import click

from appliance import accounts
from appliance.models import ROLES, ApiToken
from appliance.commandline import CliContext, pass_app


@click.group("token")
def command() -> None:
    """Manage API tokens (Authorization: Bearer <token>)."""


@command.command("create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@pass_app
def create(app: CliContext, name: str, role: str) -> None:
    """Creates a token and prints it as the last line; it cannot be shown again."""
    app.settings()
    token, plaintext = accounts.create_token(name, role, "cli")
    click.echo(f"token {token.name} ({token.role}) created; store it now, it is not shown again:", err=True)
    click.echo(plaintext)


@command.command("list")
@pass_app
def list_tokens(app: CliContext) -> None:
    app.settings()
    for t in ApiToken.select().order_by(ApiToken.name):
        state = "revoked" if t.revoked_at else "active"
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never"
        click.echo(f"{t.name}\t{t.role}\t{t.prefix}…\t{state}\tlast used {used}")


@command.command("revoke")
@click.argument("name")
@pass_app
def revoke(app: CliContext, name: str) -> None:
    app.settings()
    accounts.revoke_token(name, "cli")
    click.echo(f"revoked {name}")
