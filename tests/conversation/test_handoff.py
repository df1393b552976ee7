"""A buyer who asks for a person gets one: flagged, the bot quiet, the operator's reply
delivered through the outbox, and the bot back when handed back or when the quiet time ends."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from conversation.models import Conversation
from conversation.render import render_payload
from project.dashboard import build_dashboard
from tests.support.signing import signed_post
from whatsapp.models import OutboundMessage
from whatsapp.simulator import text_message_payload

WA_ID = "5491100000001"


def say(client, text: str) -> list[str]:
    """The buyer writes; returns what was queued for them in answer (maybe nothing)."""
    before = OutboundMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    assert signed_post(client, text_message_payload(WA_ID, text, name="Ana")).status_code == 200
    rows = OutboundMessage.objects.filter(pk__gt=before, contact__wa_id=WA_ID).exclude(
        kind="read_receipt"
    )
    return [render_payload(row.payload)[0] or "" for row in rows.order_by("pk")]


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("op", "op@example.com", "a-long-password-1")


@pytest.mark.parametrize(
    "words", ["quiero hablar con alguien", "asesor", "HUMANO", "I want a human operator"]
)
def test_asking_for_a_person_flags_the_conversation(client, raffle, words):
    [answer] = say(client, words)

    assert "a person from our team will answer" in answer
    conversation = Conversation.objects.get(contact__wa_id=WA_ID)
    assert conversation.handoff_since is not None
    assert [c.pk for c in build_dashboard().waiting_for_a_person] == [conversation.pk]


def test_a_long_question_goes_to_a_person(client, raffle):
    question = " ".join(["mi transferencia salio de otra cuenta a nombre de mi esposo"] * 3)

    [answer] = say(client, question)

    assert "person" in answer


def test_handoff_flagged_bot_silent_operator_reply_delivered_bot_back(
    client, raffle, operator, settings
):
    settings.HANDOFF_QUIET_MINUTES = 60
    say(client, "hola")
    say(client, "asesor")

    # The bot is silent while a person has the conversation.
    assert say(client, "hola?") == []
    assert say(client, "menu") == []

    # The landing page lists the buyer; the contact page shows the flag and the reply box.
    client.force_login(operator)
    assert "waiting-for-a-person" in client.get(reverse("admin:index")).content.decode()
    contact_id = Conversation.objects.get(contact__wa_id=WA_ID).contact_id
    page = client.get(reverse("admin:whatsapp_contact_change", args=[contact_id])).content.decode()
    assert 'id="handoff-flag"' in page and 'id="operator-reply"' in page

    # The operator answers through the outbox.
    client.post(
        reverse("admin:conversation_handoff_reply", args=[contact_id]),
        {"operator_reply": "Hola Ana, soy Marta. Ya revisamos tu pago."},
    )
    last = OutboundMessage.objects.filter(contact__wa_id=WA_ID).latest("pk")
    assert render_payload(last.payload)[0] == "Hola Ana, soy Marta. Ya revisamos tu pago."
    assert say(client, "gracias!") == []

    # Handed back: the buyer is told, and the bot answers again.
    client.post(reverse("admin:conversation_handoff_back", args=[contact_id]))
    assert (
        "bot is back"
        in render_payload(
            OutboundMessage.objects.filter(contact__wa_id=WA_ID).latest("pk").payload
        )[0]
    )
    assert Conversation.objects.get(contact__wa_id=WA_ID).handoff_since is None
    [answer] = say(client, "hi")
    assert "Big Car Raffle" in answer


def test_the_bot_comes_back_by_itself_when_the_quiet_time_ends(client, raffle):
    say(client, "humano")
    Conversation.objects.filter(contact__wa_id=WA_ID).update(
        handoff_until=timezone.now() - dt.timedelta(minutes=1)
    )

    [answer] = say(client, "hi")

    assert "Big Car Raffle" in answer
    assert Conversation.objects.get(contact__wa_id=WA_ID).handoff_since is None
    assert build_dashboard().waiting_for_a_person == []


def test_an_operator_cannot_write_freely_outside_the_24_hour_window(client, raffle, operator):
    say(client, "asesor")
    contact = Conversation.objects.get(contact__wa_id=WA_ID).contact
    type(contact).objects.filter(pk=contact.pk).update(
        last_inbound_at=timezone.now() - dt.timedelta(hours=25)
    )
    before = OutboundMessage.objects.count()
    client.force_login(operator)

    response = client.post(
        reverse("admin:conversation_handoff_reply", args=[contact.pk]),
        {"operator_reply": "Hola"},
        follow=True,
    )

    assert "24 hours" in response.content.decode()
    assert OutboundMessage.objects.count() == before


def test_an_empty_reply_sends_nothing(client, raffle, operator):
    say(client, "asesor")
    contact_id = Conversation.objects.get(contact__wa_id=WA_ID).contact_id
    before = OutboundMessage.objects.count()
    client.force_login(operator)

    response = client.post(
        reverse("admin:conversation_handoff_reply", args=[contact_id]),
        {"operator_reply": "   "},
        follow=True,
    )

    assert response.status_code == 200
    assert OutboundMessage.objects.count() == before
