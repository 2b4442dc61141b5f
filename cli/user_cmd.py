"""`appliance user add|list|passwd|disable|enable`."""
from __future__ import annotations

import click

from appliance import accounts
from appliance.models import ROLES, User
from appliance.commandline import CliContext, pass_app, read_secret_stdin

ACTOR = "cli"


@click.group("user")
def command() -> None:
    """Manage the people who sign in to the web pages."""


@command.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
@pass_app
def add(app: CliContext, username: str, role: str, password_stdin: bool) -> None:
    app.settings()
    user = accounts.create_user(username, read_secret_stdin(), role, ACTOR)
    click.echo(f"added {user.username} ({user.role})")


@command.command("list")
@pass_app
def list_users(app: CliContext) -> None:
    app.settings()
    for user in User.select().order_by(User.username):
        state = "active" if user.active else "disabled"
        click.echo(f"{user.username}\t{user.role}\t{state}")


@command.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the new password from standard input.")
@pass_app
def passwd(app: CliContext, username: str, password_stdin: bool) -> None:
    app.settings()
    accounts.set_password(username, read_secret_stdin(), ACTOR)
    click.echo(f"password changed for {username}")


@command.command("disable")
@click.argument("username")
@pass_app
def disable(app: CliContext, username: str) -> None:
    app.settings()
    accounts.set_active(username, False, ACTOR)
    click.echo(f"disabled {username}")


@command.command("enable")
@click.argument("username")
@pass_app
def enable(app: CliContext, username: str) -> None:
    app.settings()
    accounts.set_active(username, True, ACTOR)
    click.echo(f"enabled {username}")
