"""Events benchmark: prints figures (not a test). Creates and drops its own scratch database.

    uv run python tests/bench/bench_events.py [--db sqlite|postgres] [--pg-url URL] [--orders N]

Measures the expiry sweep of N (10,000) lapsed reservations, once with no webhook subscription
and once with one active subscription to `order.expired`: the sweep's time, how many statements
touched the events tables (one read of the subscriptions, one INSERT ... SELECT), and how many
events it wrote. Then how fast those events reach a local receiver on 127.0.0.1 that verifies
every signature with the `standardwebhooks` library (EVENTS_SEND_CONCURRENCY senders).
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

# The sweep's time may grow by at most this share when one receiver subscribes.
TARGET_OVERHEAD = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument(
        "--no-delivery", action="store_true", help="Skip sending the events to a receiver."
    )
    args = parser.parse_args()

    url, drop = scratch_database(args.db, args.pg_url, prefix="bench-events")
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


def lapsed_reservations(n: int, label: str) -> None:
    """`n` one-number reservations of a new raffle, all past their deadline (set-based)."""
    from django.db import connection
    from django.utils import timezone

    from raffles.models import Order, OrderStatus, Raffle, TicketNumber, TicketStatus
    from raffles.services import generate_tickets
    from whatsapp.models import Contact

    raffle = Raffle.objects.create(
        title=f"Bench {label}", ticket_price=Decimal("1.00"), min_number=0, max_number=n - 1
    )
    generate_tickets(raffle=raffle)
    buyers = Contact.objects.bulk_create(
        [Contact(wa_id=f"{label}{i}") for i in range(n)], batch_size=5000
    )
    past = timezone.now() - timedelta(minutes=5)
    orders = Order.objects.bulk_create(
        [
            Order(
                raffle=raffle,
                contact=buyer,
                qty=1,
                unit_price=Decimal("1.00"),
                currency=raffle.currency,
                total_amount=Decimal("1.00"),
                status=OrderStatus.PENDING_PAYMENT,
                expires_at=past,
            )
            for buyer in buyers
        ],
        batch_size=5000,
    )
    first = orders[0].pk
    assert orders[-1].pk - first == n - 1, "orders got non-contiguous ids"
    table = TicketNumber._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, reserved_by_order_id = %s + number, "
            "reserved_until = %s WHERE raffle_id = %s",
            [TicketStatus.RESERVED, first, past, raffle.pk],
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {table}")
            cursor.execute(f"ANALYZE {Order._meta.db_table}")


def timed_sweep() -> tuple[float, int, int]:
    """(seconds, statements on the events tables, orders expired) of one expire_due."""
    from django.db import connection

    from raffles.services import expire_due

    touched = 0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal touched
        touched += "events_" in sql
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        result = expire_due()
        elapsed = time.perf_counter() - started
    return elapsed, touched, result.count


def run(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from events.models import DeliveryStatus, EventDelivery
    from events.services import delivery
    from events.services.subscriptions import create_subscription
    from tests.support.webhook_receiver import WebhookReceiver

    call_command("migrate", verbosity=0)
    n = args.orders
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    print("note: the machine is shared; figures may be pessimistic.\n")

    lapsed_reservations(n, "plain")
    plain, plain_statements, plain_count = timed_sweep()
    print(
        f"       expiry sweep, no subscription:   {plain_count:,} orders in {plain:.2f}s "
        f"({plain_statements} statement(s) on events tables, "
        f"{EventDelivery.objects.count():,} events written)"
    )

    receiver = WebhookReceiver().start()
    subscription = create_subscription(url=receiver.url, event_types=["order.expired"])
    receiver.secret = subscription.secret
    lapsed_reservations(n, "subscribed")
    subscribed, statements, count = timed_sweep()
    written = EventDelivery.objects.count()
    overhead = subscribed / plain - 1 if plain else 0.0
    ok = overhead <= TARGET_OVERHEAD and written == n and statements <= 2 * (n // 5000 + 1)
    print(
        f"[{'OK ' if ok else 'MISS'}] expiry sweep, one subscription: {count:,} orders in "
        f"{subscribed:.2f}s ({overhead:+.0%}; {statements} statement(s) on events tables, "
        f"{written:,} events written) (target: one INSERT ... SELECT per batch, "
        f"<= +{TARGET_OVERHEAD:.0%})"
    )

    if args.no_delivery:
        receiver.stop()
        return
    started = time.perf_counter()
    while delivery.send_due(limit=1000):
        pass
    elapsed = time.perf_counter() - started
    delivered = EventDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count()
    unverified = len(receiver.unverified())
    receiver.stop()
    print(
        f"       delivery to a local verifying receiver: {delivered:,}/{written:,} events in "
        f"{elapsed:.1f}s = {delivered / elapsed:,.0f} events/s "
        f"({settings.EVENTS_SEND_CONCURRENCY} senders, {unverified} failed verification)"
    )


if __name__ == "__main__":
    main()
