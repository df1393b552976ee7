"""The events a subscription can ask for, and what each one is about.

An event names a fact about raffles and orders; its `data` is the object the API returns for
it (see `events.schemas`). Adding an event: a member here, a line in `SUBJECTS`, an envelope in
`events.schemas.ENVELOPES`, and a receiver in `events.receivers` that records it.
"""

from __future__ import annotations

from django.db import models


class EventType(models.TextChoices):
    ORDER_RESERVED = "order.reserved", "order.reserved: a new order holds numbers"
    ORDER_PENDING_PAYMENT = (
        "order.pending_payment",
        "order.pending_payment: the order waits for payment",
    )
    ORDER_PAID = "order.paid", "order.paid: payment confirmed, numbers sold"
    ORDER_CANCELLED = "order.cancelled", "order.cancelled: cancelled, numbers released"
    ORDER_EXPIRED = "order.expired", "order.expired: the deadline passed, numbers released"
    PROOF_RECEIVED = "proof.received", "proof.received: a payment proof arrived"
    PROOF_REJECTED = "proof.rejected", "proof.rejected: an operator rejected a proof"
    RAFFLE_SOLD_OUT = "raffle.sold_out", "raffle.sold_out: every number is sold"
    RAFFLE_DRAWN = "raffle.drawn", "raffle.drawn: the raffle was drawn, winners chosen"
    TEST = "webhook.test", "webhook.test: sent on request, to check a receiver"


# What an event's `subject_id` names, which decides how its `data` is built.
ORDER, PROOF, RAFFLE, SUBSCRIPTION = "order", "proof", "raffle", "subscription"
# The raffle's id, with its draw (`raffles.draw_schemas.DrawOut`) beside it.
DRAW = "draw"
SUBJECTS: dict[str, str] = {
    EventType.ORDER_RESERVED: ORDER,
    EventType.ORDER_PENDING_PAYMENT: ORDER,
    EventType.ORDER_PAID: ORDER,
    EventType.ORDER_CANCELLED: ORDER,
    EventType.ORDER_EXPIRED: ORDER,
    EventType.PROOF_RECEIVED: PROOF,
    EventType.PROOF_REJECTED: PROOF,
    EventType.RAFFLE_SOLD_OUT: RAFFLE,
    EventType.RAFFLE_DRAWN: DRAW,
    EventType.TEST: SUBSCRIPTION,
}

# What a subscription may ask for: every event but the test, which goes only where asked.
SUBSCRIBABLE: tuple[str, ...] = tuple(t for t in EventType.values if t != EventType.TEST)
