"""Delete remembered API responses older than IDEMPOTENCY_TTL_HOURS (they are never replayed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from project.idempotency import ttl
from project.models import IdempotencyRecord


class Command(BaseCommand):
    help = "Delete Idempotency-Key records past their time to live."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted, _ = IdempotencyRecord.objects.filter(
            created_at__lt=timezone.now() - ttl()
        ).delete()
        self.stdout.write(f"Deleted {deleted} idempotency record(s).")
