"""/ops shows one panel per registry entry, each from its own package (readiness from the core, health
checks, backups, runbooks, operations); a registered panel replaces the one with the same key in
place; a failing panel never takes the page down."""
from __future__ import annotations

import pytest

from appliance import panels as ops


@pytest.fixture
def registry():
    saved = list(ops.PANELS)
    yield ops.PANELS
    ops.PANELS[:] = saved


def test_every_package_plugs_its_own_panel_in(admin):
    body = admin.get("/ops").get_data(as_text=True)
    for title in ("Readiness", "Health checks", "Backups", "Runbooks and drills", "Operations"):
        assert f'data-panel="{title}"' in body
    assert "Not connected yet" not in body
    assert "runbooks ready" in body and 'href="/ops/runbooks"' in body
    assert "This box accepts orders." in body


def test_a_package_replaces_a_panel_in_place_and_a_broken_panel_stays_contained(admin, registry):
    ops.register_panel("backups", "Backups", lambda settings: ops.Panel(
        status="warn", summary="2 of 3 copies", rows=[("Last backup", "20261122T153000Z-ab12")]))

    def broken(settings):
        raise RuntimeError("target unreachable: secret=xyz")
    ops.register_panel("drills", "Drills", broken)
    body = admin.get("/ops").get_data(as_text=True)
    assert "2 of 3 copies" in body and "20261122T153000Z-ab12" in body
    assert "This panel failed to load" in body and "secret=xyz" not in body
    assert [p.key for p in registry] == ["readiness", "health", "backups", "runbooks", "failover", "operations", "drills"]
