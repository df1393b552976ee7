"""Delete delivered and failed events older than EVENTS_RETENTION_DAYS (run daily)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from events.services.delivery import prune_deliveries


class Command(BaseCommand):
    help = "Delete delivered and failed events (and their logs) older than EVENTS_RETENTION_DAYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Override the setting.")

    def handle(self, *args: object, **options: object) -> None:
        days = options["days"]
        days = settings.EVENTS_RETENTION_DAYS if days is None else int(days)
        deleted = prune_deliveries(older_than=timedelta(days=days))
        self.stdout.write(f"deleted {deleted} event deliveries older than {days} days")
