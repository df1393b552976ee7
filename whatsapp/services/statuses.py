"""Meta's status webhooks for what we sent: sent, delivered, read or failed, applied in order.

A status may arrive before our own send has learned the message's id (Meta answers the webhook
and the send call in either order). Such a status waits as a `PendingStatus` row; delivery
applies it when the id becomes known, and the sweeper's `reconcile_pending_statuses` closes the
race where both sides looked for each other's row at the same moment.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from whatsapp.models import DUE_STATUSES, OutboundMessage, OutboundStatus, PendingStatus

__all__ = ["apply_pending_statuses", "reconcile_pending_statuses", "record_status"]

logger = logging.getLogger(__name__)

# Meta's delivery statuses in the only order they may be applied; FAILED is terminal.
STATUS_RANK = {OutboundStatus.SENT: 1, OutboundStatus.DELIVERED: 2, OutboundStatus.READ: 3}
STATUS_STAMP = {
    OutboundStatus.SENT: "sent_at",
    OutboundStatus.DELIVERED: "delivered_at",
    OutboundStatus.READ: "read_at",
}
# The race a pending status closes lasts milliseconds; older ones are for ids we never learned.
PENDING_RECONCILE_WINDOW = timedelta(hours=1)
PENDING_RETENTION = timedelta(days=7)


@transaction.atomic
def record_status(
    *, wa_message_id: str, status: str, at: datetime, errors: list[dict[str, Any]] | None = None
) -> None:
    """Apply a status webhook. Never moves backwards; unknown ids wait as PendingStatus rows."""
    status = (status or "").lower()
    if status not in STATUS_RANK and status != OutboundStatus.FAILED:
        logger.info("ignoring status %r for %s", status, wa_message_id)
        return
    if not _apply_status(wa_message_id, status, at, errors or []):
        PendingStatus.objects.create(
            wa_message_id=wa_message_id, status=status, at=at, errors=errors or []
        )


def apply_pending_statuses(wa_message_id: str) -> None:
    """Apply, oldest first, the statuses that arrived for this id before we learned it."""
    pending = list(PendingStatus.objects.filter(wa_message_id=wa_message_id).order_by("at", "pk"))
    for item in pending:
        _apply_status(item.wa_message_id, item.status, item.at, item.errors)
    if pending:
        PendingStatus.objects.filter(pk__in=[p.pk for p in pending]).delete()


def reconcile_pending_statuses() -> None:
    """Apply statuses that raced with their send's bookkeeping; prune ones never matched.

    `record_status` and delivery each look for the other's row, but two concurrent
    transactions can both miss; this pass closes that gap.
    """
    now = timezone.now()
    PendingStatus.objects.filter(created_at__lt=now - PENDING_RETENTION).delete()
    recent = set(
        PendingStatus.objects.filter(created_at__gte=now - PENDING_RECONCILE_WINDOW).values_list(
            "wa_message_id", flat=True
        )[:1000]
    )
    if not recent:
        return
    known = OutboundMessage.objects.filter(wa_message_id__in=recent).values_list(
        "wa_message_id", flat=True
    )
    for wa_message_id in list(known):
        with transaction.atomic():
            apply_pending_statuses(wa_message_id)


def _apply_status(wa_message_id: str, status: str, at: datetime, errors: list[dict]) -> bool:
    rows = OutboundMessage.objects.filter(wa_message_id=wa_message_id)
    if not rows.exists():
        return False
    now = timezone.now()
    if status == OutboundStatus.FAILED:
        code, text = _describe_errors(errors)
        # A read message was evidently delivered: a later "failed" is stale news.
        rows.exclude(status__in=[OutboundStatus.FAILED, OutboundStatus.READ]).update(
            status=OutboundStatus.FAILED,
            failed_at=at,
            next_attempt_at=None,
            last_error_code=code,
            last_error=text,
            updated_at=now,
        )
        return True
    stamp = STATUS_STAMP[status]
    below = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
    advanced = rows.filter(status__in=[*DUE_STATUSES, *below]).update(
        status=status,
        updated_at=now,
        **{stamp: Coalesce(F(stamp), Value(at, output_field=DateTimeField()))},
    )
    if not advanced:
        # Out of order (delivered after read): keep the status, still learn when it happened.
        rows.filter(**{f"{stamp}__isnull": True}).update(**{stamp: at})
    return True


def _describe_errors(errors: list[dict[str, Any]]) -> tuple[str, str]:
    if not errors:
        return "", "failed (no error details from Meta)"
    first = errors[0]
    code = str(first.get("code", ""))[:32]
    parts = []
    for error in errors:
        details = (error.get("error_data") or {}).get("details", "")
        title = error.get("title") or error.get("message") or ""
        parts.append(" ".join(p for p in (f"[{error.get('code', '?')}]", title, details) if p))
    return code, "; ".join(parts)
