"""The failover package's operations (see appliance/operations.py): promote and demote this box."""
from __future__ import annotations

from appliance.operations import Context, Operation, Outcome, Param, register

from . import facts, fence  # noqa: F401  (fence registers failover's write gate)


# The etcd client (failover.quorum) is imported when an operation runs, not by every `appliance`
# command that registers the operations (~0.2-0.4 s).

def _promote(ctx: Context, planned: bool = False) -> str:
    from .control import promote
    try:
        return promote(ctx.settings, planned=planned)
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
                  help="Ask the current primary to hand over (maintenance) instead of refusing while it holds the lease."),),
    help="Let this box take the leader lease with a new epoch and start taking orders."))
DEMOTE = register(Operation(
    "failover.demote", "Demote this box to standby", "admin", _demote, exclusive="failover",
    record=lambda text: Outcome("ok", text), background=False,
    help="Stop writing on this box and give the leader lease back; it stays standby until promoted."))
