"""/healthz (process alive), /readyz (this box accepts writes), /metrics (Prometheus text)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

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
    # The monitors package replaces this body with its registry (issue 4).
    return Response("", mimetype="text/plain; version=0.0.4")
