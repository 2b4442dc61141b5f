"""`appliance monitors status` prints every check with state, value and since when; the other
subcommands act on the same ledger."""
from __future__ import annotations

import json

from click.testing import CliRunner

from cli import main
from monitors.models import MaintenanceWindow, Silence


def _run(home, *args):
    result = CliRunner().invoke(main, ["--home", str(home), "monitors", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_status_lists_every_check_with_state_value_and_since(db, home):
    _run(home, "run-once", "--check", "db_probe", "--check", "stock_ledger")
    lines = _run(home, "status").splitlines()

    assert lines[0].split()[:4] == ["CHECK", "STATE", "VALUE", "SINCE"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert {"disk", "readyz", "db_probe", "overdue_orders", "backup_age"} <= set(rows)
    assert rows["stock_ledger"].split()[1:3] == ["ok", "0"]
    assert "→ ok 1/3" in rows["db_probe"]  # seen once, not yet confirmed
    assert "not run yet" in rows["readyz"]


def test_status_json_and_silence_and_maintenance(db, home):
    _run(home, "silence", "disk", "--for", "2h", "--by", "ana", "--reason", "cleaning up")
    _run(home, "maintenance", "--start", "now", "--for", "30m", "--by", "ana", "--checks", "readyz")
    rows = {r["check"]: r for r in json.loads(_run(home, "status", "--json"))}

    assert rows["disk"]["suppressed_by"].startswith("silence #")
    assert rows["readyz"]["suppressed_by"].startswith("maintenance #")
    assert Silence.select().count() == 1 and MaintenanceWindow.select().count() == 1


def test_unknown_check_is_a_one_line_error(db, home):
    result = CliRunner().invoke(main, ["--home", str(home), "monitors", "ack", "nope", "--by", "ana"])
    assert result.exit_code == 1
    assert "No check named 'nope'" in result.output
