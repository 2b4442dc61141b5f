"""schemathesis, run over /api/v1/openapi.json with its standard checks (no 5xx; status codes,
content types, response schemas and headers as documented; invalid data refused, valid data
accepted; auth enforced; 405 with Allow) and its stateful phase, finds no failure. Bounded and
derandomized (a few examples per operation, one seed, one SQLite box served on 127.0.0.1) so the
suite stays fast and CI reproducible; docs/api.md has the command for a longer run."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from appliance import accounts, config, inventory, runtime
from appliance.schema import migrate
from cli.wiring import extra_models
from tests.conftest import make_home
from web import create_app

from .schemathesis_run import failures, served

EXAMPLES = 3


@contextmanager
def a_box(folder: Path):
    """A box with one product in stock and an admin token (every operation is allowed to it)."""
    home = make_home(folder / "home")
    box = config.load(home, environ={"APPLIANCE_DATABASE_URL": "sqlite:///appliance.db"})
    runtime.connect(box)
    try:
        migrate(extra_models())
        inventory.create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, "test")
        inventory.receive("TEA", 1000, "test")
        token = accounts.create_token("schemathesis", "admin", "test")[1]
        yield create_app(box, connect=False), token
    finally:
        runtime.close()


def test_schemathesis_finds_no_failure(tmp_path):
    with a_box(tmp_path) as (app, token), served(app) as base_url:
        found = failures(base_url, token, EXAMPLES, stateful=True)
    assert found == [], "\n".join(found)
