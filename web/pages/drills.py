"""Restore drills for managers (/reports/drills): per runbook and target, the targets against what
each drill achieved, the RTO trend, the slowest phases, the misses; and the same report as a file
to forward to an auditor (/reports/drills/download), byte for byte what `appliance drill report`
writes. The figures come from the drills' evidence files (runbooks/report.py)."""
from __future__ import annotations

from flask import Blueprint, Response, render_template
from markupsafe import Markup

from appliance.models import utcnow
from runbooks import report

from . import settings
from .security import requires

blueprint = Blueprint("drills", __name__)


@blueprint.get("/reports/drills")
@requires("manager")
def drills_page():
    return render_template("drills.html", body=Markup(report.render_body(settings(), utcnow())))


@blueprint.get("/reports/drills/download")
@requires("manager")
def drills_download():
    return Response(report.render_html(settings(), utcnow()), mimetype="text/html",
                    headers={"Content-Disposition": 'attachment; filename="restore-drills.html"'})
