"""A drill in the middle of its sandbox restore holds the box's restore lock. An IT person's restore
(here `appliance restore --output`, a real one) does not wait for it nor get told to try later: the
drill stops, says it gave way, journals its run as aborted and records no drill result (it measured
nothing; the last real drill still stands), and the restore goes on and succeeds."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from appliance import config, operations
from appliance.models import Order
from monitors.models import DrillResult
from runbooks.journal import Journal
from tests.backup.conftest import make_shop
from tests.backup.helpers import local_target, write_targets
from tests.servers.waiting import wait_for

APPLIANCE = str(Path(sys.executable).parent / "appliance")
FILLER_MB = 48  # incompressible, so the drill's sandbox restore lasts long enough to be caught in it


def _drill_holds_the_restore_lock(home: Path) -> bool:
    try:
        return json.loads((home / "run" / "operations" / "restore.lock").read_text()).get("gives_way") is True
    except (OSError, ValueError):
        return False


def _has_pending(pid: int, sig: int) -> bool:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    pending = int(fields["ShdPnd"], 16) | int(fields["SigPnd"], 16)
    return bool(pending & (1 << (sig - 1)))


def test_a_drill_gives_way_to_a_restore_and_records_no_result(home, settings, db, tmp_path):
    write_targets(home, [local_target("disk", tmp_path / "disk")])
    live = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    make_shop(live, n_orders=12)
    with sqlite3.connect(home / "appliance.db") as filler:
        filler.execute("CREATE TABLE filler (b BLOB)")
        filler.executemany("INSERT INTO filler VALUES (randomblob(1048576))", [()] * FILLER_MB)
    operations.execute(live, "backup.run", actor=operations.SCHEDULER, source="schedule", show_progress=False)
    shop_orders = Order.select().count()
    env = {**os.environ, "APPLIANCE_HOME": str(home), "APPLIANCE_DATABASE_URL": settings.database.url}

    drill = subprocess.Popen([APPLIANCE, "drill", "run", "box-lost", "--target", "disk"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    restore = None
    try:
        wait_for(lambda: _drill_holds_the_restore_lock(home) or drill.poll() is not None, timeout=60, step=0.002,
                 what="the drill's sandbox restore")
        os.kill(drill.pid, signal.SIGSTOP)  # frozen inside its restore, the lock held
        assert drill.poll() is None, drill.stdout.read()
        restore = subprocess.Popen([APPLIANCE, "restore", "--target", "disk", "--output", str(tmp_path / "restored.db")],
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for(lambda: _has_pending(drill.pid, operations.GIVE_WAY_SIGNAL) or restore.poll() is not None,
                 timeout=60, what="the restore asks the drill to give way")
        os.kill(drill.pid, signal.SIGCONT)

        restored_output, _ = restore.communicate(timeout=120)
        drill_output, _ = drill.communicate(timeout=60)
    finally:
        for child in (drill, restore):
            if child is not None and child.poll() is None:
                os.kill(child.pid, signal.SIGCONT)
                child.kill()
                child.wait()

    assert restore.returncode == 0, restored_output
    with sqlite3.connect(tmp_path / "restored.db") as restored:
        assert restored.execute("SELECT count(*) FROM orders").fetchone()[0] == shop_orders
    assert drill.returncode == 1 and "stopped" in drill_output and "gave way to a restore" in drill_output, drill_output
    drill_id = next(word for word in drill_output.split() if word.startswith("rb-")).rstrip(":")
    run = Journal(home, drill_id).view()
    assert run.status == "aborted" and "gave way" in run.reason
    assert not DrillResult.select().exists()  # no measurement: nothing for drill_age or the report to count
    assert not list((home / "drills" / drill_id).glob("appliance.db*"))  # the sandbox's copy of the shop is gone
