"""Outbound webhooks for IT (admin): endpoints with their event filter, the delivery log, a test button.

The rules (URL schemes, secrets, events, signing, the outbox and its retries) are in monitors/webhooks.py.
The secret is shown once, in the answer to the form that made the endpoint (rendered, not redirected,
and sent with no-store like every page), as API tokens are; never again after that.
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from appliance.errors import AppError
from monitors import webhooks

from . import settings
from .forms import FORM, field_errors
from .security import requires

blueprint = Blueprint("webhooks", __name__)


@blueprint.get("/integrations/webhooks")
@requires("admin")
def webhook_list():
    return _list_page()


def _list_page(form=None, errors=None, status: int = 200, created=None, secret: str | None = None):
    rows = list(webhooks.WebhookEndpoint.select().order_by(webhooks.WebhookEndpoint.id))
    return render_template("webhooks/list.html", endpoints=rows, event_types=webhooks.EVENT_TYPES,
                           form=form or {}, errors=errors or {}, created=created, secret=secret), status


@blueprint.post("/integrations/webhooks")
@requires("admin")
def create_webhook():
    form = request.form
    try:
        endpoint, secret = webhooks.create_endpoint(form.get("url", ""), form.getlist("events"), g.user.username,
                                                    form.get("description", ""))
    except AppError as e:
        return _list_page(form, field_errors(e), e.status)
    return _list_page(created=endpoint, secret=secret)


@blueprint.get("/integrations/webhooks/<int:endpoint_id>")
@requires("admin")
def webhook_page(endpoint_id: int):
    endpoint = webhooks.endpoint_by_id(endpoint_id)
    return render_template("webhooks/detail.html", endpoint=endpoint, log=webhooks.delivery_log(endpoint),
                           pending=webhooks.pending(endpoint))


@blueprint.post("/integrations/webhooks/<int:endpoint_id>/test")
@requires("admin")
def test_webhook(endpoint_id: int):
    attempt = webhooks.send_test(endpoint_id, settings())
    if attempt is not None and attempt.error is None:
        flash(f"The test event was delivered (HTTP {attempt.status_code}).", "success")
    else:
        flash(f"The test event was not delivered ({attempt.error if attempt else 'not sent'}); "
              "the outbox retries it with backoff.", "warning")
    return redirect(url_for(".webhook_page", endpoint_id=endpoint_id))


@blueprint.post("/integrations/webhooks/<int:endpoint_id>/delete")
@requires("admin")
def delete_webhook(endpoint_id: int):
    try:
        webhooks.delete_endpoint(endpoint_id, g.user.username)
    except AppError as e:
        return _list_page(errors={FORM: e.message}, status=e.status)
    flash("The webhook endpoint is deleted; its undelivered events are dropped.", "success")
    return redirect(url_for(".webhook_list"))
