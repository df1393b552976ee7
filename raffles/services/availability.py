"""What is left to buy in a raffle: counts per status and the available numbers as ranges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from raffles.models import Raffle, TicketNumber, TicketStatus


@dataclass(frozen=True)
class Availability:
    counts: dict[str, int]
    available_ranges: list[tuple[int, int]] = field(default_factory=list)

    @property
    def available(self) -> int:
        return self.counts.get(TicketStatus.AVAILABLE, 0)


def availability(*, raffle: Raffle) -> Availability:
    """Counts per status and the AVAILABLE numbers as inclusive ranges, e.g. [(1, 40), (42, 99)].

    A lapsed reservation counts as available (it blocks no buyer). Read-only, so no transaction.
    Once every number exists only the taken numbers are read, in one pass over their index:
    the gaps between consecutive taken numbers are the available ranges, and AVAILABLE is the
    range size minus the taken count, so a 1,000,000-number raffle costs what its sales cost.
    """
    now = timezone.now()
    taken, params = _taken_numbers(raffle, now)
    counts = {TicketStatus.RESERVED.value: 0, TicketStatus.SOLD.value: 0}
    with connection.cursor() as cursor:
        if not raffle.tickets_ready:
            return _availability_while_generating(cursor, raffle, now, taken, params, counts)
        # Plain numbers, built into ranges here: a raffle sold at random has as many ranges as
        # sales, and one pass in Python costs less than a window (LEAD) query returning the
        # ranges plus a GROUP BY count.
        numbers = _in_order(cursor, taken, params)
        # Live reservations are few next to sales: count them on the status index (the taken
        # index would walk every sale again), and SOLD is the rest.
        cursor.execute(
            f"SELECT COUNT(*) FROM {TicketNumber._meta.db_table} WHERE raffle_id = %s "
            f"AND status = '{TicketStatus.RESERVED}' "
            "AND (reserved_until IS NULL OR reserved_until > %s)",
            params,
        )
        reserved = cursor.fetchone()[0]
    counts[TicketStatus.RESERVED.value] = reserved
    counts[TicketStatus.SOLD.value] = len(numbers) - reserved
    counts[TicketStatus.AVAILABLE.value] = raffle.size - len(numbers)
    return Availability(counts=counts, available_ranges=_gaps(numbers, raffle))


def _in_order(cursor: Any, taken: str, params: list[object]) -> list[int]:
    """The taken numbers, ascending, as one aggregated value rather than a row each: building
    100,000 one-column rows costs the drivers more than the query costs the database."""
    if connection.vendor == "postgresql":
        cursor.execute(f"SELECT array_agg(number ORDER BY number) FROM ({taken}) AS t", params)
        return cursor.fetchone()[0] or []
    # The subquery's order is the index's, and SQLite aggregates in the order rows arrive.
    cursor.execute(
        f"SELECT group_concat(number) FROM (SELECT number FROM ({taken}) AS t ORDER BY number)",
        params,
    )
    joined = cursor.fetchone()[0]
    return list(map(int, joined.split(","))) if joined else []


def _gaps(taken: list[int], raffle: Raffle) -> list[tuple[int, int]]:
    """The ranges of the raffle's numbers between the ascending `taken` ones."""
    before = [raffle.min_number - 1, *taken]
    after = [*taken, raffle.max_number + 1]
    return [(a + 1, b - 1) for a, b in zip(before, after, strict=True) if b - a > 1]


def available_count(*, raffle: Raffle) -> int:
    """How many numbers a buyer can still get (what a menu shows), without the ranges: one
    count over the taken numbers' index."""
    if not raffle.tickets_ready:
        return availability(raffle=raffle).available
    taken, params = _taken_numbers(raffle, timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({taken}) AS t", params)
        return raffle.size - cursor.fetchone()[0]


def _taken_numbers(raffle: Raffle, now: datetime) -> tuple[str, list[object]]:
    """SQL (and its parameters) selecting the raffle's SOLD and live RESERVED numbers."""
    table = TicketNumber._meta.db_table
    # Literal statuses so both databases match the partial index `ticket_taken_by_number`:
    # a covering scan of the taken numbers, already in number order.
    # SQLite's planner, without statistics, prefers the full-size indexes: name ours.
    source = (
        f"{table} INDEXED BY ticket_taken_by_number" if connection.vendor == "sqlite" else table
    )
    taken = (
        f"SELECT number, status FROM {source} WHERE raffle_id = %s "
        # Written exactly as the index's condition, so SQLite can prove the index applies.
        f"AND status IN ('{TicketStatus.RESERVED}', '{TicketStatus.SOLD}') "
        f"AND (status = '{TicketStatus.SOLD}' OR reserved_until IS NULL OR reserved_until > %s)"
    )
    params = [raffle.pk, now]
    return taken, params


def _availability_while_generating(cursor, raffle, now, taken, params, counts) -> Availability:
    """Only numbers that exist can be available: islands of consecutive available rows."""
    table = TicketNumber._meta.db_table
    cursor.execute(f"SELECT status, COUNT(*) FROM ({taken}) AS t GROUP BY status", params)
    counts.update({status: n for status, n in cursor.fetchall()})
    cursor.execute(
        f"""
        WITH free AS (
            SELECT number, number - ROW_NUMBER() OVER (ORDER BY number) AS island
            FROM {table}
            WHERE raffle_id = %s AND (status = '{TicketStatus.AVAILABLE}' OR
                (status = '{TicketStatus.RESERVED}' AND reserved_until <= %s))
        )
        SELECT MIN(number), MAX(number) FROM free GROUP BY island ORDER BY 1
        """,
        [raffle.pk, now],
    )
    ranges = [(int(a), int(b)) for a, b in cursor.fetchall()]
    counts[TicketStatus.AVAILABLE.value] = sum(b - a + 1 for a, b in ranges)
    return Availability(counts=counts, available_ranges=ranges)
