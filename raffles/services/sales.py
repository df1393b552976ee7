"""The close of sales: `draw_at` minus the raffle's cut-off, read on the database's clock.

A reservation checks the close inside its own transaction, after taking a share lock on the
raffle's row (PostgreSQL; SQLite runs one writer at a time); closing takes the row's exclusive
lock, so it waits for reservations in flight and every later one sees the raffle closed. The
sold list published at the close is therefore the one no reservation can still change.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from raffles.errors import RaffleInactive, SalesClosed
from raffles.models import ChangeSource, Raffle, RaffleChange, TicketNumber, TicketStatus
from raffles.services.draw_proof import sold_list_sha256
from raffles.services.raffle_history import record_raffle_change

__all__ = [
    "check_sales_open",
    "close_due_sales",
    "close_sales",
    "db_now",
    "raffle_for_sale",
    "sold_numbers",
]

logger = logging.getLogger(__name__)

# Further than this from the close by the server's clock, the database's clock is not asked:
# servers' clocks drift by seconds, not minutes.
_CLOCK_MARGIN = timedelta(minutes=10)


def db_now() -> datetime:
    """The database's clock (one for every app server): now, as a UTC datetime."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0].astimezone(UTC)
        cursor.execute("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
        return datetime.fromisoformat(cursor.fetchone()[0]).replace(tzinfo=UTC)


def raffle_for_sale(*, raffle_id: int) -> Raffle:
    """The raffle as stored now, if it sells: call inside the reservation's transaction.

    Raises `RaffleInactive`, or `SalesClosed` once the raffle is closed or its close is due."""
    if connection.vendor == "postgresql":
        # KEY SHARE: reservations don't block each other (their orders' foreign keys take the
        # same lock), but `close_sales`'s FOR UPDATE waits for them and they wait for it.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {Raffle._meta.db_table} WHERE id = %s FOR KEY SHARE", [raffle_id]
            )
    fresh = Raffle.objects.get(pk=raffle_id)
    if not fresh.is_active:
        raise RaffleInactive(raffle_id=fresh.pk)
    if fresh.sales_closed_at is not None or _close_due(fresh):
        raise SalesClosed(raffle_id=fresh.pk, draw_at=fresh.draw_at)
    return fresh


def check_sales_open(*, raffle: Raffle) -> None:
    """`SalesClosed` if the raffle no longer sells (for numbers sold again after the close)."""
    if raffle.sales_closed_at is not None or _close_due(raffle):
        raise SalesClosed(raffle_id=raffle.pk, draw_at=raffle.draw_at)


def _close_due(raffle: Raffle) -> bool:
    close_at = raffle.sales_close_at
    if close_at is None:
        return False
    if close_at - timezone.now() > _CLOCK_MARGIN:
        return False
    return db_now() >= close_at


def sold_numbers(raffle: Raffle) -> list[int]:
    """The raffle's SOLD numbers, ascending (an index-only walk of the taken numbers)."""
    return list(
        TicketNumber.objects.filter(raffle_id=raffle.pk, status=TicketStatus.SOLD)
        .order_by("number")
        .values_list("number", flat=True)
    )


@transaction.atomic
def close_sales(
    *,
    raffle: Raffle,
    by: Any = None,
    source: ChangeSource | str = ChangeSource.SYSTEM,
    now: datetime | None = None,
) -> Raffle:
    """Close sales now (the job does it at the cut-off; the draw does it if the job has not):
    no reservation gets in afterwards, and the hash of the sorted sold numbers is published.
    Closing a closed raffle changes nothing."""
    locked = Raffle.objects.select_for_update().get(pk=raffle.pk)
    if locked.sales_closed_at is None:
        now = now or db_now()
        sold = sold_numbers(locked)
        digest = sold_list_sha256(sold, width=locked.number_width)
        Raffle.objects.filter(pk=locked.pk).update(
            sales_closed_at=now, closing_sold_sha256=digest, closing_sold_count=len(sold)
        )
        locked.refresh_from_db()
        record_raffle_change(
            raffle=locked,
            change=RaffleChange.SALES_CLOSED,
            changes={
                "sales_closed_at": {"before": None, "after": now.isoformat()},
                "sold_numbers_sha256": {"before": "", "after": digest},
                "sold_count": {"before": None, "after": len(sold)},
            },
            source=source,
            actor=by,
        )
    for name in ("sales_closed_at", "closing_sold_sha256", "closing_sold_count"):
        setattr(raffle, name, getattr(locked, name))
    return locked


def close_due_sales(*, now: datetime | None = None) -> list[int]:
    """Close every raffle whose cut-off has passed (cron; safe to run twice at once).
    Returns the ids closed by this run."""
    now = now or db_now()
    closed: list[int] = []
    candidates = Raffle.objects.filter(
        sales_closed_at__isnull=True, draw_at__isnull=False, drawn_at__isnull=True
    ).only("pk", "draw_at", "sales_cutoff_minutes")
    for raffle in candidates:
        if raffle.sales_close_at is None or raffle.sales_close_at > now:
            continue
        # Another run may have closed it first: then its stamp is not ours.
        if close_sales(raffle=raffle, now=now).sales_closed_at == now:
            closed.append(raffle.pk)
    if closed:
        logger.info("sales closed for raffles %s", closed)
    return closed
