"""/ops/failover: the pair's panel (failover/panel.py) for managers, read-only; admins see the same
panel on /ops with the promote and demote buttons (they post to the operations route)."""
from __future__ import annotations

import logging

from flask import Blueprint, render_template

from appliance import panels

from . import settings
from .security import requires

log = logging.getLogger(__name__)
blueprint = Blueprint("failover", __name__)


@blueprint.get("/ops/failover")
@requires("manager")
def pair_page():
    entry = next((e for e in panels.PANELS if e.key == "failover"), None)
    if entry is None:
        shown = panels.Panel(status="unknown", summary="The failover panel is not registered on this box.")
    else:
        try:
            shown = entry.render(settings())
        except Exception:  # noqa: BLE001 - like /ops: a broken panel says so, the page stays
            log.exception("failover panel failed")
            shown = panels.Panel(status="unknown", summary="This panel failed to load; see the server log.")
    shown.title, shown.key = "Failover pair", "failover"
    return render_template("failover/pair.html", panel=shown)
