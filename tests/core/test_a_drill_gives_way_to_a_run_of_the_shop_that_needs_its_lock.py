"""A drill holding an exclusive lock (the sandbox restore holds "restore") is practice: when a run of
the shop's own needs that lock, the drill is asked to give way (GIVE_WAY_SIGNAL), GaveWay is raised
in its main thread, the lock is let go and the shop's run starts within seconds instead of being
refused. A run of the shop's own is never asked to give way, and one drill does not stop another."""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from appliance import operations
from appliance.errors import Conflict
from appliance.models import OperationRun
from tests.servers.waiting import wait_for

# A child process standing in for a drill's restore step (or an IT person's run): it takes the lock
# of the "restore" group and keeps it until it is stopped.
HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from appliance import config, operations, runtime
    from cli.wiring import register_operations, register_settings
    home, url, source, ready = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
    register_settings(); register_operations()
    settings = config.load(Path(home), environ={"APPLIANCE_DATABASE_URL": url})
    runtime.connect(settings)

    def hold(ctx):
        ready.write_text("holding")
        time.sleep(60)

    operations.register(operations.Operation("test.hold-restore-lock", "Hold", "admin", hold, exclusive="restore"))
    try:
        with operations.giving_way():
            operations.execute(settings, "test.hold-restore-lock", actor=operations.SCHEDULER, source=source,
                               show_progress=False)
    except operations.GaveWay as gave:
        print("gave way:", gave, flush=True)
        sys.exit(3)
""")


def _restored(ctx) -> str:
    return "restored"


def _operation() -> operations.Operation:
    return operations.register(operations.Operation("test.hold-restore-lock", "Hold", "admin", _restored,
                                                    exclusive="restore"))


def _start_holder(settings, tmp_path: Path, source: str) -> subprocess.Popen:
    ready = tmp_path / f"ready-{source}"
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(settings.home), settings.database.url, source, str(ready)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             cwd=Path(__file__).resolve().parents[2])
    wait_for(lambda: ready.exists() or child.poll() is not None, timeout=30, what="the holder takes the lock")
    assert child.poll() is None, child.stdout.read()
    return child


@pytest.fixture
def holder_of(settings, db, tmp_path):
    started = []

    def start(source: str) -> subprocess.Popen:
        started.append(_start_holder(settings, tmp_path, source))
        return started[-1]
    yield start
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait()


def test_it_makes_a_drill_give_way_to_a_run_of_the_shop(settings, holder_of):
    drill = holder_of("drill")
    asked = time.monotonic()

    result = operations.execute(settings, _operation().name, actor=operations.SCHEDULER, source="cli",
                                show_progress=False)

    assert result == "restored" and time.monotonic() - asked < 10
    assert drill.wait(10) == 3
    assert "gave way" in drill.stdout.read()
    runs = {r.source: r for r in OperationRun.select().where(OperationRun.operation == "test.hold-restore-lock")}
    assert runs["cli"].outcome == "ok"
    assert runs["drill"].outcome == "interrupted" and "gave way" in runs["drill"].summary


def test_it_never_stops_a_run_of_the_shop_for_another(settings, holder_of):
    shop = holder_of("cli")

    with pytest.raises(Conflict, match="is running on this box"):
        operations.execute(settings, _operation().name, actor=operations.SCHEDULER, source="runbook",
                           show_progress=False)

    assert shop.poll() is None  # still holding: nobody asked it to stop


def test_one_drill_does_not_stop_another(settings, holder_of):
    drill = holder_of("drill")

    with pytest.raises(Conflict):
        operations.execute(settings, _operation().name, actor=operations.SCHEDULER, source="drill",
                           show_progress=False)

    assert drill.poll() is None


def test_a_run_started_in_the_background_is_not_refused_for_a_drill_it_will_stop(settings, holder_of):
    holder_of("drill")

    operations._refuse_while_busy(settings, _operation(), "web")  # no Conflict: its child makes the drill give way

    with pytest.raises(Conflict):
        operations._refuse_while_busy(settings, _operation(), "drill")


def test_a_pid_that_is_no_longer_the_drills_is_not_signalled(settings, db, tmp_path):
    # The lock file names a drill by pid and start time; the pid now belongs to another process (here
    # a `sleep`, which SIGUSR1 would kill) while something else holds the lock: refused, nobody signalled.
    stranger = subprocess.Popen(["sleep", "60"])
    lock = settings.home / "run" / "operations" / "restore.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b'{"run": null, "pid": %d, "started": 1.0, "gives_way": true}' % stranger.pid)

        with pytest.raises(Conflict):
            operations.execute(settings, _operation().name, actor=operations.SCHEDULER, source="cli",
                               show_progress=False)

        assert stranger.poll() is None
    finally:
        os.close(fd)
        stranger.kill()
        stranger.wait()
