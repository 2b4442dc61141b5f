"""`appliance init [--demo]`: create the home folder, keys, database and the first admin."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from appliance import accounts, home as home_module
from appliance.models import User
from appliance.commandline import CliContext, pass_app, read_secret_stdin


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
    logins: list[str] = []
    if User.select().where(User.username == admin_user).exists():
        click.echo(f"admin {admin_user} already exists")
    else:
        password = read_secret_stdin() if admin_password_stdin else secrets.token_urlsafe(12)
        accounts.create_user(admin_user, password, "admin", actor="init")
        if not admin_password_stdin:
            logins.append(f"admin user: {admin_user}  one-time password: {password}  (change it after signing in)")
    if demo:
        from appliance.demo import load_demo
        logins += [f"demo user: {username}  password: {password}" for username, password in load_demo(settings).items()]
        if logins:
            # A demo box shows its logins again on every `./dev run`; a real box never writes them.
            _write_private(app.home / DEMO_LOGINS, "\n".join(logins) + "\n")
    for line in logins:
        click.echo(line)
    from backup import identity
    box = identity.ensure(settings)
    click.echo(f"home: {app.home}  (box {box.box_id}, lineage {box.lineage}: every backup names them)")
    click.echo("next: run `appliance backup kit` and print it (the backup key, the targets and the restore "
               "commands on one sheet); keep it offline, e.g. in the safe")


DEMO_LOGINS = "demo-logins.txt"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(fd, 0o600)  # whatever the umask, and a file left from an earlier run too
        f.write(text)
