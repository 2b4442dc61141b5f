"""Sending a draft e-mails it to the supplier's address over the box's SMTP settings (a real SMTP server on
127.0.0.1, STARTTLS and sign-in) with the order as a PDF attachment, and only then is the order "sent";
with the SMTP server down it stays a draft and the page says why."""
from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from appliance import purchasing, replenishment
from tests.monitors.monitor_servers import free_port
from tests.web.web_helpers import post_form



@pytest.fixture
def mail_settings(settings, smtp_server):
    settings.shop.name = "Corner Tea House"
    return smtp_server.serve(settings, "buying@corner.example")


@pytest.fixture
def draft(settings, stock_product, supplier):
    stock_product("TEA", stock=0, reorder_point=6)
    supplier("Leaf & Co", email="orders@leaf.example", carries={"TEA": (125, 6)})
    (po,) = purchasing.create_from_suggestions(replenishment.suggestions(settings), "maria")
    return po


def test_the_supplier_gets_the_order_with_its_pdf_and_the_order_is_sent(draft, mail_settings, manager, smtp_server):
    answer = post_form(manager, f"/purchasing/{draft.id}/send", follow_redirects=True)
    assert f"E-mailed {draft.number} to orders@leaf.example." in answer.get_data(as_text=True)
    (envelope,) = smtp_server.mailbox.messages
    assert envelope.rcpt_tos == ["orders@leaf.example"] and envelope.mail_from == "buying@corner.example"
    mail = message_from_bytes(envelope.original_content, policy=policy.default)
    assert mail["Subject"] == f"Purchase order {draft.number} · Corner Tea House"
    assert "6 x Product TEA (TEA) @ 1.25" in mail.get_body(("plain",)).get_content()
    (pdf,) = [part for part in mail.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == f"{draft.number}.pdf" and pdf.get_content().startswith(b"%PDF-")
    sent = purchasing.purchase_order(draft.id)
    assert (sent.status, sent.sent_to) == ("sent", "orders@leaf.example")
    again = post_form(manager, f"/purchasing/{draft.id}/send")
    assert again.status_code == 409 and len(smtp_server.mailbox.messages) == 1


def test_with_the_smtp_server_down_the_order_stays_a_draft_and_the_page_says_why(draft, manager, settings):
    smtp = settings.monitors.smtp
    smtp.host, smtp.port, smtp.timeout_seconds = "127.0.0.1", free_port(), 5  # nothing listens there
    answer = post_form(manager, f"/purchasing/{draft.id}/send")
    assert answer.status_code == 422
    assert "The purchase order could not be e-mailed: SMTP 127.0.0.1" in answer.get_data(as_text=True)
    assert purchasing.purchase_order(draft.id).status == "draft"
    pdf = manager.get(f"/purchasing/{draft.id}/pdf")  # to print and send another way
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
