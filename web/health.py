"""/healthz (process alive), /readyz (this box accepts writes), /metrics (Prometheus text)."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify

from appliance import health as core_health
from appliance.config import ConfigError
from appliance.errors import ServiceUnavailable

from . import transport

log = logging.getLogger(__name__)

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify({"status": "alive"})


@blueprint.get("/readyz")
def readyz():
    ready, reason = core_health.accepts_writes()
    body = {"status": "ready" if ready else "not ready", "reason": reason}
    return jsonify(body), (200 if ready else 503)


@blueprint.get("/metrics")
def metrics():
    from monitors import metrics as monitor_metrics
    settings = current_app.config["SETTINGS"]
    try:
        transport.check_metrics_access(settings)  # 403 outside server.metrics_networks, 401 without the token
    except ConfigError as e:
        log.error("/metrics refused: %s", e)
        raise ServiceUnavailable("/metrics is not available: its token file cannot be used (see the log).") from None
    body = monitor_metrics.render(settings)
    return Response(body, content_type=monitor_metrics.CONTENT_TYPE)
