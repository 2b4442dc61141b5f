"""A job that falls due while the scheduler is still starting (a loaded box: its process took seconds
to come up) runs late instead of being skipped with APScheduler's "missed by" warning, which its
default one-second grace gives."""
import threading
from datetime import datetime, timedelta, timezone

from appliance.scheduler import SingleScheduler


def test_a_job_due_seconds_ago_runs_once_when_the_scheduler_starts(tmp_path):
    ran = threading.Event()
    runs = []

    def configure(scheduler):
        late = datetime.now(timezone.utc) - timedelta(seconds=5)
        scheduler.add_job(lambda: (runs.append(1), ran.set()), "interval", hours=1, id="late", next_run_time=late)

    holder = SingleScheduler(tmp_path / "scheduler.lock", configure, retry_seconds=0.1)
    holder.start()
    try:
        assert ran.wait(10), "the late job was skipped"
        assert runs == [1]
    finally:
        holder.stop()
