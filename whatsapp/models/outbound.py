"""Messages we send buyers: the durable outbox and its delivery state.

A row is written in the same transaction as the decision to speak, and it is the source of
truth: the task enqueued on commit is only the fast path, and the sweeper (`send_due_messages`)
re-drives whatever is due, so a lost task or a crashed worker loses no message.
"""

from __future__ import annotations

from django.db import models

__all__ = ["DUE_STATUSES", "OutboundKind", "OutboundMessage", "OutboundStatus", "PendingStatus"]


class OutboundKind(models.TextChoices):
    TEXT = "text", "Text"
    BUTTONS = "buttons", "Reply buttons"
    LIST = "list", "List"
    READ_RECEIPT = "read_receipt", "Read receipt"


class OutboundStatus(models.TextChoices):
    # Waiting for (another) delivery attempt at `next_attempt_at`.
    QUEUED = "queued", "Queued"
    # Claimed by one worker until `next_attempt_at` (the lease); past it, the sweeper takes over.
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"
    # No credentials configured (local runs): logged and kept, never sent. Terminal.
    RECORDED = "recorded", "Recorded (not sent)"
    # A notice outside the 24-hour window with no approved template to carry it. Not retried:
    # it waits for an operator (a template approved later sends it again).
    NEEDS_TEMPLATE = "needs_template", "Needs a template"


# Rows a delivery attempt may still be made for (SENDING once its lease has run out).
DUE_STATUSES = (OutboundStatus.QUEUED, OutboundStatus.SENDING)


class OutboundMessage(models.Model):
    contact = models.ForeignKey(
        "whatsapp.Contact", on_delete=models.CASCADE, related_name="outbound_messages"
    )
    kind = models.CharField(max_length=16, choices=OutboundKind.choices)
    payload = models.JSONField(help_text="The exact request body sent to the Graph API.")
    status = models.CharField(
        max_length=16, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED
    )
    # NULL until Meta answers: unique among known ids, and a plain index both databases use for
    # status webhook lookups (a partial index on "<> ''" is not used by SQLite for "= 'x'").
    wa_message_id = models.CharField(
        "WhatsApp message id", max_length=128, null=True, blank=True, unique=True
    )
    # For read receipts: the inbound message acknowledged, so it is acknowledged once.
    acknowledges = models.CharField(max_length=128, null=True, blank=True, unique=True)
    # A notice (payment confirmed, reminder...) can go out as an approved template outside the
    # 24-hour window: its kind and its values ({"order": "42", ...}) decide which and how.
    # Database defaults too: the set-based INSERTs of the outbox need not name these columns.
    notice_kind = models.CharField(max_length=32, blank=True, default="", db_default="")
    template_params = models.JSONField(default=dict, blank=True, db_default={})
    # Set when the message went out as a template (blank: the free-form `payload`).
    template_name = models.CharField(max_length=512, blank=True, default="", db_default="")
    template_language = models.CharField(max_length=16, blank=True, default="", db_default="")
    attempts = models.PositiveIntegerField(default=0)
    last_error_code = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The sweeper: status IN (queued, sending) AND next_attempt_at <= now.
            models.Index(fields=["status", "next_attempt_at"], name="outbound_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.contact_id} ({self.status})"


class PendingStatus(models.Model):
    """A status webhook for a message id we do not know yet.

    Meta can report `sent` before our send call has returned its id (or for an id we never
    learned, after a lost response). Kept here and applied when the id becomes known; pruned
    after a while when it never does.
    """

    wa_message_id = models.CharField(max_length=128, db_index=True)
    status = models.CharField(max_length=16)
    at = models.DateTimeField()
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "pending statuses"

    def __str__(self) -> str:
        return f"{self.status} for {self.wa_message_id}"
