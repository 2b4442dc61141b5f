"""`appliance init [--demo]`: create the home folder, keys, database and the first admin."""
from __future__ import annotations

import secrets

import click

from .. import accounts, home as home_module
from ..models import User
from .base import CliContext, pass_app, read_secret_stdin


@click.command("init")
@click.option("--demo", is_flag=True, help="Add demo products, stock, customers, orders and one user per role.")
@click.option("--admin-user", default="admin", show_default=True, help="Name of the first admin.")
@click.option("--admin-password-stdin", is_flag=True, help="Read the admin password from standard input.")
@click.option("--database-url", default=None, help="Database URL to write into a new appliance.toml.")
@pass_app
def command(app: CliContext, demo: bool, admin_user: str, admin_password_stdin: bool, database_url: str | None) -> None:
    """Create the box's home folder (config, keys, database) and its first admin user."""
    for path in home_module.create(app.home, database_url):
        click.echo(f"created {path}")
    settings = app.settings()
    if User.select().where(User.username == admin_user).exists():
        click.echo(f"admin {admin_user} already exists")
    else:
        password = read_secret_stdin() if admin_password_stdin else secrets.token_urlsafe(12)
        accounts.create_user(admin_user, password, "admin", actor="init")
        if not admin_password_stdin:
            click.echo(f"admin user: {admin_user}  one-time password: {password}  (change it after signing in)")
    if demo:
        from ..demo import load_demo
        logins = load_demo(settings)
        for username, password in logins.items():
            click.echo(f"demo user: {username}  password: {password}")
    click.echo(f"home: {app.home}")
