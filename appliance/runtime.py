"""Start-up: load settings, initialise the database, bring the schema up to date."""
from __future__ import annotations

from pathlib import Path

from . import config
from .db import database, init_database
from .schema import migrate


def connect(settings: config.Settings) -> None:
    init_database(settings.database.url, settings.home, settings.database.busy_timeout_ms)


def bootstrap(home: Path | None = None, *, require_file: bool = True, extra_models=(),
              extra_steps=()) -> config.Settings:
    settings = config.load(home, require_file=require_file)
    connect(settings)
    migrate(extra_models, extra_steps, shop_country=settings.shop.country)
    return settings


def close() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()
