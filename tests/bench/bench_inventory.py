"""Inventory benchmark: prints figures (not a test). Creates and drops its own scratch database.

    uv run python tests/bench/bench_inventory.py [--db sqlite|postgres] [--pg-url URL]

Measures: generating 1,000,000 numbers (numbers/s, peak memory); reserve_random(qty=5) and
reserve_specific(5 numbers) per second and p99 on that raffle; expire_due over 100,000 expired
reservations; availability with 1 % and 10 % of the numbers sold at random positions.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.common import percentile, scratch_database  # noqa: E402

TARGETS = {
    "generation_rate": 200_000,  # numbers/s, at least
    "generation_mb": 300,  # peak, at most
    "reserve_p99_ms": 20,
    "expiry_s": 3,
    "availability_ms": 150,
}


def verdict(ok: bool) -> str:
    return "OK " if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--reservations", type=int, default=500)
    parser.add_argument("--expired", type=int, default=100_000)
    args = parser.parse_args()

    url, drop = scratch_database(args.db, args.pg_url, prefix="bench-inventory")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ["TASKS_BACKEND"] = "django.tasks.backends.dummy.DummyBackend"
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    try:
        run(args)
    finally:
        drop()


def run(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from raffles.models import Order, OrderStatus, Raffle, TicketNumber, TicketStatus
    from raffles.services import (
        availability,
        expire_due,
        generate_tickets,
        reserve_random,
        reserve_specific,
    )
    from raffles.services.setup import activate_raffle
    from whatsapp.models import Contact

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    print("note: the machine is shared; figures may be pessimistic.\n")

    # --- generation -------------------------------------------------------------------------
    raffle = Raffle.objects.create(
        title="Bench",
        ticket_price=Decimal("1.00"),
        min_number=0,
        max_number=args.numbers - 1,
        max_tickets_per_order=100_000,
    )
    tracemalloc.start()
    started = time.perf_counter()
    result = generate_tickets(raffle=raffle)
    elapsed = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = result.created / elapsed
    print(
        f"[{verdict(rate >= TARGETS['generation_rate'])}] generation: {result.created:,} numbers "
        f"in {elapsed:.2f}s = {rate:,.0f} numbers/s (target >= {TARGETS['generation_rate']:,})"
    )
    print(
        f"[{verdict(rss_mb <= TARGETS['generation_mb'])}] generation memory: process peak RSS "
        f"{rss_mb:.0f} MB, Python allocations peak {traced_peak / 1e6:.1f} MB "
        f"(target <= {TARGETS['generation_mb']} MB)"
    )
    again = time.perf_counter()
    generate_tickets(raffle=raffle)
    print(
        f"       re-running generation (idempotent, nothing missing): "
        f"{time.perf_counter() - again:.2f}s"
    )
    raffle = activate_raffle(raffle=raffle)

    # --- reservations -----------------------------------------------------------------------
    n = args.reservations
    contacts = Contact.objects.bulk_create(
        [Contact(wa_id=f"bench{i}") for i in range(2 * n)], batch_size=1000
    )
    rng = random.Random(1)

    def timed(call, label: str) -> None:
        laps: list[float] = []
        failures = 0
        start = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            try:
                call(i)
            except Exception:  # counted: a bench keeps going
                failures += 1
            laps.append((time.perf_counter() - t0) * 1000)
        total = time.perf_counter() - start
        p99 = percentile(laps, 99)
        print(
            f"[{verdict(p99 < TARGETS['reserve_p99_ms'])}] {label}: {n / total:,.0f}/s, "
            f"p50 {statistics.median(laps):.2f} ms, p99 {p99:.2f} ms, max {max(laps):.1f} ms"
            f"{f', {failures} refused' if failures else ''} "
            f"(target p99 < {TARGETS['reserve_p99_ms']} ms)"
        )

    timed(
        lambda i: reserve_random(raffle=raffle, qty=5, contact=contacts[i]), "reserve_random(qty=5)"
    )
    timed(
        lambda i: reserve_specific(
            raffle=raffle, numbers=rng.sample(range(args.numbers), 5), contact=contacts[n + i]
        ),
        "reserve_specific(5 numbers)",
    )

    # --- expiry -----------------------------------------------------------------------------
    m = args.expired
    expiring = Raffle.objects.create(
        title="Bench expiry", ticket_price=Decimal("1.00"), min_number=0, max_number=m - 1
    )
    generate_tickets(raffle=expiring)
    setup_started = time.perf_counter()
    buyers = Contact.objects.bulk_create(
        [Contact(wa_id=f"exp{i}") for i in range(m)], batch_size=5000
    )
    past = timezone.now() - timedelta(minutes=5)
    orders = Order.objects.bulk_create(
        [
            Order(
                raffle=expiring,
                contact=b,
                qty=1,
                unit_price=Decimal("1.00"),
                currency=expiring.currency,
                total_amount=Decimal("1.00"),
                status=OrderStatus.DRAFT,
                expires_at=past,
            )
            for b in buyers
        ],
        batch_size=5000,
    )
    first = orders[0].pk
    assert orders[-1].pk - first == m - 1, "orders got non-contiguous ids"
    table = TicketNumber._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, reserved_by_order_id = %s + number, "
            "reserved_until = %s WHERE raffle_id = %s",
            [TicketStatus.RESERVED, first, past, expiring.pk],
        )
    if connection.vendor == "postgresql":
        # As autovacuum would have by now: statistics that know the bulk-loaded rows exist.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
            cursor.execute(f"ANALYZE {Order._meta.db_table}")
    print(
        f"\n       (set up {m:,} lapsed one-number reservations in "
        f"{time.perf_counter() - setup_started:.1f}s)"
    )
    started = time.perf_counter()
    expired = expire_due()
    elapsed = time.perf_counter() - started
    print(
        f"[{verdict(elapsed < TARGETS['expiry_s'])}] expire_due: {expired.count:,} orders "
        f"expired in {elapsed:.2f}s (target < {TARGETS['expiry_s']} s)"
    )

    # --- availability -----------------------------------------------------------------------
    buyer = Contact.objects.create(wa_id="bulk-buyer")
    sold_so_far: set[int] = set(
        TicketNumber.objects.filter(raffle=raffle)
        .exclude(status=TicketStatus.AVAILABLE)
        .values_list("number", flat=True)
    )
    for share in (0.01, 0.10):
        target = int(args.numbers * share)
        free = rng.sample(range(args.numbers), target * 2)
        wanted = [x for x in free if x not in sold_so_far][: target - len(sold_so_far)]
        bulk = Order.objects.create(
            raffle=raffle,
            contact=buyer,
            qty=len(wanted),
            unit_price=Decimal("1.00"),
            currency=raffle.currency,
            total_amount=Decimal("1.00") * len(wanted),
            status=OrderStatus.PAID,
        )
        for i in range(0, len(wanted), 5000):
            TicketNumber.objects.filter(raffle=raffle, number__in=wanted[i : i + 5000]).update(
                status=TicketStatus.SOLD, reserved_by_order=bulk
            )
        sold_so_far.update(wanted)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {table}")
        laps = []
        for _ in range(5):
            t0 = time.perf_counter()
            info = availability(raffle=raffle)
            laps.append((time.perf_counter() - t0) * 1000)
        worst = max(laps)
        print(
            f"[{verdict(worst < TARGETS['availability_ms'])}] availability with "
            f"{share:.0%} taken: median {statistics.median(laps):.0f} ms, worst {worst:.0f} ms, "
            f"{len(info.available_ranges):,} ranges, counts {info.counts} "
            f"(target < {TARGETS['availability_ms']} ms)"
        )


if __name__ == "__main__":
    main()
