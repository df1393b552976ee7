"""API benchmark: prints figures (not a test). Creates and drops its own scratch database and
serves it with gunicorn on 127.0.0.1.

    uv run python tests/bench/bench_api.py [--db sqlite|postgres|both] [--pg-url URL]
        [--orders 100000] [--numbers 1000000] [--requests 1000] [--concurrency 4]
        [--workers 2] [--max-seconds 60]

Measures requests/s and p50/p99 latency of
  GET /api/v1/orders?status=PENDING_PAYMENT      (a page of 50 of --orders orders)
  GET /api/v1/raffles/{id}/availability          (a --numbers-number raffle)
with keep-alive connections from --concurrency client threads. Each endpoint stops after
--requests requests or --max-seconds seconds, whichever comes first.

The data: one raffle of --numbers numbers; --orders orders of one number each, from as many
buyers; half PENDING_PAYMENT (numbers RESERVED), a quarter PAID (SOLD), a quarter CANCELLED
(released). The held numbers are mostly consecutive; 1,000 are scattered through the rest of the
range, so availability has ~1,000 ranges.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.common import percentile, scratch_database  # noqa: E402

TARGETS_P99_MS = {"orders_pending_page": 100, "raffle_availability": 150}
SCATTERED = 1_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(url: str) -> dict[str, str]:
    """A production-like process: DEBUG off (no query log), no HTTPS redirect on loopback."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WHATSAPP_"))},
        "ENV_FILE": "/nonexistent/.env",
        "DEBUG": "false",
        "SECRET_KEY": "bench-api-secret-key-not-for-production-0123456789",
        "WHATSAPP_APP_SECRET": "bench",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": url,
        "TASKS_BACKEND": "django.tasks.backends.dummy.DummyBackend",
        "AXES_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }


def seed(*, numbers: int, orders: int) -> tuple[int, str]:
    """Build the data set with set-based SQL and bulk inserts; return (raffle id, token key)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from raffles import services
    from raffles.models import Order, OrderStatus, OrderTicket, Raffle, TicketNumber
    from whatsapp.models import Contact

    started = time.perf_counter()
    raffle = Raffle.objects.create(
        title="Benchmark raffle",
        ticket_price=Decimal("10.00"),
        min_number=0,
        max_number=numbers - 1,
        max_tickets_per_order=10,
    )
    services.generate_tickets(raffle=raffle)
    print(f"  {numbers:,} numbers generated in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    now = timezone.now()
    statuses = [
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.PAID,
        OrderStatus.CANCELLED,
    ]
    # Orders that hold their number (pending, paid) take 0, 1, 2...; the last SCATTERED of them
    # take numbers spread over the rest of the range. Cancelled orders' numbers (released) come
    # right after the held block, so the available numbers form about SCATTERED ranges.
    holding = [i for i in range(orders) if statuses[i % 4] != OrderStatus.CANCELLED]
    released = [i for i in range(orders) if statuses[i % 4] == OrderStatus.CANCELLED]
    # Fewer holding orders than SCATTERED (a small run): all of them are scattered.
    scattered_count = min(SCATTERED, len(holding))
    consecutive = len(holding) - scattered_count
    gap = max(1, (numbers - orders) // (scattered_count + 1))
    number_for: dict[int, int] = {}
    for k, i in enumerate(holding):
        number_for[i] = k if k < consecutive else orders + (k - consecutive + 1) * gap
    for k, i in enumerate(released):
        number_for[i] = consecutive + k

    with transaction.atomic():
        Contact.objects.bulk_create(
            [Contact(wa_id=f"54911{i:08d}", profile_name=f"Buyer {i}") for i in range(orders)],
            batch_size=5_000,
        )
        contact_ids = list(Contact.objects.order_by("id").values_list("id", flat=True))
        Order.objects.bulk_create(
            [
                Order(
                    raffle=raffle,
                    contact_id=contact_ids[i],
                    qty=1,
                    unit_price=Decimal("10.00"),
                    currency=raffle.currency,
                    total_amount=Decimal("10.00"),
                    status=statuses[i % 4],
                    expires_at=now + timedelta(days=2) if i % 4 < 2 else None,
                    confirmed_at=now if i % 4 == 2 else None,
                    cancelled_at=now if i % 4 == 3 else None,
                )
                for i in range(orders)
            ],
            batch_size=5_000,
        )
        order_ids = list(Order.objects.order_by("id").values_list("id", flat=True))
        wanted = {number: i for i, number in number_for.items()}
        in_range = TicketNumber.objects.filter(raffle=raffle)
        ticket_of = dict(in_range.filter(number__lt=orders).values_list("number", "id"))
        scattered = [n for n in wanted if n >= orders]
        ticket_of.update(in_range.filter(number__in=scattered).values_list("number", "id"))
        OrderTicket.objects.bulk_create(
            [
                OrderTicket(order_id=order_ids[i], ticket_id=ticket_of[number])
                for number, i in wanted.items()
            ],
            batch_size=5_000,
        )
        tickets = TicketNumber._meta.db_table
        links = OrderTicket._meta.db_table
        order_table = Order._meta.db_table
        for order_status, ticket_status, until in (
            (OrderStatus.PENDING_PAYMENT, "RESERVED", now + timedelta(days=2)),
            (OrderStatus.PAID, "SOLD", None),
        ):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""
                    UPDATE {tickets} SET status = %s, reserved_until = %s,
                        reserved_by_order_id = (
                            SELECT ot.order_id FROM {links} ot WHERE ot.ticket_id = {tickets}.id
                        )
                    WHERE id IN (
                        SELECT ot.ticket_id FROM {links} ot
                        JOIN {order_table} o ON o.id = ot.order_id WHERE o.status = %s
                    )
                    """,
                    [ticket_status, until, order_status],
                )
    Raffle.objects.filter(pk=raffle.pk).update(is_active=True)
    with connection.cursor() as cursor:
        # A settled database, as on a live server: PostgreSQL's autovacuum would vacuum the bulk
        # load within a minute (it may be off on a benchmark server, as it is on ours), and
        # without a vacuumed visibility map no index-only scan is possible.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(f"  {orders:,} orders and buyers in {time.perf_counter() - started:.1f} s")

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    return raffle.pk, Token.objects.create(user=user).key


def wait_for(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz in time")


def load(
    port: int, path: str, token: str, *, requests: int, concurrency: int, max_seconds: float
) -> dict[str, float]:
    """Hit `path` from `concurrency` keep-alive clients; latencies in ms."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    remaining = [requests]
    stop_at = time.monotonic() + max_seconds
    headers = {"Authorization": f"Bearer {token}"}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop_at:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            began = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    errors.append(f"{response.status} {body[:200]!r}")
        conn.close()

    for _ in range(10):  # warm-up: connections, caches, imports
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers=headers)
        conn.getresponse().read()
        conn.close()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{path}: {len(errors)} failed requests, e.g. {errors[0]}")
    return {
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 99),
    }


def run(kind: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    print(f"\n== {kind} ==")
    url, drop = scratch_database(kind, args.pg_url, prefix="bench-api")
    env = server_env(url)
    server = None
    try:
        # Seed in a child process so this one never holds a connection gunicorn competes with.
        seeded = subprocess.run(
            [sys.executable, __file__, "--seed-only", "--numbers", str(args.numbers),
             "--orders", str(args.orders)],
            env=env, cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        print(seeded.stdout.rstrip().rsplit("\n", 1)[0])
        raffle_id, token = json.loads(seeded.stdout.strip().splitlines()[-1])
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "project.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--log-level", "warning"],
            env=env, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        wait_for(port, time.monotonic() + 60)
        endpoints = {
            "orders_pending_page": "/api/v1/orders?status=PENDING_PAYMENT",
            "raffle_availability": f"/api/v1/raffles/{raffle_id}/availability",
        }
        results = {}
        for name, path in endpoints.items():
            figures = load(
                port,
                path,
                token,
                requests=args.requests,
                concurrency=args.concurrency,
                max_seconds=args.max_seconds,
            )
            target = TARGETS_P99_MS[name]
            verdict = "OK " if figures["p99_ms"] < target else "MISS"
            print(
                f"  {verdict} {name:22} {figures['requests']:5.0f} req  "
                f"{figures['rps']:7.1f} req/s  p50 {figures['p50_ms']:6.1f} ms  "
                f"p99 {figures['p99_ms']:6.1f} ms  (target p99 < {target} ms)"
            )
            results[name] = figures
        return results
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        drop()


def seed_only(args: argparse.Namespace) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    raffle_id, token = seed(numbers=args.numbers, orders=args.orders)
    print(json.dumps([raffle_id, token]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.orders <= SCATTERED or args.numbers < 2 * args.orders:
        parser.error(f"need --orders > {SCATTERED} and --numbers >= 2 x --orders")
    if args.seed_only:
        seed_only(args)
        return
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(
        f"{args.orders:,} orders, {args.numbers:,}-number raffle, gunicorn x{args.workers}, "
        f"{args.concurrency} clients, up to {args.requests} requests / {args.max_seconds:.0f} s "
        "per endpoint"
    )
    for kind in kinds:
        run(kind, args)


if __name__ == "__main__":
    main()
