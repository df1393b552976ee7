"""Background tasks (Django's Tasks framework): the fast path of event delivery.

They only shorten the wait: the `EventDelivery` row is the source of truth and the sweeper
(`send_due_events`) re-drives anything a lost or failed task left behind. django.tasks has no
retries or scheduling of its own, so neither task raises for a failed send; `deliver` books it.
"""

from __future__ import annotations

import time

from django.tasks import task

from events.models import EventDelivery
from events.services import delivery

# One drain never holds a worker longer than this; the sweeper carries on from there.
DRAIN_SECONDS = 300


@task
def deliver_event(delivery_id: int) -> str:
    """One attempt for one recorded event (enqueued with the transaction that recorded it)."""
    try:
        return delivery.deliver(delivery_id=delivery_id).status
    except EventDelivery.DoesNotExist:
        return "deleted"  # its subscription was deleted before the worker got to it


@task
def drain_events() -> int:
    """Send everything due, pass after pass (enqueued for events written in bulk)."""
    deadline = time.monotonic() + DRAIN_SECONDS
    total = 0
    while time.monotonic() < deadline:
        attempted = delivery.send_due(limit=500)
        total += attempted
        if not attempted:
            break
    return total
