"""Expiring reservations past their deadline: the cron sweep and the lazy expiry that every
reservation runs in its own transaction, so a lapsed hold never blocks a buyer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from project.id_sets import any_of_sql
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


class ExpiredOrders(Sequence[Order]):
    """The expired orders, loaded from the database on first use (one query per 5,000), so a
    sweep of 100,000 orders builds no model instances unless someone reads them."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = list(ids)
        self._orders: list[Order] | None = None

    def _load(self) -> list[Order]:
        if self._orders is None:
            self._orders = []
            for i in range(0, len(self.ids), SWEEP_BATCH):
                chunk = self.ids[i : i + SWEEP_BATCH]
                self._orders.extend(Order.objects.filter(pk__any_of=chunk).order_by("pk"))
        return self._orders

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):  # type: ignore[override]
        return self._load()[index]

    def __iter__(self) -> Iterator[Order]:
        return iter(self._load())


@dataclass
class ExpiryResult:
    order_ids: list[int] = field(default_factory=list)

    @property
    def orders(self) -> ExpiredOrders:
        return ExpiredOrders(self.order_ids)

    @property
    def count(self) -> int:
        return len(self.order_ids)

    def __len__(self) -> int:
        return len(self.order_ids)


def expire_due(
    *, now: datetime | None = None, raffle_id: int | None = None, batch_size: int = SWEEP_BATCH
) -> ExpiryResult:
    """Every DRAFT/PENDING_PAYMENT order past its deadline (and not waiting for proof review)
    becomes EXPIRED and its tickets AVAILABLE. Each batch is atomic; safe to run concurrently:
    on PostgreSQL a batch skips orders another sweeper has locked, on SQLite writers queue."""
    now = now or timezone.now()
    result = ExpiryResult()
    due = Order.objects.filter(status__in=LIVE_STATUSES, expires_at__lte=now)
    if raffle_id is not None:
        due = due.filter(raffle_id=raffle_id)
    # One read of the candidates (the index on status and deadline covers it), then small
    # locked batches: re-sorting the remaining candidates for every batch grows quadratically.
    # Each batch re-checks its candidates under the lock (another sweep or a buyer may have
    # changed them since), passing the ids as one parameter (`any_of`, see project.id_sets).
    candidates = list(due.order_by("pk").values_list("pk", flat=True))
    for i in range(0, len(candidates), batch_size):
        with transaction.atomic():
            batch = list(
                due.filter(pk__any_of=candidates[i : i + batch_size])
                .order_by("pk")
                .select_for_update(skip_locked=True, no_key=True)
                .values_list("pk", flat=True)
            )
            result.order_ids.extend(_expire_locked(batch, now=now))
    return result


def expire_orders(*, order_ids: Iterable[int], now: datetime | None = None) -> list[int]:
    """Expire the given orders if they are still live and past their deadline (the lazy
    expiry); returns the ids of those it expired. Waits for, rather than skips, an order
    another transaction is changing."""
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
            .values_list("pk", flat=True)
        )
        return _expire_locked(locked, now=now)


def _expire_locked(ids: Sequence[int], *, now: datetime) -> list[int]:
    """Expire orders this transaction has locked: set-based, a few statements per batch."""
    if not ids:
        return []
    ids = list(ids)
    with connection.cursor() as cursor:
        # History first, while each order still shows the status it leaves: one INSERT ...
        # SELECT, no OrderEvent instances.
        batch, params = any_of_sql("id", ids, vendor=connection.vendor)
        cursor.execute(
            f"INSERT INTO {OrderEvent._meta.db_table} "
            "(order_id, from_status, to_status, at, source, note, actor_id) "
            f"SELECT id, status, %s, %s, %s, %s, NULL FROM {Order._meta.db_table} WHERE {batch}",
            [
                OrderStatus.EXPIRED,
                connection.ops.adapt_datetimefield_value(now),
                ChangeSource.SYSTEM,
                "reservation expired",
                *params,
            ],
        )
    updated = Order.objects.filter(pk__any_of=ids, status__in=LIVE_STATUSES).update(
        status=OrderStatus.EXPIRED, updated_at=now
    )
    assert updated == len(ids), "expiring orders that were locked must update every one"
    TicketNumber.objects.filter(
        reserved_by_order_id__any_of=ids, status=TicketStatus.RESERVED
    ).update(status=TicketStatus.AVAILABLE, reserved_by_order=None, reserved_until=None)
    orders_expired.send(sender=Order, orders=ExpiredOrders(ids), order_ids=ids)
    return ids
