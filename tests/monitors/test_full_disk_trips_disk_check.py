"""A real file system filled to the brim trips the disk check (a 2 MiB tmpfs; we run as root)."""
from __future__ import annotations

import os

import pytest

from monitors import engine
from tests.servers.tmpfs import mounted_tmpfs

from .monitor_helpers import override


@pytest.fixture
def small_mount(tmp_path):
    with mounted_tmpfs(tmp_path / "small", "2m") as mount:
        yield mount


def _fill(mount, fraction: float) -> None:
    st = os.statvfs(mount)
    with open(mount / "filler", "wb") as f:
        f.write(b"\0" * int(st.f_blocks * st.f_frsize * fraction))


def test_filled_tmpfs_turns_disk_check_crit(db, settings, small_mount):
    settings.monitors.disk_paths = [str(small_mount)]
    override(settings, "disk", confirm_count=1)

    assert engine.run_check("disk", settings).state == "ok"
    _fill(small_mount, 0.99)
    state = engine.run_check("disk", settings)

    assert state.state == "crit"
    assert str(small_mount) in state.reason
    assert float(state.value) >= 95


def test_half_full_tmpfs_is_a_warning_with_a_lower_threshold(db, settings, small_mount):
    settings.monitors.disk_paths = [str(small_mount)]
    override(settings, "disk", confirm_count=1, warn=40, crit=90)
    _fill(small_mount, 0.5)

    assert engine.run_check("disk", settings).state == "warn"
