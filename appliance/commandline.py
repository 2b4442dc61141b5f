"""What every command of every package shares: lazy settings + database, and one-line errors with a non-zero exit."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import click
import peewee

from . import config, runtime
from .errors import AppError


class CliContext:
    """What a command gets from the `appliance` group: the home, and settings + database on demand.

    `extra_models` and `extra_steps` give the tables and data migrations of the packages above the
    core; the composition root passes them.
    """

    def __init__(self, home: str | None, extra_models: Callable[[], list] = list,
                 extra_steps: Callable[[], list] = list):
        self.home = Path(home).resolve() if home else config.home_from_env()
        self.extra_models, self.extra_steps = extra_models, extra_steps
        self._settings: config.Settings | None = None

    def settings(self) -> config.Settings:
        """Loads settings and opens the database (schema brought up to date) on first use."""
        if self._settings is None:
            self._settings = runtime.bootstrap(self.home, extra_models=self.extra_models(),
                                               extra_steps=self.extra_steps())
        return self._settings


class AppGroup(click.Group):
    """Turns expected failures into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (config.ConfigError, AppError) as e:
            raise click.ClickException(_one_line(e)) from None
        except peewee.OperationalError as e:
            raise click.ClickException(f"Database error: {_one_line(e)}") from None
        except OSError as e:
            raise click.ClickException(f"{e.strerror or e}: {e.filename or ''}".rstrip(": ")) from None


def _one_line(error: Exception) -> str:
    text = getattr(error, "message", None) or str(error)
    details = getattr(error, "details", None)
    line = " ".join(text.split())
    if details:
        line += " " + "; ".join(_detail(d) for d in details[:5])
        if len(details) > 5:
            line += f"; and {len(details) - 5} more"
    return line


def _detail(d) -> str:
    if isinstance(d, dict):
        return ", ".join(f"{k}={v}" for k, v in d.items())
    return str(d)


def read_secret_stdin() -> str:
    """A password or key from stdin (first line, without the newline)."""
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise click.ClickException("Expected a value on standard input, got nothing.")
    return value


pass_app = click.make_pass_decorator(CliContext)


def name_value_pairs(pairs: tuple[str, ...], what: str = "Parameters") -> dict[str, str]:
    """`NAME=VALUE` arguments (operation and runbook parameters) as a dict; a pair without `=` is
    refused naming it."""
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.ClickException(f"{what} take NAME=VALUE (got {pair!r}).")
        values[name] = value
    return values
