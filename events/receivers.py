"""Turning the raffles' domain signals into events for subscribed receivers.

Connected in `EventsConfig.ready`. Each receiver runs inside the transaction of the change, so
the event is recorded if and only if the change commits. Rules stay in `raffles`: these only
name the fact ("an order became PAID" -> `order.paid`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from events.services.recording import record, record_in_bulk
from events.types import EventType

__all__ = [
    "on_order_status_changed",
    "on_orders_expired",
    "on_proof_received",
    "on_proof_rejected",
    "on_raffle_drawn",
    "on_raffle_sold_out",
]

# Expiry is announced in bulk by `orders_expired`, never here, so it is not in this map.
_BY_NEW_STATUS = {
    "PENDING_PAYMENT": EventType.ORDER_PENDING_PAYMENT,
    "PAID": EventType.ORDER_PAID,
    "CANCELLED": EventType.ORDER_CANCELLED,
}


def on_order_status_changed(
    sender: Any, *, order: Any, old: str | None, new: str, **kwargs: Any
) -> None:
    # A new order holds numbers (`order.reserved`); an operator's order for another channel
    # starts waiting for payment as well. A rejected proof (old == new) has its own event.
    event_types = []
    if old is None:
        event_types.append(EventType.ORDER_RESERVED)
    if new != old and new in _BY_NEW_STATUS:
        event_types.append(_BY_NEW_STATUS[new])
    if event_types:
        record(event_types=event_types, subject_id=order.pk)


def on_orders_expired(
    sender: Any, *, orders: Sequence[Any] = (), order_ids: Sequence[int] | None = None, **kw: Any
) -> None:
    # The ids, never the orders: a sweep of thousands is one INSERT ... SELECT.
    ids = list(order_ids) if order_ids is not None else [order.pk for order in orders]
    record_in_bulk(event_type=EventType.ORDER_EXPIRED, subject_ids=ids, occurred_at=timezone.now())


def on_proof_received(sender: Any, *, proof: Any, **kwargs: Any) -> None:
    record(event_types=[EventType.PROOF_RECEIVED], subject_id=proof.pk)


def on_proof_rejected(sender: Any, *, proof: Any, **kwargs: Any) -> None:
    record(event_types=[EventType.PROOF_REJECTED], subject_id=proof.pk)


def on_raffle_sold_out(sender: Any, *, raffle: Any, **kwargs: Any) -> None:
    record(event_types=[EventType.RAFFLE_SOLD_OUT], subject_id=raffle.pk)


def on_raffle_drawn(sender: Any, *, raffle: Any, **kwargs: Any) -> None:
    record(event_types=[EventType.RAFFLE_DRAWN], subject_id=raffle.pk)
