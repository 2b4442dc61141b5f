"""What the monitors cost the box: CPU and RSS of running every default check every 10 s, and the
time to render /metrics. Prints figures against the aims (issue 4): < 1% of one core on average,
< 60 MB RSS for the monitoring part, /metrics < 20 ms.

    .venv/bin/python bench/monitors_bench.py [--minutes 3] [--interval 10]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--scrapes", type=int, default=300)
    args = parser.parse_args()
    me = psutil.Process()

    from appliance import config, runtime
    from appliance.schema import migrate
    from tests.conftest import make_home  # the same home `appliance init` leaves, without demo data
    from web import create_app
    from werkzeug.serving import make_server
    rss_core = me.memory_info().rss

    import monitors.engine  # noqa: F401 - measured: what the monitoring part adds
    import monitors.metrics  # noqa: F401
    import monitors.notify  # noqa: F401
    from monitors import engine
    from monitors.checks import enabled_checks
    from cli.wiring import extra_models
    rss_imported = me.memory_info().rss

    home = make_home(Path(tempfile.mkdtemp(prefix="monbench-")) / "home")
    settings = config.load(home)
    runtime.connect(settings)
    migrate(extra_models())
    app = create_app(settings, connect=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.monitors.readyz_url = f"http://127.0.0.1:{server.server_port}/readyz"
    checks = [c.name for c, _ in enabled_checks(settings)]
    print(f"{len(checks)} checks enabled: {', '.join(checks)}")

    rounds, durations, peak_rss = int(args.minutes * 60 / args.interval), [], 0
    cpu_start, wall_start = me.cpu_times(), time.perf_counter()
    for n in range(rounds):
        started = time.perf_counter()
        engine.run_all(settings)
        durations.append(time.perf_counter() - started)
        peak_rss = max(peak_rss, me.memory_info().rss)
        time.sleep(max(0.0, args.interval - (time.perf_counter() - started)))
    wall = time.perf_counter() - wall_start
    cpu_end = me.cpu_times()
    cpu = (cpu_end.user - cpu_start.user) + (cpu_end.system - cpu_start.system)

    client = app.test_client()
    client.get("/metrics")
    renders = []
    for _ in range(args.scrapes):
        started = time.perf_counter()
        client.get("/metrics")
        renders.append((time.perf_counter() - started) * 1000)
    renders.sort()
    server.shutdown()

    share = 100 * cpu / wall
    print(f"all checks every {args.interval:g} s for {wall / 60:.1f} min ({rounds} rounds)")
    print(f"  one round of all checks: median {statistics.median(durations) * 1000:.1f} ms, max {max(durations) * 1000:.1f} ms")
    print(f"  CPU: {cpu:.2f} s over {wall:.0f} s = {share:.2f}% of one core (aim < 1%)  {'OK' if share < 1 else 'OVER'}")
    monitoring_rss = (peak_rss - rss_core) / 2**20
    print(f"  RSS: process peak {peak_rss / 2**20:.1f} MB; core+web before monitors {rss_core / 2**20:.1f} MB; "
          f"monitors import {(rss_imported - rss_core) / 2**20:.1f} MB; monitoring part {monitoring_rss:.1f} MB "
          f"(aim < 60 MB)  {'OK' if monitoring_rss < 60 else 'OVER'}")
    p50, p95 = renders[len(renders) // 2], renders[int(len(renders) * 0.95)]
    print(f"/metrics render ({args.scrapes} scrapes through the Flask app): median {p50:.2f} ms, p95 {p95:.2f} ms, "
          f"max {renders[-1]:.2f} ms (aim < 20 ms)  {'OK' if p95 < 20 else 'OVER'}")


if __name__ == "__main__":
    main()
