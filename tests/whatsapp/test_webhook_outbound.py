"""The webhook meets the outbound side: statuses reach OutboundMessage rows, and a dry-run replay
shows what the bot would have said."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tests.support.signing import FIXTURES, load_fixture
from whatsapp import simulator
from whatsapp.models import Contact, InboundMessage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("whatsapp_settings")]

OUT = "wamid.HBgNNTQ5MTE1NTU1MDEwMRUCABEYEjQ4QzU0RjZCNTZGRTlGQ0Y5MgA="


def _sent_message():
    from whatsapp.models import OutboundMessage

    contact = Contact.objects.create(wa_id="5491155550101")
    return OutboundMessage.objects.create(
        contact=contact,
        kind="text",
        payload={"type": "text", "text": {"body": "hola"}},
        status="sent",
        wa_message_id=OUT,
    )


def test_statuses_batched_out_of_order_end_at_the_furthest_one():
    outbound = _sent_message()

    result = simulator.deliver(load_fixture("statuses_batched_out_of_order"))

    outbound.refresh_from_db()
    assert (result.status_code, result.errors) == (200, 0)
    assert outbound.status == "read"


def test_a_failed_status_marks_the_message_failed_with_its_code():
    from whatsapp.models import OutboundMessage

    contact = Contact.objects.create(wa_id="5491155550101")
    failed_id = load_fixture("status_failed")["entry"][0]["changes"][0]["value"]["statuses"][0]
    outbound = OutboundMessage.objects.create(
        contact=contact, kind="text", payload={}, status="sent", wa_message_id=failed_id["id"]
    )

    simulator.deliver(load_fixture("status_failed"))

    outbound.refresh_from_db()
    assert outbound.status == "failed"
    assert "131047" in outbound.last_error_code


def test_a_status_for_an_unknown_id_is_kept_for_later():
    from whatsapp.models import PendingStatus

    result = simulator.deliver(simulator.status_payload("wamid.NOT-YET-KNOWN", "delivered"))

    assert result.statuses == 1
    assert PendingStatus.objects.filter(wa_message_id="wamid.NOT-YET-KNOWN").exists()


def buttons_bot(message: InboundMessage) -> None:
    from whatsapp.outgoing import Button, ButtonsMessage
    from whatsapp.services.outbox import queue_message

    queue_message(
        contact=message.contact,
        message=ButtonsMessage(
            body="How many numbers?", buttons=[Button("qty:1", "1"), Button("qty:2", "2")]
        ),
    )


def test_dry_run_prints_the_replies_and_keeps_none(whatsapp_settings):
    from whatsapp.models import OutboundMessage

    whatsapp_settings.WHATSAPP_INBOUND_HANDLER = "tests.whatsapp.test_webhook_outbound.buttons_bot"
    out = io.StringIO()

    call_command("replay_webhook", str(FIXTURES / "text.json"), "--dry-run", stdout=out)

    assert "-> 5491155550101: How many numbers?" in out.getvalue()
    assert "(1) 1 (qty:1)" in out.getvalue()
    assert not OutboundMessage.objects.exists()
