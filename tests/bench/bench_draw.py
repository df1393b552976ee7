"""Draw benchmark: prints figures (not a test). Creates and drops its own scratch database.

    uv run python tests/bench/bench_draw.py [--db sqlite|postgres] [--pg-url URL] [--buyers N]

N (10,000) buyers each hold one PAID number of a 0..N-1 raffle with three prizes. Measures
closing sales (hashing the sold list), then the draw itself with every buyer told: its time, how
many statements it sent, how many touched the outbox (the result is one INSERT ... SELECT), and
how many notices it queued. Then `verify_draw`'s time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.common import scratch_database  # noqa: E402

# The draw for 10,000 buyers, notices included, should take well under this.
TARGET_SECONDS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--buyers", type=int, default=10_000)
    args = parser.parse_args()

    url, drop = scratch_database(args.db, args.pg_url, prefix="bench-draw")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ["TASKS_BACKEND"] = "django.tasks.backends.dummy.DummyBackend"
    import django

    django.setup()
    try:
        run(args)
    finally:
        drop()


def sold_raffle(n: int):  # type: ignore[no-untyped-def]
    """A raffle whose n numbers are each SOLD to a different buyer (set-based setup)."""
    from django.db import connection
    from django.utils import timezone

    from raffles.models import Order, OrderStatus, Prize, Raffle, TicketNumber, TicketStatus
    from raffles.services import activate_raffle, generate_tickets
    from whatsapp.models import Contact

    raffle = Raffle.objects.create(
        title="Bench draw",
        ticket_price=Decimal("1.00"),
        min_number=0,
        max_number=n - 1,
        max_tickets_per_order=1,
        draw_at=timezone.now() + timedelta(days=1),
    )
    generate_tickets(raffle=raffle)
    activate_raffle(raffle=raffle)  # commits the seed
    Prize.objects.bulk_create(
        [Prize(raffle=raffle, position=i, title=f"Prize {i}") for i in (1, 2, 3)]
    )
    recent = timezone.now()
    buyers = Contact.objects.bulk_create(
        # Half inside the 24-hour window, half outside (their notices go as templates later).
        [
            Contact(wa_id=f"57300{i:07d}", last_inbound_at=recent if i % 2 else None)
            for i in range(n)
        ],
        batch_size=5000,
    )
    orders = Order.objects.bulk_create(
        [
            Order(
                raffle=raffle,
                contact=buyer,
                qty=1,
                unit_price=Decimal("1.00"),
                total_amount=Decimal("1.00"),
                status=OrderStatus.PAID,
            )
            for buyer in buyers
        ],
        batch_size=5000,
    )
    first = orders[0].pk
    assert orders[-1].pk - first == n - 1, "orders got non-contiguous ids"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TicketNumber._meta.db_table} SET status = %s, "
            "reserved_by_order_id = %s + number WHERE raffle_id = %s",
            [TicketStatus.SOLD, first, raffle.pk],
        )
    Raffle.objects.filter(pk=raffle.pk).update(draw_at=timezone.now() + timedelta(minutes=5))
    raffle.refresh_from_db()
    return raffle


def run(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection

    from raffles.services.draw import run_draw, verify_draw
    from raffles.services.sales import close_due_sales
    from whatsapp.models import OutboundMessage, OutboundStatus

    call_command("migrate", verbosity=0)
    n = args.buyers
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    print(f"load average: {os.getloadavg()[0]:.2f} (the machine is shared)\n")
    raffle = sold_raffle(n)

    started = time.perf_counter()
    close_due_sales()
    print(f"close of sales (hash of {n:,} sold numbers): {time.perf_counter() - started:.2f}s")

    statements = outbox = 0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal statements, outbox
        statements += 1
        outbox += "whatsapp_outboundmessage" in sql
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        draw = run_draw(raffle=raffle)
        elapsed = time.perf_counter() - started
    queued = OutboundMessage.objects.filter(status=OutboundStatus.QUEUED).count()
    # The form (free text or template) is chosen at delivery; every notice carries its values.
    notices = OutboundMessage.objects.exclude(notice_kind="").count()
    print(
        f"draw, {n:,} buyers told: {elapsed:.2f}s, {statements} statements "
        f"({outbox} on the outbox), {queued:,} queued ({notices:,} notices with template values) "
        f"(target < {TARGET_SECONDS:.0f}s: {'met' if elapsed < TARGET_SECONDS else 'MISSED'})"
    )
    print(f"winners: {[entry['number'] for entry in draw.results]}")
    started = time.perf_counter()
    ok = verify_draw(raffle=raffle).ok
    took = time.perf_counter() - started
    print(f"verify_draw: {'matches' if ok else 'DOES NOT MATCH'} in {took:.2f}s")


if __name__ == "__main__":
    main()
