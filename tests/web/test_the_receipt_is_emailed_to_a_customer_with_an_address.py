"""A paid sale for a customer with an e-mail address sends the receipt to that address over the
box's SMTP settings (a real SMTP server on 127.0.0.1, STARTTLS and sign-in) through the monitors'
outbox, so a silent or failing SMTP server never holds the till: the outbox job sends it, and retries
a refusal; the order page sends it again on request; without an address the page says why."""
from __future__ import annotations

import re
import socket
import time
from datetime import timedelta
from email import message_from_bytes, policy

import pytest

from appliance import customers, orders, payments
from appliance.models import Order, Payment, utcnow
from monitors import notify
from monitors.models import Notification

from .web_helpers import post_form



@pytest.fixture
def mail_settings(settings, smtp_server):
    settings.shop.name, settings.shop.tax_number = "Corner Tea House", "DE123456789"
    return smtp_server.serve(settings, "till@corner.example")


def form_key(client) -> str:
    return re.search(r'name="form_key" value="([^"]+)"', client.get("/orders/new").get_data(as_text=True)).group(1)


def test_a_paid_sale_e_mails_the_receipt_to_the_customer(staff, make_product, mail_settings, smtp_server):
    make_product("TEA", 350, stock=10, name="Green tea")
    ana = customers.create_customer({"name": "Ana Lima", "email": "ana@example.org"}, "test")
    answer = post_form(staff, "/orders/new", {
        "form_key": form_key(staff), "channel": "store", "line_sku": ["TEA"], "line_qty": ["2"], "customer_id": str(ana.id),
        "pay_method": ["cash"], "pay_amount": ["7.00"], "pay_tendered": ["10.00"]}, follow_redirects=True)
    assert "Receipt on its way to ana@example.org." in answer.get_data(as_text=True)
    assert smtp_server.mailbox.messages == []                 # queued: the till did not wait for SMTP
    assert notify.deliver_due(mail_settings) == {"delivered": 1, "failed": 0}   # the monitors' outbox job
    (envelope,) = smtp_server.mailbox.messages
    assert envelope.rcpt_tos == ["ana@example.org"] and envelope.mail_from == "till@corner.example"
    mail = message_from_bytes(envelope.original_content, policy=policy.default)
    assert mail["Subject"] == "Receipt SO-000001 · Corner Tea House"
    body = mail.get_body(("plain",)).get_content()
    for shown in ("Corner Tea House", "Tax number: DE123456789", "2 x Green tea (TEA) @ 3.50 = 7.00", "Total: 7.00",
                  "Paid cash: 7.00 (tendered 10.00, change 3.00)"):
        assert shown in body
    assert 'id="shop-name">Corner Tea House<' in mail.get_body(("html",)).get_content()
    assert smtp_server.mailbox.logins == [(smtp_server.username, True)]


def test_the_order_page_sends_the_receipt_again(staff, make_product, mail_settings, smtp_server):
    make_product("TEA", 350, stock=10)
    ana = customers.create_customer({"name": "Ana Lima", "email": "ana@example.org"}, "test")
    order, _ = orders.create_order(mail_settings, channel="store", lines=[orders.LineRequest("TEA", 1)], actor="sam",
                                   customer=ana.id, paid_with=payments.parse([{"method": "card", "amount_cents": 350}]))
    assert 'id="email-receipt"' in staff.get(f"/orders/{order.number}").get_data(as_text=True)
    answer = post_form(staff, f"/orders/{order.number}/receipt/email", follow_redirects=True)
    assert "Receipt on its way to ana@example.org." in answer.get_data(as_text=True)
    notify.deliver_due(mail_settings)
    assert [e.rcpt_tos for e in smtp_server.mailbox.messages] == [["ana@example.org"]]


def test_smtp_refusing_the_sign_in_keeps_the_receipt_in_the_outbox_until_it_goes(staff, make_product, mail_settings,
                                                                                  smtp_server, tmp_path):
    (tmp_path / "smtp.password").write_text("wrong-pass")
    make_product("TEA", 350, stock=10)
    ana = customers.create_customer({"name": "Ana Lima", "email": "ana@example.org"}, "test")
    answer = post_form(staff, "/orders/new", {
        "form_key": form_key(staff), "channel": "store", "line_sku": ["TEA"], "line_qty": ["1"], "customer_id": str(ana.id),
        "pay_method": ["card"], "pay_amount": ["3.50"], "pay_tendered": [""]}, follow_redirects=True)
    assert "Receipt on its way to ana@example.org." in answer.get_data(as_text=True)
    assert Order.get().status == "delivered" and Payment.select().count() == 1
    assert notify.deliver_due(mail_settings) == {"delivered": 0, "failed": 1}
    waiting = Notification.get(Notification.check == "receipt:SO-000001")
    assert "SMTPAuthenticationError" in waiting.last_error and "wrong-pass" not in waiting.last_error
    (tmp_path / "smtp.password").write_text("s3cret-pass\n")   # fixed: the next attempt sends it
    assert notify.deliver_due(mail_settings, now=utcnow() + timedelta(hours=1)) == {"delivered": 1, "failed": 0}
    assert [e.rcpt_tos for e in smtp_server.mailbox.messages] == [["ana@example.org"]]


def test_a_silent_smtp_server_never_holds_the_till(staff, make_product, mail_settings):
    with socket.create_server(("127.0.0.1", 0)) as silent:   # takes the connection, never says hello
        mail_settings.monitors.smtp.port = silent.getsockname()[1]
        make_product("TEA", 350, stock=10)
        ana = customers.create_customer({"name": "Ana Lima", "email": "ana@example.org"}, "test")
        started = time.monotonic()
        answer = post_form(staff, "/orders/new", {
            "form_key": form_key(staff), "channel": "store", "line_sku": ["TEA"], "line_qty": ["1"],
            "customer_id": str(ana.id), "pay_method": ["cash"], "pay_amount": ["3.50"], "pay_tendered": [""]})
        assert answer.status_code == 302
        assert time.monotonic() - started < mail_settings.monitors.smtp.timeout_seconds   # no SMTP wait in it
    assert Notification.get(Notification.check == "receipt:SO-000001").delivered_at is None


def test_a_walk_in_sale_sends_nothing(staff, make_product, mail_settings, smtp_server):
    make_product("TEA", 350, stock=10)
    post_form(staff, "/orders/new", {"form_key": form_key(staff), "channel": "store", "line_sku": ["TEA"],
                                     "line_qty": ["1"], "pay_method": ["cash"], "pay_amount": ["3.50"], "pay_tendered": [""]})
    assert Order.get().status == "delivered" and Notification.select().count() == 0


def test_without_smtp_settings_the_page_says_e_mail_is_not_set_up(staff, make_product, settings):
    make_product("TEA", 350, stock=10)
    ana = customers.create_customer({"name": "Ana Lima", "email": "ana@example.org"}, "test")
    order, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 1)], actor="sam",
                                   customer=ana.id, paid_with=payments.parse([{"method": "card", "amount_cents": 350}]))
    answer = post_form(staff, f"/orders/{order.number}/receipt/email", follow_redirects=True)
    assert "E-mail is not set up on this box (monitors.smtp.host in appliance.toml)" in answer.get_data(as_text=True)
