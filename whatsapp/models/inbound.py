"""Messages buyers send us, stored once per wa_message_id."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

__all__ = ["InboundMessage", "InboundState", "MediaStatus", "MessageType"]


class MessageType(models.TextChoices):
    """Meta's `messages[].type` values; anything else is stored as UNKNOWN with its raw JSON."""

    TEXT = "text"
    IMAGE = "image"
    DOCUMENT = "document"
    AUDIO = "audio"
    VIDEO = "video"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    INTERACTIVE = "interactive"
    BUTTON = "button"
    REACTION = "reaction"
    ORDER = "order"
    SYSTEM = "system"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"


class InboundState(models.TextChoices):
    RECEIVED = "received", "Received"  # stored, not (yet) handed to a handler
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"  # the handler raised; `error` says why; retry_inbound re-runs it
    IGNORED = "ignored", "Ignored"  # for another business number: kept, never answered


class MediaStatus(models.TextChoices):
    NONE = "", "No media"
    # An image or document nobody asked for (the handler downloads only a payment proof).
    NOT_REQUESTED = "not_requested", "Not downloaded (not asked for)"
    PENDING = "pending", "Download pending"
    STORED = "stored", "Stored"
    SKIPPED = "skipped", "Skipped (no credentials)"
    REJECTED = "rejected", "Rejected (not a proof file)"
    FAILED = "failed", "Download failed (retried until WHATSAPP_MEDIA_MAX_ATTEMPTS)"


def media_upload_to(instance: InboundMessage, filename: str) -> str:
    """Generated names only: a buyer's filename never reaches the file system."""
    ext = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"whatsapp/inbound/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{ext}"


class InboundMessage(models.Model):
    wa_message_id = models.CharField("WhatsApp message ID", max_length=255, unique=True)
    contact = models.ForeignKey(
        "whatsapp.Contact", on_delete=models.PROTECT, related_name="inbound_messages"
    )
    phone_number_id = models.CharField("business phone number ID", max_length=64, blank=True)
    msg_type = models.CharField("type", max_length=32, choices=MessageType.choices)
    text = models.TextField(blank=True)
    reply_id = models.CharField(max_length=256, blank=True)
    reply_title = models.CharField(max_length=256, blank=True)
    media_id = models.CharField(max_length=128, blank=True)
    media_mime_type = models.CharField(max_length=128, blank=True)
    media_sha256 = models.CharField(max_length=128, blank=True)
    media_filename = models.CharField(max_length=256, blank=True)
    caption = models.TextField(blank=True)
    media_file = models.FileField(upload_to=media_upload_to, blank=True, max_length=255)
    media_status = models.CharField(
        max_length=16, choices=MediaStatus.choices, default=MediaStatus.NONE, blank=True
    )
    media_error = models.TextField(blank=True)
    media_attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict)
    state = models.CharField(
        max_length=16, choices=InboundState.choices, default=InboundState.RECEIVED
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state"], name="wa_inbound_state_idx"),
            models.Index(fields=["media_status"], name="wa_inbound_media_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.msg_type} {self.wa_message_id}"
