"""What was said, both ways, reads the same in the admin, the API and the tools."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from model_bakery import baker

from whatsapp.models import Contact, InboundMessage, OutboundKind, OutboundMessage
from whatsapp.outgoing import (
    Button,
    ButtonsMessage,
    ListMessage,
    ListRow,
    ListSection,
    TextMessage,
    read_receipt_payload,
)
from whatsapp.rendering import Choice, inbound_text, render_payload
from whatsapp.selectors import contact_timeline

RAFFLES = ListMessage(
    body="Pick a raffle",
    button="Raffles",
    sections=[ListSection("Open", [ListRow("r:1", "Car", "Ticket $10"), ListRow("r:2", "Bike")])],
)
HOW_MANY = ButtonsMessage(body="How many?", buttons=[Button("q:1", "1"), Button("q:2", "2")])


def test_a_list_reads_as_its_body_button_section_and_numbered_rows():
    text, choices = render_payload(RAFFLES.graph_payload("549"))

    assert text == "Pick a raffle\n[Raffles]\n  Open\n  1. Car \u2014 Ticket $10\n  2. Bike"
    assert choices == [Choice("r:1", "Car", True), Choice("r:2", "Bike", True)]


def test_buttons_read_numbered_and_ids_show_only_when_asked():
    payload = HOW_MANY.graph_payload("549")

    assert render_payload(payload)[0] == "How many?\n  (1) 1\n  (2) 2"
    assert render_payload(payload, show_ids=True)[0] == "How many?\n  (1) 1 (q:1)\n  (2) 2 (q:2)"


def test_a_read_receipt_is_not_read_as_a_message():
    assert render_payload(read_receipt_payload("wamid.X")) == (None, [])


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"msg_type": "text", "text": "hola"}, "hola"),
        ({"msg_type": "interactive", "reply_title": "Car"}, "[tapped] Car"),
        ({"msg_type": "image", "media_id": "m1", "caption": "my transfer"}, "[image] my transfer"),
        ({"msg_type": "document", "media_id": "m2", "media_filename": "t.pdf"}, "[document] t.pdf"),
        ({"msg_type": "sticker"}, "[sticker]"),
    ],
)
def test_what_a_buyer_sent_reads_as_text_tap_or_file(fields, expected):
    assert inbound_text(InboundMessage(**fields)) == expected


@pytest.mark.django_db
def test_the_timeline_is_newest_first_without_read_receipts_and_cut_at_the_limit():
    buyer = baker.make(Contact, wa_id="5491100000001")
    start = timezone.now() - timedelta(minutes=10)
    for minute in range(3):
        baker.make(
            InboundMessage,
            contact=buyer,
            msg_type="text",
            text=f"in {minute}",
            wa_message_id=f"w{minute}",
            sent_at=start + timedelta(minutes=2 * minute),
        )
    said = OutboundMessage.objects.create(
        contact=buyer, kind="buttons", payload=HOW_MANY.graph_payload(buyer.wa_id)
    )
    OutboundMessage.objects.filter(pk=said.pk).update(created_at=start + timedelta(minutes=3))
    OutboundMessage.objects.create(
        contact=buyer, kind=OutboundKind.READ_RECEIPT, payload=read_receipt_payload("w2")
    )

    entries = contact_timeline(contact=buyer, limit=3)

    assert [(e.direction, e.text) for e in entries] == [
        ("in", "in 2"),
        ("out", "How many?\n  (1) 1\n  (2) 2"),
        ("in", "in 1"),
    ]


@pytest.mark.django_db
def test_the_contact_page_shows_the_conversation_oldest_first(admin_client):
    buyer = baker.make(Contact, wa_id="5491100000002")
    baker.make(
        InboundMessage,
        contact=buyer,
        msg_type="text",
        text="hola",
        wa_message_id="w1",
        sent_at=timezone.now() - timedelta(minutes=1),
    )
    OutboundMessage.objects.create(
        contact=buyer, kind="text", payload=TextMessage(body="¡Bienvenida!").graph_payload("x")
    )

    page = admin_client.get(f"/admin/whatsapp/contact/{buyer.pk}/change/").content.decode()

    timeline = page[page.index('id="conversation-timeline"') :]
    assert timeline.index("hola") < timeline.index("¡Bienvenida!")
