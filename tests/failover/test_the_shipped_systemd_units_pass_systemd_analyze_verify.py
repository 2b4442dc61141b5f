"""The units in deploy/systemd/ (the appliance, the lease holder, the standby's follower) pass
`systemd-analyze verify`: no unknown key, no bad value, a command that exists. Skipped where
systemd-analyze is not installed (the dev script does not install systemd; a CI container may run
without it). The follower is ordered after the lease holder and is not restarted after a clean stop
(it stops by itself on a box that may write, and a promotion stops it). The lease holder and the
follower run the lean entry point (`python -m failover.service`), not the whole command line."""
import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.failover.pair import ROOT

UNITS = ROOT / "deploy" / "systemd"
INSTALLED = "/opt/appliance/venv/bin/appliance"
INSTALLED_PYTHON = "/opt/appliance/venv/bin/python"


def test_every_unit_passes_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (optional: part of systemd)")
    units = sorted(UNITS.glob("*.service"))
    assert {u.name for u in units} >= {"appliance.service", "appliance-failover.service", "appliance-follow.service"}
    for unit in units:
        # verify checks that ExecStart's program exists: this checkout's venv stands in for /opt/appliance.
        text = unit.read_text()
        assert INSTALLED in text or INSTALLED_PYTHON in text
        (tmp_path / unit.name).write_text(text.replace(str(Path(INSTALLED).parent), str(ROOT / ".venv" / "bin")))
    checked = subprocess.run([analyze, "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", checked.stdout + checked.stderr


def test_the_follower_runs_after_the_lease_holder_and_stays_stopped_after_a_clean_exit():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(UNITS / "appliance-follow.service")
    assert unit["Service"]["ExecStart"] == f"{INSTALLED_PYTHON} -m failover.service follow"
    assert unit["Service"]["User"] == "appliance"
    assert "appliance-failover.service" in unit["Unit"]["After"].split()
    assert unit["Service"]["Restart"] == "on-failure"


def test_the_lease_holder_runs_the_lean_entry_point():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(UNITS / "appliance-failover.service")
    assert unit["Service"]["ExecStart"] == f"{INSTALLED_PYTHON} -m failover.service run"
