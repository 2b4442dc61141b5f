"""Server-rendered pages for store staff, managers and IT.

This module holds what every page shares: who is signed in (`g.user`), the CSRF token that every
form (and the API when called from page JavaScript) must send back, the role check of each page,
and the HTML error pages. Each area has its own blueprint module.
"""
from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app, g, request

from appliance import reports as shop_clock
from appliance.config import Settings

from . import security
from .security import requires  # re-exported: `@requires("staff")` on every view

__all__ = ["register", "requires", "settings"]


def settings() -> Settings:
    return current_app.config["SETTINGS"]


def register(app: Flask) -> None:
    from web import errors

    from . import (admin, auth, customers, drills, failover, imports, operations, ops, orders, products, receipts,
                   reports, runbooks, stock, stocktake, uptime)
    from .errors import render_error_page

    security.install(app)
    errors.html_error_handler = render_error_page
    for module in (auth, orders, receipts, stock, stocktake, customers, products, imports, reports, uptime, drills,
                   admin, ops, operations, runbooks, failover):
        app.register_blueprint(module.blueprint)
    from . import purchasing, webhooks  # suppliers and purchase orders; outbound webhooks
    app.register_blueprint(purchasing.blueprint)
    app.register_blueprint(webhooks.blueprint)
    from . import shifts  # the till's shift close
    app.register_blueprint(shifts.blueprint)

    app.add_template_filter(money)
    app.add_template_filter(when)

    @app.context_processor
    def _page_globals():
        return {"user": g.get("user"), "csrf_token": security.csrf_token, "can": security.can,
                "nav": security.navigation(), "current_path": request.path,
                "shop_zone": settings().shop.timezone}


def money(cents: int | None) -> str:
    """Integer cents as the shop reads them: 1234567 -> '12,345.67'."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{units:,}.{rest:02d}"


def when(value: datetime | str | None) -> str:
    """A stored time (UTC) as the shop's clock shows it (`shop.timezone`), to the minute."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.rstrip("Z"))
    return shop_clock.to_shop_clock(value, shop_clock.shop_zone(settings())).strftime("%Y-%m-%d %H:%M")


def from_shop_clock(value: datetime) -> datetime:
    """A time typed on a page, read on the shop's clock, as stored (naive UTC)."""
    return shop_clock.from_shop_clock(value, shop_clock.shop_zone(settings()))
