"""Delete captured webhook POSTs older than WEBHOOK_CAPTURE_RETENTION_DAYS (run daily by cron)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from whatsapp.models import WebhookCapture


class Command(BaseCommand):
    help = "Delete captured webhooks older than WEBHOOK_CAPTURE_RETENTION_DAYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=None, help="Override WEBHOOK_CAPTURE_RETENTION_DAYS."
        )

    def handle(self, *args: object, **options: object) -> None:
        days = options["days"]
        days = settings.WEBHOOK_CAPTURE_RETENTION_DAYS if days is None else int(days)
        cutoff = timezone.now() - timedelta(days=days)
        deleted, _ = WebhookCapture.objects.filter(received_at__lt=cutoff).delete()
        self.stdout.write(f"deleted {deleted} webhook captures older than {days} days")
