"""Generating a raffle's numbers: set-based `INSERT ... SELECT` over a generated series, in
chunks (bounded memory, visible progress), idempotent, never dropping a taken number."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from raffles.errors import InvalidRange, RangeHasTakenNumbers
from raffles.models import (
    ChangeSource,
    OrderTicket,
    Raffle,
    RaffleChange,
    TicketNumber,
    TicketStatus,
)
from raffles.services.raffle_history import record_raffle_change, what_changed

GENERATION_CHUNK = 100_000
ANALYZE_AFTER = 50_000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class GenerationResult:
    created: int
    deleted: int
    total: int
    ready: bool


def validate_range(*, min_number: int, max_number: int) -> None:
    limit = settings.RAFFLE_MAX_NUMBERS
    if min_number < 0 or max_number < min_number or max_number - min_number + 1 > limit:
        raise InvalidRange(minimum=min_number, maximum=max_number, limit=limit)


def generate_tickets(
    *, raffle: Raffle, progress: Progress | None = None, chunk_size: int = GENERATION_CHUNK
) -> GenerationResult:
    """Create the missing numbers of the raffle's range and drop numbers outside it (refusing if
    any of those is reserved, sold or part of an order's history). Each chunk is its own
    transaction, so a crash resumes where it stopped; running it twice is harmless."""
    raffle.refresh_from_db()
    validate_range(min_number=raffle.min_number, max_number=raffle.max_number)
    deleted = _drop_outside_range(raffle)
    total = raffle.size
    created = done = 0
    # Only chunks that are transactions of their own may skip the wait for the disk; inside a
    # caller's transaction the setting would last until, and weaken, the caller's commit.
    own_transactions = not connection.in_atomic_block
    for lo in range(raffle.min_number, raffle.max_number + 1, chunk_size):
        hi = min(lo + chunk_size - 1, raffle.max_number)
        with transaction.atomic():
            if own_transactions:
                _commit_without_waiting_for_disk()
            # Serializes two generators of the same raffle (and a range change) on PostgreSQL.
            Raffle.objects.select_for_update(no_key=True).filter(pk=raffle.pk).exists()
            existing = TicketNumber.objects.filter(
                raffle=raffle, number__gte=lo, number__lte=hi
            ).count()
            if existing < hi - lo + 1:
                created += _insert_series(raffle.pk, lo, hi, skip_existing=existing > 0)
        done += hi - lo + 1
        if progress:
            progress(done, total)
    ready = _mark_ready(raffle)
    if created >= ANALYZE_AFTER and connection.vendor == "postgresql":
        # A million fresh rows leave the planner's statistics describing an empty table until
        # autovacuum catches up; meanwhile it would pick sequential scans for every sale.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TicketNumber._meta.db_table}")
    return GenerationResult(created=created, deleted=deleted, total=total, ready=ready)


def _commit_without_waiting_for_disk() -> None:
    """On PostgreSQL, this chunk's COMMIT returns before its WAL (megabytes per chunk) is
    flushed: waiting for each flush would dominate generating a large range. A crash may lose
    the last chunks, never more: `_mark_ready` commits durably, which flushes every earlier
    chunk first, and a rerun creates whatever is missing."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _insert_series(raffle_id: int, lo: int, hi: int, *, skip_existing: bool) -> int:
    table = TicketNumber._meta.db_table
    conflict = " ON CONFLICT (raffle_id, number) DO NOTHING" if skip_existing else ""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} (raffle_id, number, status) "
                f"SELECT %s, n, %s FROM generate_series(%s::integer, %s::integer) AS n{conflict}",
                [raffle_id, TicketStatus.AVAILABLE, lo, hi],
            )
        else:
            # `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT.
            # (The statement starts with INSERT so the driver reports its row count.)
            cursor.execute(
                f"INSERT INTO {table} (raffle_id, number, status) "
                "WITH RECURSIVE series(n) AS ("
                " SELECT %s UNION ALL SELECT n + 1 FROM series WHERE n < %s) "
                f"SELECT %s, n, %s FROM series WHERE true{conflict}",
                [lo, hi, raffle_id, TicketStatus.AVAILABLE],
            )
        return cursor.rowcount


@transaction.atomic
def _drop_outside_range(raffle: Raffle) -> int:
    outside = TicketNumber.objects.filter(raffle=raffle).exclude(
        number__gte=raffle.min_number, number__lte=raffle.max_number
    )
    blocking = outside.exclude(status=TicketStatus.AVAILABLE) | outside.filter(
        pk__in=OrderTicket.objects.values("ticket_id")
    )
    count = blocking.count()
    if count:
        sample = list(blocking.order_by("number").values_list("number", flat=True)[:20])
        raise RangeHasTakenNumbers(numbers=sample, count=count)
    table = TicketNumber._meta.db_table
    with connection.cursor() as cursor:
        # Raw DELETE: the ORM would load every row to run on_delete handlers we do not need.
        cursor.execute(
            f"DELETE FROM {table} WHERE raffle_id = %s AND (number < %s OR number > %s)",
            [raffle.pk, raffle.min_number, raffle.max_number],
        )
        return cursor.rowcount


@transaction.atomic
def _mark_ready(raffle: Raffle) -> bool:
    locked = Raffle.objects.select_for_update(no_key=True).get(pk=raffle.pk)
    count = TicketNumber.objects.filter(
        raffle=locked, number__gte=locked.min_number, number__lte=locked.max_number
    ).count()
    ready = count == locked.size
    fields: dict[str, bool] = {"tickets_ready": ready}
    change, note = None, ""
    if ready and locked.activate_when_ready:
        fields.update(is_active=True, activate_when_ready=False)
        change, note = RaffleChange.ACTIVATED, "every number exists: sales open as asked"
    elif not ready and locked.is_active:
        # The range changed under us: stop selling until it is complete, then resume.
        fields.update(is_active=False, activate_when_ready=True)
        change, note = RaffleChange.DEACTIVATED, "numbers missing: sales resume when they exist"
    Raffle.objects.filter(pk=locked.pk).update(**fields)
    if change is not None:
        before = {name: getattr(locked, name) for name in ("is_active", "activate_when_ready")}
        after = {name: fields[name] for name in before}
        record_raffle_change(
            raffle=locked,
            change=change,
            changes=what_changed(before, after),
            source=ChangeSource.SYSTEM,
            note=note,
        )
    if fields.get("is_active"):
        from raffles.services.draw import commit_seed  # the draw imports the reservations

        commit_seed(raffle=locked, source=ChangeSource.SYSTEM)
        raffle.draw_seed, raffle.seed_commitment = locked.draw_seed, locked.seed_commitment
    for name, value in fields.items():
        setattr(raffle, name, value)
    return ready
