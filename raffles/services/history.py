"""Recording order status changes: the order's history row and the signal, in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from raffles.models import ChangeSource, Order, OrderEvent
from raffles.signals import order_status_changed


def record_change(
    *,
    order: Order,
    old: str | None,
    new: str,
    source: ChangeSource | str,
    actor: Any = None,
    note: str = "",
    at: datetime | None = None,
) -> OrderEvent:
    """Write the history row and announce the change (inside the caller's transaction)."""
    event = OrderEvent.objects.create(
        order=order,
        from_status=old or "",
        to_status=new,
        at=at or timezone.now(),
        source=source,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note,
    )
    order_status_changed.send(
        sender=Order, order=order, old=old, new=new, source=ChangeSource(source), note=note
    )
    return event


def lock_order(order: Order | int) -> Order:
    """The order re-read under a row lock (PostgreSQL; SQLite's IMMEDIATE transaction already
    serializes writers), so decisions are made on its current state, not a stale copy."""
    pk = order if isinstance(order, int) else order.pk
    return (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("raffle")
        .get(pk=pk)
    )


def sync_instance(target: Order, fresh: Order) -> Order:
    """Copy the fresh state onto the caller's instance so both tell the same story."""
    if target is not fresh:
        for field in Order._meta.concrete_fields:
            setattr(target, field.attname, getattr(fresh, field.attname))
    return fresh
