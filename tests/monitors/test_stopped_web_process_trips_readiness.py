"""The readiness check calls the real /readyz of a running app; stopping the server trips it,
after the configured number of confirming results (flap damping)."""
from __future__ import annotations

from datetime import timedelta

from appliance.models import utcnow
from monitors import engine
from monitors.models import StateChange
from web import create_app

from .monitor_servers import WebServer


def test_stopped_web_server_turns_readiness_crit_after_confirmation(db, settings):
    server = WebServer(create_app(settings, connect=False)).start()
    settings.monitors.readyz_url = f"http://127.0.0.1:{server.port}/readyz"
    now = utcnow()
    for n in range(3):
        state = engine.run_check("readyz", settings, now + timedelta(seconds=30 * n))
    assert state.state == "ok"
    assert float(state.value) < 1.0  # response time in seconds

    server.stop()
    later = now + timedelta(minutes=5)
    first = engine.run_check("readyz", settings, later)
    assert (first.state, first.candidate, first.candidate_count) == ("ok", "crit", 1)
    engine.run_check("readyz", settings, later + timedelta(seconds=30))
    state = engine.run_check("readyz", settings, later + timedelta(seconds=60))

    assert state.state == "crit"
    assert "does not answer" in state.reason
    change = StateChange.select().where(StateChange.check == "readyz").order_by(StateChange.id.desc()).first()
    assert (change.from_state, change.to_state, change.at) == ("ok", "crit", later + timedelta(seconds=60))


def test_readiness_is_crit_when_the_app_says_it_does_not_accept_writes(db, settings):
    from appliance.models import KeyValue
    server = WebServer(create_app(settings, connect=False)).start()
    try:
        settings.monitors.readyz_url = f"http://127.0.0.1:{server.port}/readyz"
        KeyValue.replace(key="fenced", value="promoted standby at 12:00").execute()
        result = engine.evaluate(*_readyz(settings), settings, utcnow())
    finally:
        server.stop()
    assert result.state == "crit"
    assert "503" in result.reason and "fenced" in result.reason


def _readyz(settings):
    from monitors.checks import catalog, config_for
    check = catalog()["readyz"]
    return check, config_for(check, settings)
