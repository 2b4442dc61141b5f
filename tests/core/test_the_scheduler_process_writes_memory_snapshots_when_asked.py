"""With APPLIANCE_TRACEMALLOC set (bench/soak_bench.py --tracemalloc), the process holding the
scheduler writes tracemalloc snapshots that can be compared, with its RSS and malloc's heap beside
them, and stops tracing when it stops."""
import json
import threading
import time
import tracemalloc

from appliance.scheduler import trace_memory


def test_snapshots_are_written_until_stopped_and_show_what_grew(tmp_path):
    stop = threading.Event()
    kept = []
    thread = trace_memory(tmp_path / "snaps", stop, every=0.05)
    deadline = time.monotonic() + 10
    while len(list((tmp_path / "snaps").glob("*.snapshot"))) < 3 and time.monotonic() < deadline:
        kept.append(bytearray(200_000))  # grows between snapshots
        time.sleep(0.05)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert not tracemalloc.is_tracing()
    snaps = sorted((tmp_path / "snaps").glob("*.snapshot"))
    assert len(snaps) >= 3
    first, last = tracemalloc.Snapshot.load(str(snaps[0])), tracemalloc.Snapshot.load(str(snaps[-1]))
    grew = last.compare_to(first, "lineno")[0]
    assert grew.size_diff > 100_000
    assert grew.traceback[0].filename == __file__
    lines = [json.loads(line) for line in next((tmp_path / "snaps").glob("*-memory.jsonl")).read_text().splitlines()]
    assert len(lines) == len(snaps)
    assert lines[-1]["traced"] > lines[0]["traced"] and lines[-1]["rss"] > 0
