"""/ops shows one panel per registry entry: health checks and backups are plugged in, runbooks is a
clearly marked placeholder until that package exists; a registered panel replaces the one with the
same key in place; a failing panel never takes the page down."""
from __future__ import annotations

import pytest

from appliance import panels as ops


@pytest.fixture
def registry():
    saved = list(ops.PANELS)
    yield ops.PANELS
    ops.PANELS[:] = saved


def test_only_the_runbooks_panel_is_still_a_placeholder_and_it_says_so(admin):
    body = admin.get("/ops").get_data(as_text=True)
    for title in ("Readiness", "Health checks", "Backups", "Runbooks and drills"):
        assert title in body
    assert body.count("Not connected yet") == 1
    assert "Not connected yet: runbooks, runs and drill results" in body and "to come" in body
    assert "This box accepts orders." in body


def test_a_package_replaces_a_placeholder_and_a_broken_panel_stays_contained(admin, registry):
    ops.register_panel("backups", "Backups", lambda settings: ops.Panel(
        status="warn", summary="2 of 3 copies", rows=[("Last backup", "20261122T153000Z-ab12")]))

    def broken(settings):
        raise RuntimeError("target unreachable: secret=xyz")
    ops.register_panel("drills", "Drills", broken)
    body = admin.get("/ops").get_data(as_text=True)
    assert body.count("Not connected yet") == 1
    assert "2 of 3 copies" in body and "20261122T153000Z-ab12" in body
    assert "This panel failed to load" in body and "secret=xyz" not in body
    assert [p.key for p in registry] == ["readiness", "health", "backups", "operations", "runbooks", "drills"]
