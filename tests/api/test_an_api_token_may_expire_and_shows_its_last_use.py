"""An API token may be given an expiry (`appliance token create --expires-in-days N`): from then on it
is refused with a 401 saying so; the list of tokens shows when each was last used and when it expires.
A token made before expiries (schema v8) lasts until revoked."""
from datetime import timedelta

from click.testing import CliRunner

from appliance import accounts, clock
from appliance.models import ApiToken, KeyValue
from appliance.schema import migrate
from cli import main


def test_a_token_with_an_expiry_is_refused_from_then_on(api, db):
    _, plaintext = accounts.create_token("till-week", "staff", "test", expires_in_days=7)
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert api.client.get("/api/v1/orders", headers=headers).status_code == 200
    with clock.shifted_to(clock.utcnow() + timedelta(days=7, seconds=1)):
        refused = api.client.get("/api/v1/orders", headers=headers)
    assert refused.status_code == 401
    assert "expired" in refused.get_json()["error"]


def test_the_token_list_shows_the_last_use_and_the_expiry(api, settings, db, monkeypatch):
    monkeypatch.setenv("APPLIANCE_DATABASE_URL", settings.database.url)  # the command reads this box's database
    _, plaintext = accounts.create_token("till-week", "staff", "test", expires_in_days=7)
    accounts.create_token("till-old", "staff", "test")
    api.client.get("/api/v1/orders", headers={"Authorization": f"Bearer {plaintext}"})
    used = ApiToken.get(ApiToken.name == "till-week").last_used_at
    assert used is not None
    listed = CliRunner().invoke(main, ["--home", str(settings.home), "token", "list"], catch_exceptions=False).output
    week = next(line for line in listed.splitlines() if line.startswith("till-week"))
    assert f"last used {used.isoformat(timespec='seconds')}Z" in week and "expires 20" in week and "active" in week
    old = next(line for line in listed.splitlines() if line.startswith("till-old"))
    assert "last used never" in old and "expires never" in old


def test_an_expiry_outside_1_to_3650_days_is_refused(db):
    for days in (0, 3651):
        try:
            accounts.create_token("bad", "staff", "test", expires_in_days=days)
        except accounts.Invalid as e:
            assert "1 to 3650 days" in e.message
        else:
            raise AssertionError(f"{days} days accepted")


def test_a_token_made_before_expiries_lasts_until_revoked(api, db):
    _, plaintext = accounts.create_token("till-1", "staff", "test")
    KeyValue.put("schema_version", "7")
    migrate()
    with clock.shifted_to(clock.utcnow() + timedelta(days=3650)):
        assert api.client.get("/api/v1/orders", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200
