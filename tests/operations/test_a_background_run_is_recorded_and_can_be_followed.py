"""An operation started from the web or the scheduler runs in a child process, not in the request:
the call returns a queued run at once, the child records it running then finished, and its output
can be read while it runs (logs/operations/<id>.log)."""
from __future__ import annotations

from appliance import operations
from appliance.models import OperationRun
from tests.backup.helpers import local_target, write_targets
from tests.servers.waiting import wait_for


def test_a_backup_started_in_the_background_runs_in_a_child_and_is_recorded(home, tmp_path, database_url, db):
    write_targets(home, [local_target("disk", tmp_path / "disk")])
    from appliance import config
    settings = config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url})

    queued = operations.start_in_background(settings, "backup.run", actor=operations.Actor("ana", "admin"),
                                            source="web")

    assert queued.outcome == "queued" and queued.actor == "ana"
    done = wait_for(lambda: (r := OperationRun.get_by_id(queued.id)).outcome not in ("queued", "running") and r,
                    timeout=60, what="the background backup to finish")
    assert done.outcome == "ok", (done.summary, operations.log_tail(settings, queued.id))
    assert "stored on disk" in done.summary
    assert done.pid is not None and done.pid != __import__("os").getpid()
    assert operations.log_path(settings, queued.id).exists()
    assert len(list((tmp_path / "disk").iterdir())) == 1


def test_a_queued_run_whose_child_never_began_is_interrupted_after_a_grace(settings, db, monkeypatch):
    run = OperationRun.create(operation="backup.run", actor="ana", actor_role="admin", source="web",
                              outcome="queued")
    assert operations.reap_interrupted(settings) == 0  # its child may still be starting
    monkeypatch.setattr(operations, "QUEUED_GRACE_SECONDS", 0)
    assert operations.reap_interrupted(settings) == 1
    assert OperationRun.get_by_id(run.id).outcome == "interrupted"
