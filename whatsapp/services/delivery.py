"""Delivering the outbox to the Graph API: claim a row, send it once, book the outcome, retry.

1. `deliver` makes one attempt. It first *claims* the row with a conditional UPDATE
   (QUEUED or SENDING-past-its-lease, due, -> SENDING with a lease in `next_attempt_at`) and
   checks the row count, so two workers never send the same row. The HTTP call runs outside any
   transaction (SQLite has one writer; a lock must not wait on Meta). The outcome is written
   only if the row is still ours (same status and attempt number: a fencing token).
2. Transient failures go back to QUEUED with exponential backoff and jitter; permanent ones and
   anything older than `WHATSAPP_RETRY_GIVE_UP_HOURS` (the 24-hour customer-service window makes
   later sends pointless) become FAILED with Meta's code.
3. `send_due` (the sweeper, `send_due_messages`) re-drives every due row, including rows stuck
   in SENDING after a worker crashed mid-send: the tasks below are the fast path, the row the
   truth. django.tasks has no retries of its own, so no task raises for a failed send.

Duplicates: a crash or read timeout after Meta accepted a request means the retry sends the
message again. The Cloud API offers no idempotency key, and for a bot a repeated reply is far
better than a lost one, so we accept at-least-once in that narrow case (the error is stored as
"may have reached Meta"). Connection refused / connect timeouts never reached Meta and are
retried with no such risk.

Without credentials (WHATSAPP_ACCESS_TOKEN or WHATSAPP_PHONE_NUMBER_ID empty) delivery logs the
payload and marks the row RECORDED (terminal): local runs show what would have been sent.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable
from contextlib import nullcontext
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection as db_connection
from django.db import router, transaction
from django.db.models import F
from django.tasks import task
from django.utils import timezone

from whatsapp.client import GraphClient, GraphError, SendResult, credentials_configured
from whatsapp.models import DUE_STATUSES, OutboundMessage, OutboundStatus
from whatsapp.services import message_forms
from whatsapp.services.statuses import apply_pending_statuses, reconcile_pending_statuses

__all__ = [
    "deliver",
    "deliver_outbound",
    "drain_outbox",
    "enqueue_delivery",
    "enqueue_drain_on_commit",
    "retry_failed",
    "send_due",
]

logger = logging.getLogger(__name__)

# Consecutive retryable failures after which a sweeper pass stops early.
SWEEP_BREAKER = 5


# --- the tasks (the fast path) ------------------------------------------------------------------
@task
def deliver_outbound(outbound_id: int) -> str:
    """One delivery attempt for one queued message."""
    try:
        return deliver(outbound_id=outbound_id).status
    except OutboundMessage.DoesNotExist:
        return "deleted"  # its contact was removed before the worker got to it


@task
def drain_outbox() -> int:
    """Send everything due, batch after batch (enqueued once per broadcast).

    Stops when nothing is due or after WHATSAPP_DRAIN_SECONDS, so one broadcast never holds a
    worker forever; the sweeper carries on from there.
    """
    deadline = time.monotonic() + settings.WHATSAPP_DRAIN_SECONDS
    total = 0
    while time.monotonic() < deadline:
        attempted = send_due(limit=500)
        total += attempted
        if not attempted:
            break
    return total


def enqueue_delivery(outbound: OutboundMessage) -> None:
    """The fast path for one new row, called inside the transaction that wrote it.

    With the database task backend the task row is written in this very transaction: it
    commits, or rolls back, with the message it delivers, and a webhook costs SQLite one write
    transaction instead of two. Any other backend (immediate in tests, a broker) is called on
    commit, so its worker never looks for a row that is not there yet.
    """
    if _tasks_in_our_database():
        deliver_outbound.enqueue(outbound_id=outbound.pk)
    else:
        transaction.on_commit(
            partial(deliver_outbound.enqueue, outbound_id=outbound.pk), robust=True
        )


def enqueue_drain_on_commit() -> None:
    """One drain task once the caller's transaction commits (after writing many rows)."""
    transaction.on_commit(drain_outbox.enqueue, robust=True)


def _tasks_in_our_database() -> bool:
    # Imported here: the task backend's models are not loaded when this module is imported.
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    return isinstance(deliver_outbound.get_backend(), DatabaseBackend) and (
        router.db_for_write(DBTaskResult) == transaction.get_connection().alias
    )


# --- one attempt (never inside a transaction: the HTTP call must not hold a lock) ---------------
def deliver(*, outbound_id: int, client: GraphClient | None = None) -> OutboundMessage:
    """Make one delivery attempt if the row is due and this caller wins the claim."""
    return _deliver(outbound_id, client)[0]


def _claim(outbound_id: int) -> bool:
    now = timezone.now()
    # The lease must outlast the slowest attempt, or the sweeper takes a row over while its
    # request is still in flight and the message goes out twice.
    slowest = settings.WHATSAPP_HTTP_TIMEOUT_SECONDS + settings.WHATSAPP_CONNECT_TIMEOUT_SECONDS
    lease = timedelta(seconds=max(settings.WHATSAPP_SEND_LEASE_SECONDS, 2 * slowest))
    claimed = OutboundMessage.objects.filter(
        pk=outbound_id, status__in=DUE_STATUSES, next_attempt_at__lte=now
    ).update(
        status=OutboundStatus.SENDING,
        next_attempt_at=now + lease,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    return claimed == 1


def _deliver(outbound_id: int, client: GraphClient | None) -> tuple[OutboundMessage, bool]:
    """(the row after the attempt, whether this caller made the attempt)."""
    if not _claim(outbound_id):
        return OutboundMessage.objects.get(pk=outbound_id), False
    outbound = OutboundMessage.objects.get(pk=outbound_id)
    if not credentials_configured():
        logger.info(
            "WhatsApp credentials not set: recorded, not sent (outbound %s to %s): %s",
            outbound.pk,
            outbound.payload.get("to", ""),
            outbound.payload,
        )
        _finish(outbound, status=OutboundStatus.RECORDED, next_attempt_at=None)
        return _reload(outbound), True
    own_client = client is None
    graph = client or GraphClient.from_settings()
    try:
        # Free form or template (issue 18): the window decides, and a 131047 becomes the
        # template; a notice no approved template can carry is kept for an operator.
        result = message_forms.send(graph, outbound)
    except message_forms.NeedsTemplate as missing:
        _record_needs_template(outbound, missing)
    except GraphError as error:
        _record_failure(outbound, error)
    else:
        _record_success(outbound, result)
    finally:
        if own_client:
            graph.close()
    return _reload(outbound), True


def _reload(outbound: OutboundMessage) -> OutboundMessage:
    outbound.refresh_from_db()
    return outbound


def _finish(outbound: OutboundMessage, **changes: Any) -> bool:
    """Write an attempt's outcome only if the row is still ours (lease not lost)."""
    updated = OutboundMessage.objects.filter(
        pk=outbound.pk, status=OutboundStatus.SENDING, attempts=outbound.attempts
    ).update(updated_at=timezone.now(), **changes)
    if not updated:
        logger.warning(
            "outbound %s: lease lost before attempt %s finished; outcome not written: %s",
            outbound.pk,
            outbound.attempts,
            changes,
        )
    return bool(updated)


@transaction.atomic
def _record_success(outbound: OutboundMessage, result: SendResult) -> None:
    finished = _finish(
        outbound,
        status=OutboundStatus.SENT,
        wa_message_id=result.wa_message_id or None,
        sent_at=timezone.now(),
        next_attempt_at=None,
    )
    if finished and result.wa_message_id:
        apply_pending_statuses(result.wa_message_id)


def _record_failure(outbound: OutboundMessage, error: GraphError) -> None:
    now = timezone.now()
    text = str(error)
    if error.may_have_been_sent:
        text += " (the request may have reached Meta; a retry can duplicate it)"
    give_up_at = outbound.created_at + timedelta(hours=settings.WHATSAPP_RETRY_GIVE_UP_HOURS)
    if error.transient and now < give_up_at:
        delay = _backoff(outbound.attempts)
        logger.warning(
            "outbound %s attempt %s failed (%s), retrying in %.1fs: %s",
            outbound.pk,
            outbound.attempts,
            error.code,
            delay.total_seconds(),
            text,
        )
        _finish(
            outbound,
            status=OutboundStatus.QUEUED,
            next_attempt_at=now + delay,
            last_error_code=error.code[:32],
            last_error=text,
        )
        return
    logger.error(
        "outbound %s failed for good after %s attempts (%s): %s",
        outbound.pk,
        outbound.attempts,
        error.code,
        text,
    )
    _finish(
        outbound,
        status=OutboundStatus.FAILED,
        failed_at=now,
        next_attempt_at=None,
        last_error_code=error.code[:32],
        last_error=text,
    )


def _record_needs_template(outbound: OutboundMessage, missing: Exception) -> None:
    """Terminal until an operator acts: retrying cannot make a template appear."""
    logger.warning("outbound %s needs a template: %s", outbound.pk, missing)
    _finish(
        outbound,
        status=OutboundStatus.NEEDS_TEMPLATE,
        next_attempt_at=None,
        last_error_code=getattr(missing, "code", "needs_template")[:32],
        last_error=str(missing),
    )


def _backoff(attempt: int) -> timedelta:
    """Exponential backoff with jitter: a recovering Graph API is not hit by a thundering herd."""
    base = settings.WHATSAPP_RETRY_BASE_SECONDS
    ceiling = min(settings.WHATSAPP_RETRY_MAX_SECONDS, base * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


# --- the sweeper ------------------------------------------------------------------------------
def send_due(*, limit: int = 500) -> int:
    """One pass: attempt every due row (up to limit). Returns how many this pass attempted.

    Safe to run concurrently with workers and other sweepers: each row is claimed atomically.
    Sends run on WHATSAPP_SEND_CONCURRENCY threads (each with its own database connection),
    except inside a transaction, whose uncommitted rows only this connection can see.
    """
    reconcile_pending_statuses()
    now = timezone.now()
    due = list(
        OutboundMessage.objects.filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return 0
    concurrency = max(1, settings.WHATSAPP_SEND_CONCURRENCY)
    if transaction.get_connection().in_atomic_block:
        concurrency = 1
    graph = GraphClient.from_settings() if credentials_configured() else None
    with graph or nullcontext():
        sweep = _Sweep(due, graph)
        if concurrency == 1 or len(due) == 1:
            sweep.work(close_connection=False)
        else:
            threads = [
                threading.Thread(target=sweep.work, kwargs={"close_connection": True})
                for _ in range(min(concurrency, len(due)))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    return sweep.attempted


class _Sweep:
    """The rows of one sweeper pass, shared by its sender threads."""

    def __init__(self, due: list[int], graph: GraphClient | None) -> None:
        self.graph = graph  # httpx.Client is thread-safe: one connection pool for the pass
        self.attempted = 0
        self._due = iter(due)
        self._failures_in_a_row = 0
        self._stopped = False
        self._lock = threading.Lock()

    def _next(self) -> int | None:
        with self._lock:
            return None if self._stopped else next(self._due, None)

    def work(self, *, close_connection: bool) -> None:
        try:
            while (outbound_id := self._next()) is not None:
                try:
                    row, claimed = _deliver(outbound_id, self.graph)
                except OutboundMessage.DoesNotExist:
                    continue  # deleted meanwhile (its contact was removed)
                except Exception:
                    # A bug or a database hiccup: the row keeps its lease and is retried after
                    # it; the other rows of this pass still go out.
                    logger.exception("send_due: delivering outbound %s crashed", outbound_id)
                    continue
                if claimed:
                    self._tally(row)
        finally:
            if close_connection:
                db_connection.close()

    def _tally(self, row: OutboundMessage) -> None:
        with self._lock:
            self.attempted += 1
            failed = row.status == OutboundStatus.QUEUED
            self._failures_in_a_row = self._failures_in_a_row + 1 if failed else 0
            if self._failures_in_a_row >= SWEEP_BREAKER and not self._stopped:
                # The Graph API looks down: stop rather than spend a timeout on every due
                # row; the rest stay due (unclaimed) for the next pass.
                logger.warning("send_due: %s failures in a row, ending this pass", SWEEP_BREAKER)
                self._stopped = True


# --- operators ------------------------------------------------------------------------------------
@transaction.atomic
def retry_failed(*, outbound_ids: Iterable[int]) -> int:
    """An operator's "send again" (after fixing the cause, such as approving a template):
    failed rows and rows needing a template are queued, due now."""
    now = timezone.now()
    requeued = OutboundMessage.objects.filter(
        pk__in=list(outbound_ids),
        status__in=[OutboundStatus.FAILED, OutboundStatus.NEEDS_TEMPLATE],
    ).update(status=OutboundStatus.QUEUED, next_attempt_at=now, failed_at=None, updated_at=now)
    if requeued:
        enqueue_drain_on_commit()
    return requeued
