"""Expire reservations past their deadline (cron housekeeping; safe to run twice at once)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from raffles.models import LIVE_STATUSES, Order
from raffles.services.expiry import expire_due


class Command(BaseCommand):
    help = "Mark live orders past their deadline EXPIRED and release their numbers."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would expire; change nothing."
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        now = timezone.now()
        if dry_run:
            due = Order.objects.filter(
                Q(status__in=LIVE_STATUSES) & Q(expires_at__lte=now)
            ).order_by("pk")
            for order in due.iterator():
                self.stdout.write(f"would expire order {order.pk} ({order.status}, {order.qty})")
            self.stdout.write(f"{due.count()} orders would expire.")
            return
        result = expire_due(now=now)
        if options.get("verbosity", 1) > 1:
            for order in result.orders:
                self.stdout.write(f"expired order {order.pk} ({order.qty} numbers released)")
        self.stdout.write(f"{result.count} orders expired.")
