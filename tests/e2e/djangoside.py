"""The load harness's Django-side helpers, each its own process against the system's database.

    python tests/e2e/djangoside.py setup  [--raffles JSON]    migrate, operator + token, raffles
    python tests/e2e/djangoside.py loop   --every S COMMAND   run a management command forever
    python tests/e2e/djangoside.py operator --every S         confirm proofs via the services
    python tests/e2e/djangoside.py pending                    what is still in flight
    python tests/e2e/djangoside.py check  --evidence FILE     the end checks, as JSON on stdout

Run by path with the application folder on PYTHONPATH (the harness can drive another checkout
of the project), so this module imports nothing from `tests`. Each prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

DEFAULT_RAFFLES = [
    # A big raffle whose "lucky" numbers everyone wants, and a small one that sells out.
    {"title": "Launch Night", "min": 0, "max": 999, "per_order": 10, "price": "5.00"},
    {"title": "Small Draw", "min": 1, "max": 120, "per_order": 5, "price": "20.00"},
]
OPERATOR_USERNAME = "e2e-operator"


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()


def setup(raffles: list[dict[str, Any]]) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from raffles.services import create_raffle

    call_command("migrate", interactive=False, verbosity=0)
    user = get_user_model().objects.create_superuser(
        username=OPERATOR_USERNAME, email="", password=secrets.token_urlsafe(16)
    )
    token = Token.objects.create(user=user)
    created = []
    for spec in raffles:
        raffle = create_raffle(
            title=spec["title"],
            ticket_price=Decimal(spec["price"]),
            min_number=spec["min"],
            max_number=spec["max"],
            max_tickets_per_order=spec["per_order"],
            is_active=True,
            payment_instructions="Transfer to ACME Bank 0001-2345, reference your order number.",
        )
        raffle.refresh_from_db()
        assert raffle.is_active, f"raffle {raffle.pk} did not open"
        created.append({**spec, "id": raffle.pk})
    return {"token": token.key, "user_id": user.pk, "raffles": created}


class _Stopper:
    def __init__(self) -> None:
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))


def loop(command: str, every: float, args: list[str]) -> None:
    """`manage.py COMMAND` every `every` seconds in one process (no start-up cost per run)."""
    from django.core.management import call_command
    from django.db import close_old_connections, reset_queries

    stopper = _Stopper()
    runs = failures = 0
    while not stopper.stopping:
        close_old_connections()
        reset_queries()  # DEBUG=true keeps every query otherwise
        try:
            call_command(command, *args, verbosity=0)
            runs += 1
        except Exception as exc:  # a failing pass is retried; the log tells why
            failures += 1
            print(f"{command} failed: {exc!r}", file=sys.stderr, flush=True)
        stopper.sleep(every)
    print(json.dumps({"command": command, "runs": runs, "failures": failures}), flush=True)


def operator(every: float) -> None:
    """Confirm every PENDING_PAYMENT order with a proof (stand-in while the API is missing)."""
    from django.contrib.auth import get_user_model
    from django.db import close_old_connections

    from raffles.errors import RaffleError
    from raffles.models import Order, OrderStatus
    from raffles.services import confirm_payment

    stopper = _Stopper()
    user = get_user_model().objects.get(username=OPERATOR_USERNAME)
    confirmed = refused = 0
    while not stopper.stopping:
        close_old_connections()
        ids = list(
            Order.objects.filter(status=OrderStatus.PENDING_PAYMENT, proofs__isnull=False)
            .distinct()
            .values_list("pk", flat=True)[:100]
        )
        for pk in ids:
            try:
                confirm_payment(order=Order.objects.get(pk=pk), by=user, note="e2e operator")
                confirmed += 1
            except RaffleError:
                refused += 1
        stopper.sleep(every)
    print(json.dumps({"confirmed": confirmed, "refused": refused}), flush=True)


def check(evidence: dict[str, Any]) -> dict[str, Any]:
    """Every end check, from the database and what the harness saw (`evidence`)."""
    from django.db.models import Count

    from raffles.invariants import inventory_violations
    from raffles.models import LIVE_STATUSES, Order, OrderStatus, OrderTicket, TicketNumber
    from whatsapp.models import InboundMessage, OutboundMessage

    report: dict[str, Any] = {}
    report["inventory_violations"] = inventory_violations()

    # Double-sells and double reservations, counted directly (not only listed).
    def held_twice(statuses: list[str]) -> int:
        return (
            OrderTicket.objects.filter(order__status__in=statuses)
            .values("ticket_id")
            .annotate(n=Count("order_id", distinct=True))
            .filter(n__gt=1)
            .count()
        )

    report["double_sells"] = held_twice([OrderStatus.PAID])
    report["double_reservations"] = held_twice([*LIVE_STATUSES, OrderStatus.PAID])
    by_status = TicketNumber.objects.values_list("status").annotate(n=Count("pk"))
    report["tickets"] = dict(by_status.values_list("status", "n"))
    report["orders"] = dict(
        Order.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    report["orders_paid"] = report["orders"].get(OrderStatus.PAID, 0)

    # Inbound: every message a buyer got a 200 for is stored once and processed.
    stored = dict(InboundMessage.objects.values_list("wa_message_id", "state"))
    accepted = set(evidence.get("accepted_wamids", []))
    rejected = set(evidence.get("rejected_wamids", []))
    media = InboundMessage.objects.exclude(media_status="").values_list("media_status")
    report["media"] = dict(media.annotate(n=Count("pk")).values_list("media_status", "n"))
    report["inbound"] = {
        "stored": len(stored),
        "accepted_by_webhook": len(accepted),
        "by_state": dict(Counter(stored.values())),
        "accepted_not_stored": sorted(accepted - stored.keys())[:20],
        "accepted_not_stored_count": len(accepted - stored.keys()),
        "stored_not_accepted_count": len(stored.keys() - accepted),
        "rejected_but_stored": sorted(rejected & stored.keys())[:20],
        "not_processed": sorted(w for w, s in stored.items() if s != "processed")[:20],
    }

    # Outbound: each row the bot wrote reached the fake Graph API exactly once.
    graph = evidence.get("graph_log", [])
    accepted_sends = {
        item["wamid"]: item["body"]
        for item in graph
        if item.get("status") == 200 and item.get("wamid") and item["path"].endswith("/messages")
    }
    rows = list(OutboundMessage.objects.values("pk", "kind", "status", "wa_message_id", "payload"))
    delivered_statuses = {"sent", "delivered", "read"}
    lost = [r["pk"] for r in rows if r["status"] not in delivered_statuses]
    unmatched = [
        r["pk"]
        for r in rows
        if r["status"] in delivered_statuses and r["wa_message_id"] not in accepted_sends
    ]
    payload_mismatch = [
        r["pk"]
        for r in rows
        if r["wa_message_id"] in accepted_sends
        and _canonical(accepted_sends[r["wa_message_id"]]) != _canonical(r["payload"])
    ]
    row_wamids = {r["wa_message_id"] for r in rows if r["wa_message_id"]}
    orphan_sends = [w for w in accepted_sends if w not in row_wamids]
    # A row sent twice leaves one accepted send whose wamid no row holds (a row keeps the id
    # of the send it recorded): every such orphan is a message the buyer got twice.
    report["outbound"] = {
        "rows": len(rows),
        "by_status": dict(Counter(r["status"] for r in rows)),
        "by_kind": dict(Counter(r["kind"] for r in rows)),
        "graph_accepted": len(accepted_sends),
        "graph_posts": len(graph),
        "graph_refused_or_failed": sum(1 for item in graph if item.get("status") != 200),
        "lost": len(lost) + len(unmatched),
        "lost_ids": (lost + unmatched)[:20],
        "duplicates": len(orphan_sends),
        "orphan_sends": orphan_sends[:20],
        "payload_mismatch": payload_mismatch[:20],
        "retried_rows": OutboundMessage.objects.filter(attempts__gt=1).count(),
    }
    # The expiry sweep kept up: no live order is long past its deadline (the sweeper stopped a
    # few seconds before this check, so orders lapsing since then are allowed). Dead orders
    # holding nothing and live ones holding exactly their qty are in the invariants.
    from datetime import timedelta

    from django.utils import timezone

    report["live_orders_past_deadline"] = Order.objects.filter(
        status__in=LIVE_STATUSES, expires_at__lt=timezone.now() - timedelta(seconds=30)
    ).count()
    return report


def pending() -> dict[str, int]:
    """What is still in flight: the harness drains until these are zero."""
    from django.utils import timezone

    from raffles.models import LIVE_STATUSES, Order
    from whatsapp.models import InboundMessage, OutboundMessage

    return {
        "outbox": OutboundMessage.objects.filter(status__in=["queued", "sending"]).count(),
        "media": InboundMessage.objects.filter(media_status="pending").count(),
        "past_deadline": Order.objects.filter(
            status__in=LIVE_STATUSES, expires_at__lt=timezone.now()
        ).count(),
    }


def _canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    p_setup = sub.add_parser("setup")
    p_setup.add_argument("--raffles", default=json.dumps(DEFAULT_RAFFLES))
    p_loop = sub.add_parser("loop")
    p_loop.add_argument("--every", type=float, default=1.0)
    p_loop.add_argument("command")
    p_loop.add_argument("args", nargs="*")
    p_operator = sub.add_parser("operator")
    p_operator.add_argument("--every", type=float, default=1.0)
    sub.add_parser("pending")
    p_check = sub.add_parser("check")
    p_check.add_argument("--evidence", type=Path, required=True)
    args = parser.parse_args(argv)

    _django()
    if args.action == "setup":
        print(json.dumps(setup(json.loads(args.raffles))), flush=True)
    elif args.action == "loop":
        loop(args.command, args.every, args.args)
    elif args.action == "operator":
        operator(args.every)
    elif args.action == "pending":
        print(json.dumps(pending()), flush=True)
    else:
        evidence = json.loads(args.evidence.read_text())
        print(json.dumps(check(evidence), default=str), flush=True)


if __name__ == "__main__":
    main()
