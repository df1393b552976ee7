"""Reads of WhatsApp data shared by the admin and the API: a buyer's conversation both ways."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from whatsapp.models import (
    Contact,
    InboundMessage,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
)
from whatsapp.rendering import inbound_text, render_payload

__all__ = ["TimelineEntry", "contact_timeline"]


@dataclass(frozen=True)
class TimelineEntry:
    """One message in a buyer's conversation, in either direction."""

    direction: Literal["in", "out"]
    id: int
    type: str  # inbound: Meta's message type; outbound: the kind of message we sent
    text: str
    status: str  # inbound: processing state; outbound: delivery status
    status_label: str
    at: datetime  # inbound: when the buyer sent it; outbound: when the bot decided to say it


def contact_timeline(*, contact: Contact, limit: int, offset: int = 0) -> list[TimelineEntry]:
    """The latest `limit` messages between the buyer and the bot (skipping the newest
    `offset`, for older pages), newest first.

    Read receipts are left out: they are bookkeeping, not something said to the buyer.
    """
    inbound = InboundMessage.objects.filter(contact=contact).order_by("-created_at", "-id")
    outbound = (
        OutboundMessage.objects.filter(contact=contact)
        .exclude(kind=OutboundKind.READ_RECEIPT)
        .order_by("-created_at", "-id")
    )
    # The page's messages are among the newest offset+limit of each direction.
    reach = offset + limit
    entries = [_said_by_buyer(message) for message in inbound[:reach]]
    entries += [_said_by_bot(message) for message in outbound[:reach]]
    entries.sort(key=lambda entry: (entry.at, entry.id), reverse=True)
    return entries[offset:reach]


def _said_by_buyer(message: InboundMessage) -> TimelineEntry:
    return TimelineEntry(
        direction="in",
        id=message.pk,
        type=message.msg_type,
        text=inbound_text(message),
        status=message.state,
        status_label=message.get_state_display(),
        at=message.sent_at or message.created_at,
    )


def _said_by_bot(message: OutboundMessage) -> TimelineEntry:
    text, _ = render_payload(message.payload or {})
    return TimelineEntry(
        direction="out",
        id=message.pk,
        type=message.kind,
        text=text or f"[{message.kind}]",
        status=message.status,
        status_label=_status_label(message),
        at=message.created_at,
    )


def _status_label(message: OutboundMessage) -> str:
    """The delivery status, saying why a notice is waiting or which template carried it."""
    label = str(message.get_status_display())
    if message.status == OutboundStatus.NEEDS_TEMPLATE:
        return f"{label}: {message.last_error}" if message.last_error else label
    if message.template_name:
        return f"{label} (as template {message.template_name}, {message.template_language})"
    return label
