"""Business checks: overdue orders, orders stuck in `pending`, stock ledger vs stock level mismatch."""
from __future__ import annotations

from appliance import inventory, orders

from . import Check, CheckContext, Result


def overdue_orders(ctx: CheckContext) -> Result:
    late = orders.overdue_orders(ctx.settings, now=ctx.now)
    hours = ctx.settings.orders.overdue_after_hours
    return Result(ctx.grade(len(late)), len(late),
                  f"{len(late)} confirmed order(s) not shipped after {hours:g} h" + _first(late))


def stuck_pending(ctx: CheckContext) -> Result:
    stuck = orders.stuck_pending(ctx.settings, now=ctx.now)
    hours = ctx.settings.orders.pending_stuck_after_hours
    return Result(ctx.grade(len(stuck)), len(stuck),
                  f"{len(stuck)} order(s) waiting for approval over {hours:g} h" + _first(stuck))


def _first(found) -> str:
    return f", oldest {found[0].number}" if found else ""


def stock_ledger(ctx: CheckContext) -> Result:
    bad = inventory.ledger_mismatches()
    reason = f"{len(bad)} stock level(s) differ from the ledger"
    if bad:
        first = bad[0]
        reason += (f", e.g. {first['sku']} at {first['location']}: on hand {first['on_hand']} "
                   f"vs ledger {first['ledger_on_hand']}, reserved {first['reserved']} vs {first['ledger_reserved']}")
    return Result(ctx.grade(len(bad)), len(bad), reason)


CHECKS = [
    Check("overdue_orders", "business", overdue_orders, "confirmed orders past the shipping deadline", 300,
          "orders-overdue", warn=1, crit=10, confirm_count=1),
    Check("stuck_pending", "business", stuck_pending, "orders waiting too long for approval", 300,
          "orders-stuck-pending", warn=1, crit=10, confirm_count=1),
    Check("stock_ledger", "business", stock_ledger, "stock levels that differ from the ledger", 900,
          "stock-ledger-mismatch", crit=1, confirm_count=1),
]
