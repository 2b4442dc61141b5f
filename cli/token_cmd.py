"""`appliance token create|list|revoke`: API tokens, shown once."""
from __future__ import annotations

import click

from appliance import accounts
from appliance.models import ROLES, ApiToken, utcnow
from appliance.commandline import CliContext, pass_app


@click.group("token")
def command() -> None:
    """Manage API tokens (Authorization: Bearer <token>)."""


@command.command("create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--expires-in-days", type=int, default=None,
              help=f"Refused from this many days on (1-{accounts.MAX_TOKEN_DAYS}); default: until revoked.")
@pass_app
def create(app: CliContext, name: str, role: str, expires_in_days: int | None) -> None:
    """Creates a token and prints it as the last line; it cannot be shown again."""
    app.settings()
    token, plaintext = accounts.create_token(name, role, "cli", expires_in_days=expires_in_days)
    click.echo(f"token {token.name} ({token.role}) created; store it now, it is not shown again:", err=True)
    click.echo(plaintext)


@command.command("list")
@pass_app
def list_tokens(app: CliContext) -> None:
    app.settings()
    now = utcnow()
    for t in ApiToken.select().order_by(ApiToken.name):
        state = "revoked" if t.revoked_at else "expired" if t.expires_at and t.expires_at <= now else "active"
        used = t.last_used_at.isoformat(timespec="seconds") + "Z" if t.last_used_at else "never"
        expires = t.expires_at.isoformat(timespec="seconds") + "Z" if t.expires_at else "never"
        click.echo(f"{t.name}\t{t.role}\t{t.prefix}…\t{state}\tlast used {used}\texpires {expires}")


@command.command("revoke")
@click.argument("name")
@pass_app
def revoke(app: CliContext, name: str) -> None:
    app.settings()
    accounts.revoke_token(name, "cli")
    click.echo(f"revoked {name}")
