"""The pair's panel on /ops (and, read-only, on /ops/failover for managers): role, epoch, who holds
the lease and how old its renewal is, fenced and why, the etcd members this box reaches; admins get
the promote and demote buttons, which start the registered operations (failover/operations.py)
through the web's operations route. Registered when imported (cli/wiring.py `register_panels`).
"""
from __future__ import annotations

from pathlib import Path

from appliance.config import Settings
from appliance.panels import Panel, register_panel

from . import facts

TEMPLATES = Path(__file__).parent / "templates"


def pair_panel(current: Settings) -> Panel:
    section = getattr(current, "failover", None)
    if section is None or not section.enabled:
        return Panel(status="ok", summary="This box runs alone: failover is not enabled "
                                          "([failover] in appliance.toml; see docs/failover.md).")
    s = facts.pair_status(current, max_age=0)  # a person looks (after a click): the pair as it is now
    me, holder = s["box"], s["lease_holder"]
    total = len(s["members"])
    meant = facts.meant_to_hold(current)
    status, summary = _verdict(s, me, holder, total, meant)
    members = [(url, why) for url, why in s["members"].items()]
    return Panel(status=status, summary=summary, rows=_rows(s, current, total), body="ops/failover.html", data={
        "pair": s, "members": members, "demoted": facts.demoted(current), "meant_to_hold": meant,
        "is_holder": holder == me,
    })


def _verdict(s: dict, me: str, holder: str | None, total: int, meant: bool) -> tuple[str, str]:
    if holder == me and s["fenced"]:
        return "crit", f"This box ({me}) holds the lease but is fenced: {s['fenced_reason']}."
    if holder is None and s["quorum_error"]:
        return "crit", (f"This box cannot reach the etcd quorum ({s['quorum_error']}): it writes nothing, "
                        f"and cannot tell whether the other box is the primary.")
    if holder is None:
        return "crit", "Nobody holds the lease: neither box takes orders."
    if s["members_reachable"] < total:
        return "warn", (f"{s['members_reachable']} of {total} etcd members reachable: "
                        f"one more loss stops the pair (runbook witness-lost).")
    if holder != me and meant:
        return "warn", f"{holder} is the primary (epoch {s['lease_epoch']}); this box, the intended primary, stands by."
    if holder == me:
        return "ok", f"This box ({me}) is the primary (epoch {s['lease_epoch']}) and takes orders."
    return "ok", f"{holder} is the primary (epoch {s['lease_epoch']}); this box ({me}) stands by."


def _rows(s: dict, current: Settings, total: int) -> list[tuple[str, str]]:
    ttl = current.failover.lease_ttl_seconds
    epoch = f"{s['epoch']}" if s["epoch"] is not None else "unknown (etcd unreachable)"
    lease = "nobody"
    if s["lease_holder"]:
        lease = f"{s['lease_holder']} (epoch {s['lease_epoch']})"
        if s["lease_seconds_left"] is not None:
            lease += f", {s['lease_seconds_left']} s of {ttl} s left"
        if s["lease_age_seconds"] is not None:
            lease += f", renewed {s['lease_age_seconds']} s ago"
    fenced = f"yes: {s['fenced_reason']}" if s["fenced"] else "no: this box writes"
    return [("Box", f"{s['box']} ({s['role']})"), ("Epoch", f"{epoch}; the highest this box held: {s['home_epoch']}"),
            ("Lease", lease), ("Fenced", fenced), ("etcd members", f"{s['members_reachable']} of {total} reachable")]


register_panel("failover", "Failover pair", pair_panel, template_folder=TEMPLATES)
