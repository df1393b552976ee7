"""Background tasks (Django's Tasks framework) for the outbox's fast path.

They only shorten the wait: the `OutboundMessage` row is the source of truth and the sweeper
(`send_due_messages`) re-drives anything a lost or failed task left behind. django.tasks has no
retries or scheduling of its own, so neither task raises for a failed send; `deliver` books it.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.tasks import task

from whatsapp.models import OutboundMessage
from whatsapp.services import outbound


@task
def deliver_outbound(outbound_id: int) -> str:
    """One delivery attempt for one queued message (enqueued when its transaction commits)."""
    try:
        return outbound.deliver(outbound_id=outbound_id).status
    except OutboundMessage.DoesNotExist:
        return "deleted"  # its contact was removed before the worker got to it


@task
def drain_outbox() -> int:
    """Send everything due, batch after batch (enqueued once per broadcast).

    Stops when nothing is due or after WHATSAPP_DRAIN_SECONDS, so one broadcast never holds a
    worker forever; the sweeper carries on from there.
    """
    budget = float(getattr(settings, "WHATSAPP_DRAIN_SECONDS", 600))
    deadline = time.monotonic() + budget
    total = 0
    while time.monotonic() < deadline:
        attempted = outbound.send_due(limit=500)
        total += attempted
        if not attempted:
            break
    return total
