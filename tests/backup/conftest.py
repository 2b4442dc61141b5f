"""Fixtures for the backup tests: real sshd and S3 servers, a shop with orders, targets in config."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance import config, inventory, orders
from cli import main
from tests.servers.s3 import s3_server  # noqa: F401
from tests.servers.sshd import sshd_server  # noqa: F401

from .helpers import write_targets


def make_shop(settings: config.Settings, n_orders: int = 12) -> None:
    """Products, stock and orders, through the domain services like the shop would."""
    for i in range(4):
        inventory.create_product({"sku": f"SKU-{i}", "name": f"Product {i}", "price_cents": 150 + i}, "test")
        inventory.receive(f"SKU-{i}", 500, "test")
    for n in range(n_orders):
        orders.create_order(settings, channel="store", actor="test",
                            lines=[orders.LineRequest(f"SKU-{n % 4}", 1 + n % 3),
                                   orders.LineRequest(f"SKU-{(n + 1) % 4}", 1)])


@pytest.fixture
def shop(settings, db) -> config.Settings:
    make_shop(settings)
    return settings


@pytest.fixture
def configure(home: Path, settings):
    """configure(target, ...) -> Settings with those [[backup.targets]] (same database)."""
    def apply(*targets: dict, **backup_options) -> config.Settings:
        write_targets(home, list(targets), backup_options)
        return config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    return apply


@pytest.fixture
def cli(home: Path, settings):
    """cli("backup", "run") -> click Result, in-process, against the test's home."""
    runner = CliRunner()

    def invoke(*args: str):
        env = {"APPLIANCE_HOME": str(home), "APPLIANCE_DATABASE_URL": settings.database.url}
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)
    return invoke

