"""One reminder per order, a few minutes before its payment deadline, to buyers with no proof."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conversation import notices
from conversation.models import Conversation
from conversation.selectors import orders_to_remind

__all__ = ["remind_pending_orders"]


def remind_pending_orders(
    *, now: dt.datetime | None = None, lead: dt.timedelta | None = None
) -> int:
    """Queue a reminder for every PENDING_PAYMENT order due within `lead` that has no proof
    waiting and was not reminded yet. Returns how many were queued. Safe to run twice at once:
    each reminder is claimed with a conditional UPDATE of the buyer's conversation first."""
    from whatsapp.services.outbox import broadcast

    now = now or timezone.now()
    lead = lead or dt.timedelta(minutes=settings.CONVERSATION_REMINDER_MINUTES)
    items = []
    with transaction.atomic():
        for order in orders_to_remind(now=now, lead=lead):
            Conversation.objects.get_or_create(contact=order.contact)
            claimed = (
                Conversation.objects.filter(contact=order.contact)
                .exclude(reminder_sent_for=order.pk)
                .update(reminder_sent_for=order.pk, updated_at=now)
            )
            if claimed:
                items.append((order.contact_id, notices.payment_reminder(order=order, now=now)))
        if items:
            broadcast(messages=items)
    return len(items)
