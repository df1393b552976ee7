"""Expiring reservations past their deadline: the cron sweep and the lazy expiry that every
reservation runs in its own transaction, so a lapsed hold never blocks a buyer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from raffles.models import (
    LIVE_STATUSES,
    ChangeSource,
    Order,
    OrderEvent,
    OrderStatus,
    TicketNumber,
    TicketStatus,
)
from raffles.signals import orders_expired

# Orders per transaction in the sweep: each batch holds the write lock only briefly and is
# announced in one `orders_expired` signal.
SWEEP_BATCH = 5_000


@dataclass
class ExpiryResult:
    orders: list[Order] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.orders)

    def __iter__(self):  # so `for order in expire_due()` reads naturally
        return iter(self.orders)

    def __len__(self) -> int:
        return len(self.orders)


def expire_due(
    *, now: datetime | None = None, raffle_id: int | None = None, batch_size: int = SWEEP_BATCH
) -> ExpiryResult:
    """Every DRAFT/PENDING_PAYMENT order past its deadline (and not waiting for proof review)
    becomes EXPIRED and its tickets AVAILABLE. Each batch is atomic; safe to run concurrently:
    on PostgreSQL a batch skips orders another sweeper has locked, on SQLite writers queue."""
    now = now or timezone.now()
    result = ExpiryResult()
    after = 0
    while True:
        with transaction.atomic():
            due = Order.objects.filter(status__in=LIVE_STATUSES, expires_at__lte=now, pk__gt=after)
            if raffle_id is not None:
                due = due.filter(raffle_id=raffle_id)
            batch = list(
                due.order_by("pk").select_for_update(skip_locked=True, no_key=True)[:batch_size]
            )
            if not batch:
                return result
            after = batch[-1].pk
            result.orders.extend(_expire_locked(batch, now=now))
        if len(batch) < batch_size:
            return result


def expire_orders(*, order_ids: Iterable[int], now: datetime | None = None) -> list[Order]:
    """Expire the given orders if they are still live and past their deadline (the lazy
    expiry). Waits for, rather than skips, an order another transaction is changing."""
    now = now or timezone.now()
    ids = sorted(set(order_ids))
    if not ids:
        return []
    with transaction.atomic():
        # Orders are locked in id order, before any ticket: the fixed lock order.
        locked = list(
            Order.objects.filter(pk__in=ids, status__in=LIVE_STATUSES, expires_at__lte=now)
            .order_by("pk")
            .select_for_update(no_key=True)
        )
        return _expire_locked(locked, now=now)


def _expire_locked(orders: Sequence[Order], *, now: datetime) -> list[Order]:
    if not orders:
        return []
    ids = [o.pk for o in orders]
    old = {o.pk: o.status for o in orders}
    updated = Order.objects.filter(pk__in=ids, status__in=LIVE_STATUSES).update(
        status=OrderStatus.EXPIRED, updated_at=now
    )
    assert updated == len(ids), "expiring orders that were locked must update every one"
    TicketNumber.objects.filter(reserved_by_order_id__in=ids, status=TicketStatus.RESERVED).update(
        status=TicketStatus.AVAILABLE, reserved_by_order=None, reserved_until=None
    )
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(
                order_id=pk,
                from_status=old[pk],
                to_status=OrderStatus.EXPIRED,
                at=now,
                source=ChangeSource.SYSTEM,
                note="reservation expired",
            )
            for pk in ids
        ],
        batch_size=1000,
    )
    for order in orders:
        order.status = OrderStatus.EXPIRED
        order.updated_at = now
    orders = list(orders)
    orders_expired.send(sender=Order, orders=orders)
    return orders
