"""The monitors watching themselves: alerts that cannot be delivered must show somewhere."""
from __future__ import annotations

from peewee import fn

from ..models import Notification
from . import Check, CheckContext, Result, ok


def alert_delivery(ctx: CheckContext) -> Result:
    oldest = (Notification.select(fn.MIN(Notification.created_at), fn.COUNT(Notification.id))
              .where(Notification.undelivered_alert())
              .scalar(as_tuple=True))
    first, waiting = oldest
    if not waiting:
        return ok(0, "every alert delivered")
    age_minutes = (ctx.now - first).total_seconds() / 60
    last_error = (Notification.select(Notification.last_error)
                  .where(Notification.undelivered_alert() & Notification.last_error.is_null(False))
                  .order_by(Notification.id.desc()).scalar())
    reason = f"{waiting} alert(s) undelivered, oldest {age_minutes:.0f} min" + (f"; last error: {last_error}" if last_error else "")
    return Result(ctx.grade(age_minutes), round(age_minutes, 1), reason)


CHECKS = [
    Check("alert_delivery", "monitors", alert_delivery, "minutes the oldest undelivered alert has waited", 60,
          "alerts-undelivered", warn=15, crit=120, confirm_count=1),
]
