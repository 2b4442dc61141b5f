"""Whatever the number of workers, one scheduler runs; when its holder stops, another takes over."""
import time

from appliance.scheduler import SingleScheduler


def _wait(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_only_one_of_several_claimants_runs_and_another_takes_over(tmp_path):
    lock = tmp_path / "scheduler.lock"
    claimants = [SingleScheduler(lock, lambda s: None, retry_seconds=0.1) for _ in range(3)]
    for c in claimants:
        c.start()
    assert _wait(lambda: sum(c.running for c in claimants) == 1)
    time.sleep(0.3)
    assert sum(c.running for c in claimants) == 1
    holder = next(c for c in claimants if c.running)
    holder.stop()
    rest = [c for c in claimants if c is not holder]
    assert _wait(lambda: sum(c.running for c in rest) == 1)
    for c in rest:
        c.stop()
