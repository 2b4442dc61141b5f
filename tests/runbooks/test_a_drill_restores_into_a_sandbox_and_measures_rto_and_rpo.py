"""`appliance drill run box-lost --target …` restores from the shop's real targets (SFTP, S3) into a
sandbox, serves it on a loopback port until it accepts a test order, and records the RTO and RPO it
measured on the live box; the live database and the shop's targets are not touched, and the
sandbox's copy of the shop's data is gone afterwards."""
from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from appliance import config, operations, orders
from appliance.models import Order
from backup.targets import backups_on, open_targets
from cli import main
from monitors.models import DrillResult
from tests.backup.conftest import make_shop
from tests.backup.helpers import s3_target, sftp_target, write_targets


@pytest.fixture(params=["sftp", "s3"])
def shop_with_a_backup(request, home, settings, db, sshd_server, s3_server):
    target = (sftp_target("nas", sshd_server, f"drill-{time.monotonic_ns()}") if request.param == "sftp"
              else s3_target("offsite", s3_server, s3_server.new_bucket(), home))
    write_targets(home, [target])
    live = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    make_shop(live, n_orders=12)
    operations.execute(live, "backup.run", actor=operations.SCHEDULER, source="schedule", show_progress=False)
    return live, target["name"]


def test_a_box_lost_drill_restores_serves_and_records_what_it_achieved(home, shop_with_a_backup):
    live, target = shop_with_a_backup
    time.sleep(1.1)
    after_backup, _ = orders.create_order(live, channel="store", actor="test",
                                          lines=[orders.LineRequest("SKU-1", 1)])  # lost by any restore
    live_orders = [o.number for o in Order.select().order_by(Order.id)]
    before = {t.name: backups_on(t.list()) for t in open_targets(live)}

    result = CliRunner().invoke(main, ["--home", str(home), "drill", "run", "box-lost", "--target", target, "--json"])

    assert result.exit_code == 0, result.output
    drill = json.loads(result.output)
    assert drill["succeeded"] and drill["met"] and drill["run_status"] == "completed"
    assert 0 < drill["rto_seconds"] < 60
    assert 1.0 <= drill["rpo_seconds"] < 30  # the order made a second after the backup is what a restore loses
    assert set(drill["phases"]) >= {"diagnose", "emergency", "fix", "verify", "recover"}
    recorded = DrillResult.get(DrillResult.runbook == "box-lost")
    assert recorded.succeeded and abs(recorded.rto_seconds - drill["rto_seconds"]) < 0.01
    assert drill["drill_id"] in recorded.note and "evidence sha256" in recorded.note
    # the live box and the shop's targets are as they were
    assert [o.number for o in Order.select().order_by(Order.id)] == live_orders
    assert after_backup.number in live_orders
    assert {t.name: backups_on(t.list()) for t in open_targets(live)} == before
    sandbox = home / "drills" / drill["drill_id"]
    assert (sandbox / "evidence.json").exists() and not list(sandbox.glob("appliance.db*"))


def test_a_drill_from_a_target_without_a_backup_fails_and_is_recorded_as_failed(home, settings, db, sshd_server):
    write_targets(home, [sftp_target("empty", sshd_server, f"none-{time.monotonic_ns()}")])

    result = CliRunner().invoke(main, ["--home", str(home), "drill", "run", "box-lost", "--target", "empty"])

    assert result.exit_code == 1 and "Drill rb-" in result.output and "failed" in result.output
    recorded = DrillResult.get(DrillResult.runbook == "box-lost")
    assert not recorded.succeeded and recorded.rto_seconds is None


def test_the_drills_run_is_copied_into_the_live_database(home, db, settings, tmp_path):
    from runbooks.models import RunbookRun
    from tests.backup.helpers import local_target
    write_targets(home, [local_target("disk", tmp_path / "disk")])
    live = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    operations.execute(live, "backup.run", actor=operations.SCHEDULER, source="schedule", show_progress=False)

    drill = json.loads(CliRunner().invoke(main, ["--home", str(home), "drill", "run", "box-lost", "--target", "disk",
                                                 "--json"]).output)

    copy = RunbookRun.get(RunbookRun.run_id == drill["drill_id"])
    assert copy.drill and copy.status == "completed" and copy.runbook == "box-lost"
