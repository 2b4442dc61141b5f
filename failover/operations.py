"""The failover package's operations (see appliance/operations.py): promote and demote this box; and
which box of a PostgreSQL pair runs the primary's scheduled jobs (appliance/scheduler.py)."""
from __future__ import annotations

from appliance import scheduler as box_scheduler
from appliance.operations import Context, Operation, Outcome, Param, register

from . import facts, fence  # noqa: F401  (fence registers failover's write gate)


# The etcd client (failover.quorum) is imported when an operation runs, not by every `appliance`
# command that registers the operations (~0.2-0.4 s).

def _promote(ctx: Context, planned: bool = False, accept_loss: bool = False) -> str:
    from .control import promote
    try:
        return promote(ctx.settings, planned=planned, accept_loss=accept_loss)
    finally:
        facts.forget(ctx.settings)  # the checks that verify it see the pair as it is now


def _demote(ctx: Context) -> str:
    from .control import demote
    try:
        return demote(ctx.settings)
    finally:
        facts.forget(ctx.settings)


PROMOTE = register(Operation(
    "failover.promote", "Promote this box to primary", "admin", _promote, exclusive="failover",
    record=lambda text: Outcome("ok", text), background=False,
    params=(Param("planned", bool, default=False,
                  help="Ask the current primary to hand over (maintenance) instead of refusing while it holds the lease."),
            Param("accept_loss", bool, default=False,
                  help="Take over even from a primary whose replica was behind (over max_lag_on_failover_seconds): "
                       "the orders it did not ship are lost here (`failover rejoin` on it lists them).")),
    help="Let this box take the leader lease with a new epoch and start taking orders."))
DEMOTE = register(Operation(
    "failover.demote", "Demote this box to standby", "admin", _demote, exclusive="failover",
    record=lambda text: Outcome("ok", text), background=False,
    help="Stop writing on this box and give the leader lease back; it stays standby until promoted."))


def _patroni_not_primary(settings) -> str | None:
    """On a PostgreSQL pair both boxes write through one URL to Patroni's primary: the scheduled jobs
    run once, on the box whose Patroni is the primary (the one keepalived gives the shop address)."""
    failover = settings.failover
    if not (failover.enabled and failover.engine == "patroni"):
        return None
    from .holds import patroni_verdict
    primary, said = patroni_verdict(failover.patroni.rest_api)
    return None if primary else f"{said.rstrip('.')}: the primary's box runs this"


box_scheduler.register_not_primary_check("patroni", _patroni_not_primary)
