"""`failover promote --planned` and `failover status --json` (last_promotion) break a switchover into
its phases: each step from the end of the one before, in the order the steps ended (the running
follower applies the tail before it stops; without one, the promotion stops it first)."""
import json

from failover import control
from failover.holder import PROMOTION_FILE


def test_each_phase_runs_from_the_end_of_the_step_before_it():
    timeline = {"requested_at": 100.0, "stopped_writing_at": 100.1, "tail_shipped_at": 100.4,
                "took_lease_at": 100.5, "tail_received_at": 100.6, "applied_at": 100.9,
                "follower_stopped_at": 101.0, "granted_at": 101.2, "planned": True}
    assert [(name, round(s, 2)) for name, s in control.phases(timeline)] == [
        ("primary stops accepting", 0.1), ("tail shipped", 0.3), ("lease moved", 0.1), ("tail received", 0.1),
        ("tail applied", 0.3), ("follower stopped", 0.1), ("opened read-write", 0.2)]


def test_a_promotion_without_a_follower_or_a_request_starts_at_the_lease():
    timeline = {"took_lease_at": 10.0, "follower_stopped_at": 10.1, "tail_received_at": 10.6, "applied_at": 10.8,
                "granted_at": 11.0}
    assert [name for name, _ in control.phases(timeline)] == [
        "follower stopped", "tail received", "tail applied", "opened read-write"]


def test_status_shows_the_last_promotion_with_its_phases(home):
    assert control.last_promotion(home) is None
    (home / PROMOTION_FILE).parent.mkdir(exist_ok=True)
    (home / PROMOTION_FILE).write_text(json.dumps({"epoch": 3, "timeline": {"took_lease_at": 1.0, "granted_at": 1.5}}))
    assert control.last_promotion(home)["phases"] == {"opened read-write": 0.5}
