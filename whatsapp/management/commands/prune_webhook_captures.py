"""Transport housekeeping (run daily): delete captured webhook POSTs older than
WEBHOOK_CAPTURE_RETENTION_DAYS, and downloaded media kept longer than
WHATSAPP_MEDIA_UNCLAIMED_HOURS or belonging to no message (a payment proof keeps its own copy)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from whatsapp.models import WebhookCapture
from whatsapp.services.media import prune_media_files


class Command(BaseCommand):
    help = (
        "Delete captured webhooks older than WEBHOOK_CAPTURE_RETENTION_DAYS and downloaded "
        "media files no longer needed."
    )

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
        files = prune_media_files()
        self.stdout.write(f"deleted {files} downloaded media file(s) no longer needed")
