"""Request latency for /metrics, and the pid file that proves this web worker is alive."""
from __future__ import annotations

import os
import time

from flask import Flask, g, request

from appliance.config import Settings
from monitors import liveness, metrics

_fork_hook_installed = False


def install(app: Flask, settings: Settings) -> None:
    histogram = metrics.http_histogram()

    @app.before_request
    def _start_timer():
        g._request_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("_request_started", None)
        if started is not None:
            # The route pattern, not the path: one series per endpoint however many SKUs exist.
            route = request.url_rule.rule if request.url_rule else "unmatched"
            histogram.labels(request.method, route, str(response.status_code)).observe(time.perf_counter() - started)
        return response

    _announce(settings)


def _announce(settings: Settings) -> None:
    """gunicorn may build the app before forking workers: announce again in every child."""
    global _fork_hook_installed
    liveness.announce_web_worker(settings)
    if not _fork_hook_installed:
        os.register_at_fork(after_in_child=lambda: liveness.announce_web_worker(settings))
        _fork_hook_installed = True
