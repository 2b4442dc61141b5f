"""/healthz (process alive), /readyz (this box accepts writes), /metrics (Prometheus text)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from appliance import health as core_health

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
    body = monitor_metrics.render(current_app.config["SETTINGS"])
    return Response(body, content_type=monitor_metrics.CONTENT_TYPE)
