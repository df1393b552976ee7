"""Captured webhook POSTs (raw body and headers) kept for replay."""

from __future__ import annotations

from django.db import models

__all__ = ["CaptureOutcome", "WebhookCapture"]


class CaptureOutcome(models.TextChoices):
    RECEIVED = "received", "Received"  # stored, processing not finished (or crashed)
    PROCESSED = "processed", "Processed"
    MALFORMED_JSON = "malformed_json", "Malformed JSON"
    UNEXPECTED_SHAPE = "unexpected_shape", "Unexpected shape"
    ITEM_ERRORS = "item_errors", "Some items failed"
    RETRY_LATER = "retry_later", "Database unavailable (Meta retries)"


class WebhookCapture(models.Model):
    """One verified POST exactly as it arrived (the signature is checked before it lands here)."""

    body = models.BinaryField()
    headers = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    replayed = models.BooleanField(default=False, help_text="Came from replay_webhook.")
    outcome = models.CharField(
        max_length=20, choices=CaptureOutcome.choices, default=CaptureOutcome.RECEIVED
    )
    detail = models.TextField(blank=True)
    messages = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    statuses = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"webhook {self.pk} at {self.received_at:%Y-%m-%d %H:%M:%S} ({self.outcome})"
