"""Handing a buyer to a person: the flag, the bot's silence, the operator's replies, the return.

A buyer who asks for a person ("asesor", "humano", a long question) is flagged for the operators
and the bot stays quiet for them for `HANDOFF_QUIET_MINUTES`, or until an operator hands the
conversation back. Operators answer from the contact's admin page; their words go through the
WhatsApp outbox like every reply, and only inside the 24-hour window Meta allows free text in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversation import replies
from conversation.machine import InboundKind
from conversation.models import Conversation
from conversation.parsing import asks_for_person
from conversation.services import conversation_for
from whatsapp.models import Contact, OutboundMessage
from whatsapp.outgoing import TextMessage
from whatsapp.services.outbox import queue_message

__all__ = [
    "HandoffRefused",
    "bot_is_quiet",
    "hand_back",
    "reply_as_operator",
    "screen",
    "start_handoff",
    "waiting_for_a_person",
]

# WhatsApp's own limit on a text body.
_TEXT_LIMIT = 4096


class HandoffRefused(Exception):
    """An operator's reply that cannot be sent; the message says why, for the admin."""

    def __init__(self, *, code: str, detail: str) -> None:
        self.code = code
        super().__init__(detail)


def _quiet_until(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(minutes=settings.HANDOFF_QUIET_MINUTES)


def bot_is_quiet(conversation: Conversation, *, now: dt.datetime) -> bool:
    """Whether the bot must not answer this buyer now (a person has the conversation)."""
    return conversation.handoff_until is not None and conversation.handoff_until > now


def waiting_for_a_person(*, now: dt.datetime | None = None) -> Any:
    """Conversations a person should answer, oldest request first (the landing page's list)."""
    return (
        Conversation.objects.filter(handoff_until__gt=now or timezone.now())
        .select_related("contact")
        .order_by("handoff_since", "pk")
    )


def screen(*, conversation: Conversation, inbound: Any, now: dt.datetime) -> bool:
    """Before the bot answers: True when a person has (or now takes) this message.

    Files still reach the bot while it is quiet: a payment proof must stop the clock whoever is
    talking to the buyer. A quiet time that has run out ends here, lazily.
    """
    if inbound.kind == InboundKind.MEDIA:
        return False
    if bot_is_quiet(conversation, now=now):
        return True
    if conversation.handoff_since is not None:
        Conversation.objects.filter(pk=conversation.pk).update(
            handoff_since=None, handoff_until=None, handoff_reason=""
        )
    if inbound.kind == InboundKind.TEXT and asks_for_person(inbound.text):
        start_handoff(conversation=conversation, reason=inbound.text, now=now)
        return True
    return False


def start_handoff(*, conversation: Conversation, reason: str, now: dt.datetime) -> None:
    """Flag the conversation and tell the buyer a person will answer (inside the caller's
    transaction: the handler's, which holds the conversation's row lock)."""
    Conversation.objects.filter(pk=conversation.pk).update(
        handoff_since=now,
        handoff_until=_quiet_until(now),
        handoff_reason=" ".join(reason.split())[:300],
        updated_at=now,
    )
    queue_message(contact=conversation.contact, message=replies.handoff_started())


@transaction.atomic
def reply_as_operator(*, contact: Contact, text: str, by: Any = None) -> OutboundMessage:
    """Send an operator's own words to the buyer and keep the bot quiet while they talk."""
    body = (text or "").strip()
    if not body:
        raise HandoffRefused(code="empty_reply", detail=_("Write a message first."))
    if len(body) > _TEXT_LIMIT:
        raise HandoffRefused(
            code="reply_too_long",
            detail=f"A WhatsApp message holds at most {_TEXT_LIMIT} characters.",
        )
    if not contact.window_open:
        raise HandoffRefused(
            code="window_closed",
            detail=_(
                "The buyer last wrote more than 24 hours ago: WhatsApp allows free text only "
                "within 24 hours of their last message."
            ),
        )
    now = timezone.now()
    conversation = conversation_for(contact=contact, lock=True)
    Conversation.objects.filter(pk=conversation.pk).update(
        handoff_since=conversation.handoff_since or now,
        handoff_until=_quiet_until(now),
        updated_at=now,
    )
    return queue_message(contact=contact, message=TextMessage(body=body))


@transaction.atomic
def hand_back(*, contact: Contact, tell_buyer: bool = True) -> None:
    """The bot answers this buyer again; the buyer is told how to go on."""
    conversation = conversation_for(contact=contact, lock=True)
    was_quiet = conversation.handoff_since is not None
    Conversation.objects.filter(pk=conversation.pk).update(
        handoff_since=None, handoff_until=None, handoff_reason="", updated_at=timezone.now()
    )
    if was_quiet and tell_buyer and contact.window_open:
        queue_message(contact=contact, message=replies.handoff_ended())
