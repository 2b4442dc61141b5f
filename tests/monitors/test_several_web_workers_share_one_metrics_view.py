"""`appliance serve` with two gunicorn workers: /metrics counts the requests of both (multiprocess
mode), the worker liveness check sees both, and the scheduler runs the monitors' jobs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from monitors import engine

from tests.servers.ports import free_port

APPLIANCE = Path(sys.executable).with_name("appliance")


@pytest.fixture
def served(db, home, settings, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    env = os.environ | {"APPLIANCE_HOME": str(home)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen([str(APPLIANCE), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                               env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: requests.get(f"{base}/readyz", timeout=1).status_code == 200, 30, process, log)
        yield base
    finally:  # also when start-up failed: never leave a server behind
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _wait(condition, seconds, process=None, log=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"serve exited: {log.read_text()[-2000:]}")
        try:
            if condition():
                return
        except requests.RequestException:  # refused while starting, or slow to answer on a busy machine
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out; serve log: {log.read_text()[-2000:] if log else '-'}")


def _families(base):
    return {f.name: f for f in text_string_to_metric_families(requests.get(f"{base}/metrics", timeout=5).text)}


def test_two_workers_share_one_metrics_view(served, settings):
    histogram_files = settings.home / "run" / "metrics"
    sent = 0
    # New connections until both workers have answered some (the kernel picks the worker).
    while sent < 40 or (len(list(histogram_files.glob("histogram_*.db"))) < 2 and sent < 400):
        requests.get(f"{served}/healthz", headers={"Connection": "close"}, timeout=5)
        sent += 1

    http = _families(served)["appliance_http_request_duration_seconds"]
    counts = [s.value for s in http.samples
              if s.name.endswith("_count") and s.labels["route"] == "/healthz"]
    assert len(list(histogram_files.glob("histogram_*.db"))) == 2
    assert sum(counts) == sent

    workers = engine.run_check("web_workers", settings)
    assert workers.value == "2" and "2 of" in workers.reason

    # The scheduler (one per box, in serve's background process) runs the checks within seconds of
    # start-up; its metrics join the workers' in the same view.
    _wait(lambda: any(s.labels.get("check") == "db_probe"
                      for s in _families(served)["appliance_check_last_run_timestamp_seconds"].samples), 20)
