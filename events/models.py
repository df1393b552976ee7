"""Subscriptions of HTTP receivers (n8n) to raffle and order events, and the durable log of each
event's delivery to each of them.

An `EventDelivery` row is written in the same transaction as the change it reports and is the
source of truth: the task enqueued on commit is only the fast path, and the sweeper
(`send_due_events`) re-drives whatever is due, so a lost task or a crashed worker loses no event.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from events.types import EventType

__all__ = ["DeliveryAttempt", "DeliveryStatus", "EventDelivery", "EventSubscription"]


class EventSubscription(models.Model):
    """A receiver (an n8n Webhook node) and the events it wants, signed with its own secret."""

    # Not a URLField: Django's URL validator refuses host names without a dot, and a receiver
    # on the same network is often one ("http://n8n:5678/webhook/..."). The services validate.
    url = models.CharField(
        "target URL",
        max_length=2000,
        help_text="Where events are POSTed (http or https), e.g. an n8n Webhook node's URL.",
    )
    # The Standard Webhooks signing key, "whsec_" + base64. Shown once, when created.
    secret = models.CharField(max_length=100, editable=False)
    event_types = models.JSONField(
        default=list, help_text="The event types this receiver is sent, e.g. ['order.paid']."
    )
    active = models.BooleanField(
        default=True,
        help_text="Events are recorded and sent only while active. Turning it on again clears "
        "what disabled it.",
    )
    description = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The receiver's health. While it fails, nothing more is sent to it before `paused_until`
    # (one delivery probes it then), so a receiver that is down is not hammered by every event.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    paused_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when the system (not an operator) turned it off: a 410 answer, or failing too long.
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook subscription"

    def __str__(self) -> str:
        return self.description or self.url

    @property
    def secret_hint(self) -> str:
        """Enough of the secret to tell two apart, never enough to sign with."""
        return f"{self.secret[:10]}…" if self.secret else ""

    def wants(self, event_type: str) -> bool:
        return event_type in (self.event_types or [])


class DeliveryStatus(models.TextChoices):
    # Waiting for (another) attempt at `next_attempt_at`.
    PENDING = "pending", "Pending"
    # Claimed by one worker until `next_attempt_at` (the lease); past it, the sweeper takes over.
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    # Retried for EVENTS_RETRY_FOR_HOURS without a 2xx, or its subscription was disabled.
    FAILED = "failed", "Failed"


class EventDelivery(models.Model):
    """One event for one subscription: what is sent (`webhook-id`, type, time, data) and how
    its delivery goes."""

    subscription = models.ForeignKey(
        EventSubscription, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    # The `webhook-id` header: the same on every retry, so a receiver can drop duplicates.
    message_id = models.CharField("webhook-id", max_length=40)
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    # The envelope's `timestamp`: when the fact happened.
    occurred_at = models.DateTimeField()
    # The order, proof, raffle or subscription the event is about (see events.types.SUBJECTS).
    subject_id = models.BigIntegerField()
    # The envelope's `data`, fixed the first time it is built: at recording for single changes,
    # at the first attempt for events written in bulk (an expiry sweep).
    data = models.JSONField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Failed attempts are retried until then (EVENTS_RETRY_FOR_HOURS after it was recorded or
    # sent again by an operator).
    retry_until = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = "event delivery"
        verbose_name_plural = "event deliveries"
        indexes = [
            # The sweeper: status IN (pending, sending) AND next_attempt_at <= now.
            models.Index(fields=["status", "next_attempt_at"], name="event_delivery_due"),
            # A subscription's delivery log, newest first.
            models.Index(fields=["subscription", "-id"], name="event_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.pk} to {self.subscription_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One POST of a delivery: the receiver's answer, how long it took, what happens next."""

    delivery = models.ForeignKey(EventDelivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.status_code or '-'}"
