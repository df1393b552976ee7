"""The buyer notices the business starts, each as a free-form message plus template values.

Outside the 24-hour window WhatsApp accepts only approved templates; the outbox sends a notice
as the template its kind maps to (WHATSAPP_NOTICE_TEMPLATES, or the admin's "Notice templates")
and fills the body parameters from these named values. The wording lives in `replies`; here
each notice only pairs it with its values. `buyer_name` is added by the outbox.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models

from conversation import replies
from whatsapp.notices import Notice

__all__ = [
    "NoticeKind",
    "order_cancelled",
    "payment_confirmed",
    "payment_reminder",
    "proof_file_refused",
    "proof_rejected",
    "proof_rejected_closed",
    "reservation_expired",
]


class NoticeKind(models.TextChoices):
    """The keys of WHATSAPP_NOTICE_TEMPLATES."""

    PAYMENT_CONFIRMED = "payment_confirmed", "Payment confirmed"
    PROOF_REJECTED = "proof_rejected", "Payment proof rejected"
    ORDER_CANCELLED = "order_cancelled", "Order cancelled"
    RESERVATION_EXPIRED = "reservation_expired", "Reservation expired"
    PAYMENT_REMINDER = "payment_reminder", "Payment reminder"
    # The draw's announcements (raffles.services.draw): to every buyer, and to the winner.
    DRAW_RESULT = "draw_result", "Draw result"
    WINNER = "winner", "Winner"


def _numbers(order: Any) -> str:
    return replies.number_list(order.raffle, replies.numbers_of(order), limit=60)


def payment_confirmed(*, order: Any) -> Notice:
    return Notice.of(
        NoticeKind.PAYMENT_CONFIRMED,
        replies.notify_paid(order=order),
        order=order.pk,
        raffle=order.raffle.title,
        numbers=_numbers(order),
    )


def order_cancelled(*, order: Any, reason: str) -> Notice:
    return Notice.of(
        NoticeKind.ORDER_CANCELLED,
        replies.notify_cancelled(order=order, reason=reason),
        order=order.pk,
        reason=reason or "-",
    )


def proof_rejected(*, order: Any, reason: str) -> Notice:
    return Notice.of(
        NoticeKind.PROOF_REJECTED,
        replies.notify_proof_rejected(order=order, reason=reason),
        order=order.pk,
        reason=reason or "-",
        deadline=replies.when(order.expires_at),
    )


def proof_rejected_closed(*, order: Any, reason: str) -> Notice:
    return Notice.of(
        NoticeKind.PROOF_REJECTED,
        replies.notify_proof_rejected_closed(order=order, reason=reason),
        order=order.pk,
        reason=reason or "-",
    )


def proof_file_refused(*, order: Any, problem: str) -> Notice:
    return Notice.of(
        NoticeKind.PROOF_REJECTED,
        replies.notify_proof_file_refused(order=order, problem=problem),
        order=order.pk,
        reason=replies.proof_file_problem(problem),
        deadline=replies.when(order.expires_at),
    )


def reservation_expired(*, raffle: Any) -> Notice:
    """The same values for every buyer of a raffle: a sweep stays one INSERT per raffle."""
    return Notice.of(
        NoticeKind.RESERVATION_EXPIRED,
        replies.notify_expired_in(raffle=raffle),
        raffle=raffle.title,
    )


def payment_reminder(*, order: Any, now: dt.datetime | None = None) -> Notice:
    raffle = order.raffle
    return Notice.of(
        NoticeKind.PAYMENT_REMINDER,
        replies.deadline_reminder(order=order, now=now),
        order=order.pk,
        raffle=raffle.title,
        numbers=_numbers(order),
        total=replies.money(order.total_amount, raffle.currency),
        deadline=replies.when(order.expires_at, now=now),
    )
