"""A runbook's restore step replaces the live database under the engine: the run goes on after it
(the next steps read the restored database), and the journal, kept outside the database, has every
step. The order written after the backup is gone, the ones before it are there."""
from __future__ import annotations

from appliance import config, operations, orders
from appliance.models import Order
from runbooks import engine
from tests.backup.helpers import local_target, write_targets

from .helpers import step, write


def test_a_backup_then_a_restore_over_the_live_database_then_checks(home, tmp_path, database_url, db, library):
    write_targets(home, [local_target("disk", tmp_path / "disk")])
    settings = config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url})
    from appliance import inventory
    inventory.create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, "test")
    inventory.receive("TEA", 10, "test")
    before, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 1)], actor="test")
    write(library, "restore-now",
          step("backup", "action", operation="backup.run", timeout_seconds=120),
          step("an-order-after-the-backup", "shell",
               command=f"{__import__('sys').executable} -c 'print(1)'"),
          step("restore", "action", operation="backup.restore", params="{target: disk, force: true}",
               timeout_seconds=120, safe_to_repeat="false"),
          step("whole", "verify", operation="orders.inspect", expect="{state: ok, orders: 1}"),
          step("chain", "verify", operation="audit.verify", expect="{state: ok}"))
    after_backup = []

    def say(line: str) -> None:  # an order taken between the backup and the restore is lost by the restore
        if line.startswith("[shell] an-order-after-the-backup"):
            from appliance.db import database
            with database.connection_context():
                after_backup.append(orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 1)],
                                                        actor="test")[0].number)

    view = engine.start(settings, "restore-now", {}, operations.Actor("ada", "admin"), say=say)

    assert view.status == "completed", (view.reason, {k: (v.state, v.error) for k, v in view.steps.items()})
    assert view.steps["restore"].state == "ok" and "restored backup" in view.steps["restore"].output
    assert after_backup and Order.select().count() == 1 and Order.get().number == before.number
