"""What is left to buy in a raffle: counts per status and the available numbers as ranges."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    Once every number exists only the few taken numbers are read: the gaps between consecutive
    taken numbers (a window over the index) are the available ranges, and AVAILABLE is the
    range size minus the taken count, so a 1,000,000-number raffle costs what its sales cost.
    """
    now = timezone.now()
    table = TicketNumber._meta.db_table
    # Two index-only scans: SOLD numbers, and RESERVED ones whose hold has not lapsed. (One
    # combined condition would read every taken row from the table for `reserved_until`.)
    taken = (
        f"SELECT number, status FROM {table} WHERE raffle_id = %s "
        f"AND status = '{TicketStatus.SOLD}' "
        f"UNION ALL SELECT number, status FROM {table} WHERE raffle_id = %s "
        f"AND status = '{TicketStatus.RESERVED}' "
        "AND (reserved_until IS NULL OR reserved_until > %s)"
    )
    taken_params = [raffle.pk, raffle.pk, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT status, COUNT(*) FROM ({taken}) AS taken GROUP BY status", taken_params
        )
        counts = {TicketStatus.RESERVED.value: 0, TicketStatus.SOLD.value: 0}
        counts.update({status: n for status, n in cursor.fetchall()})
        if raffle.tickets_ready:
            counts[TicketStatus.AVAILABLE.value] = raffle.size - sum(counts.values())
            # Sentinels just outside the range turn the edges into ordinary gaps.
            cursor.execute(
                f"""
                WITH taken AS (
                    SELECT number FROM ({taken}) AS t
                    UNION ALL SELECT %s UNION ALL SELECT %s
                ), gaps AS (
                    SELECT LAG(number) OVER (ORDER BY number) AS prev, number FROM taken
                )
                SELECT prev + 1, number - 1 FROM gaps WHERE number - prev > 1 ORDER BY prev
                """,
                [*taken_params, raffle.min_number - 1, raffle.max_number + 1],
            )
        else:
            # Still generating: only numbers that exist can be available (islands of rows).
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
        if not raffle.tickets_ready:
            counts[TicketStatus.AVAILABLE.value] = sum(b - a + 1 for a, b in ranges)
    return Availability(counts=counts, available_ranges=ranges)
