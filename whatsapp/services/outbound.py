"""The outbox: queue what the bot says, deliver each message once, retry, track Meta's statuses.

How a message travels:
1. `queue_message` / `queue_messages` / `queue_read_receipt` write `OutboundMessage` rows in the
   caller's transaction (status QUEUED, due now) and enqueue a delivery task: in the same
   transaction when tasks live in the same database (django-tasks-db), else on commit.
2. `deliver` makes one attempt. It first *claims* the row with a conditional UPDATE
   (QUEUED or SENDING-past-its-lease, due, -> SENDING with a lease in `next_attempt_at`) and
   checks the row count, so two workers never send the same row. The HTTP call runs outside any
   transaction (SQLite has one writer; a lock must not wait on Meta). The outcome is written
   only if the row is still ours (same status and attempt number: a fencing token).
3. Transient failures go back to QUEUED with exponential backoff and jitter; permanent ones and
   anything older than `WHATSAPP_RETRY_GIVE_UP_HOURS` (the 24-hour customer-service window makes
   later sends pointless) become FAILED with Meta's code.
4. `send_due` (the sweeper, `send_due_messages`) re-drives every due row, including rows stuck
   in SENDING after a worker crashed mid-send: the task is the fast path, the row the truth.

Duplicates: a crash or read timeout after Meta accepted a request means the retry sends the
message again. The Cloud API offers no idempotency key, and for a bot a repeated reply is far
better than a lost one, so we accept at-least-once in that narrow case (the error is stored as
"may have reached Meta"). Connection refused / connect timeouts never reached Meta and are
retried with no such risk.

Without credentials (WHATSAPP_ACCESS_TOKEN or WHATSAPP_PHONE_NUMBER_ID empty) delivery logs the
payload and marks the row RECORDED (terminal): local runs show what would have been sent.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from whatsapp.client import GraphClient, GraphError, SendResult, credentials_configured
from whatsapp.models import (
    Contact,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
    PendingStatus,
)
from whatsapp.outgoing import OutgoingMessage, read_receipt_payload

if TYPE_CHECKING:
    from whatsapp.models import InboundMessage

__all__ = [
    "deliver",
    "queue_message",
    "queue_messages",
    "queue_read_receipt",
    "record_status",
    "retry_failed",
    "send_due",
]

logger = logging.getLogger(__name__)

# Only for databases without the set-based path; stays under SQLite-like parameter limits.
BULK_BATCH_SIZE = 5000
DUE_STATUSES = (OutboundStatus.QUEUED, OutboundStatus.SENDING)
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
# Consecutive retryable failures after which a sweeper pass stops early.
SWEEP_BREAKER = 5


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


# --- queueing (runs in the caller's transaction) ------------------------------------------------
def queue_message(*, contact: Contact, message: OutgoingMessage) -> OutboundMessage:
    """Write one message to the outbox and enqueue its delivery with it."""
    payload = message.graph_payload(contact.wa_id)  # an invalid message raises before any write
    # Two INSERTs that cannot fail on their own: the caller's transaction is enough, a
    # savepoint would add two statements to every bot turn.
    with transaction.atomic(savepoint=False):
        outbound = OutboundMessage.objects.create(
            contact=contact,
            kind=message.kind,
            payload=payload,
            status=OutboundStatus.QUEUED,
            next_attempt_at=timezone.now(),
        )
        _enqueue_delivery_with(outbound)
    return outbound


@transaction.atomic
def queue_messages(*, items: Iterable[tuple[Contact, OutgoingMessage]]) -> int:
    """Write many messages (a broadcast) set-based, with one drain task on commit.

    Every message is validated before anything is written, so a bad one writes nothing. Each
    distinct message is one `INSERT ... SELECT` over the recipients' ids (the database copies
    the rendered payload and sets "to" per row): 100,000 notifications are one statement, not
    100,000 round trips nor 100,000 ORM objects.
    """
    recipients: dict[OutgoingMessage, tuple[dict[str, Any], list[int]]] = {}
    for contact, message in items:
        if not contact.wa_id:
            raise ValueError(f"contact {contact.pk} has no wa_id")
        entry = recipients.get(message)
        if entry is None:
            # Validated and rendered once per distinct message.
            entry = recipients[message] = (message.graph_payload(contact.wa_id), [])
        entry[1].append(contact.pk)
    now = timezone.now()
    written = 0
    for message, (template, contact_ids) in recipients.items():
        written += _insert_for_contacts(message.kind, template, contact_ids, now)
    if written:
        transaction.on_commit(_enqueue_drain, robust=True)
    return written


@transaction.atomic
def broadcast(*, contact_ids: Sequence[int], message: OutgoingMessage) -> int:
    """One message to many contacts, by id (a notice to every buyer of an expiry sweep): one
    `INSERT ... SELECT`, no Contact instances, one drain task on commit."""
    message.validate()
    # "to" is filled per row from each contact's wa_id; the placeholder only renders the body.
    template = message.graph_payload("-")
    written = _insert_for_contacts(message.kind, template, list(contact_ids), timezone.now())
    if written:
        transaction.on_commit(_enqueue_drain, robust=True)
    return written


def _insert_for_contacts(
    kind: str, template: dict[str, Any], contact_ids: list[int], now: datetime
) -> int:
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        payload_sql = "jsonb_set(%s::jsonb, '{to}', to_jsonb(c.wa_id))"
        recipients_sql = "unnest(%s::bigint[]) AS r(id)"
        recipients_param: Any = contact_ids
    elif connection.vendor == "sqlite":
        payload_sql = "json_set(%s, '$.to', c.wa_id)"
        recipients_sql = "json_each(%s) AS r"
        recipients_param = json.dumps(contact_ids)
    else:
        return _bulk_create_for_contacts(kind, template, contact_ids, now)
    table = connection.ops.quote_name(OutboundMessage._meta.db_table)
    contacts = connection.ops.quote_name(Contact._meta.db_table)
    recipient_id = "r.id" if connection.vendor == "postgresql" else "r.value"
    stamp = connection.ops.adapt_datetimefield_value(now)
    # A JOIN (not IN) keeps multiplicity: a contact listed twice gets the message twice.
    sql = (
        f"INSERT INTO {table} (contact_id, kind, payload, status, attempts, last_error_code,"
        " last_error, next_attempt_at, created_at, updated_at)"
        f" SELECT c.id, %s, {payload_sql}, %s, 0, '', '', %s, %s, %s"
        f" FROM {recipients_sql} JOIN {contacts} AS c ON c.id = {recipient_id}"
    )
    params = [
        kind,
        json.dumps(template),
        OutboundStatus.QUEUED.value,
        stamp,
        stamp,
        stamp,
        recipients_param,
    ]
    # The params order follows the SQL: select list first, then the recipients source.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _bulk_create_for_contacts(
    kind: str, template: dict[str, Any], contact_ids: list[int], now: datetime
) -> int:
    wa_ids = dict(Contact.objects.filter(pk__in=contact_ids).values_list("pk", "wa_id"))
    rows = [
        OutboundMessage(
            contact_id=pk,
            kind=kind,
            payload={**template, "to": wa_ids[pk]},
            status=OutboundStatus.QUEUED,
            next_attempt_at=now,
        )
        for pk in contact_ids
        if pk in wa_ids
    ]
    OutboundMessage.objects.bulk_create(rows, batch_size=BULK_BATCH_SIZE)
    return len(rows)


@transaction.atomic
def queue_read_receipt(*, message: InboundMessage) -> OutboundMessage | None:
    """Mark an inbound message as read; None when it has no id or was already acknowledged."""
    wa_message_id = message.wa_message_id
    if not wa_message_id:
        return None
    try:
        # A savepoint, so a duplicate leaves the caller's transaction usable: the unique
        # constraint on `acknowledges` decides, not a check-then-insert.
        with transaction.atomic():
            outbound = OutboundMessage.objects.create(
                contact_id=message.contact_id,
                kind=OutboundKind.READ_RECEIPT,
                payload=read_receipt_payload(wa_message_id),
                acknowledges=wa_message_id,
                status=OutboundStatus.QUEUED,
                next_attempt_at=timezone.now(),
            )
    except IntegrityError:
        return None
    _enqueue_delivery_with(outbound)
    return outbound


def _enqueue_delivery_with(outbound: OutboundMessage) -> None:
    """The fast path for one new row.

    With the database task backend the task row is written in this very transaction: it
    commits, or rolls back, with the message it delivers, and a webhook costs SQLite one write
    transaction instead of two. Any other backend (immediate in tests, a broker) is called on
    commit, so its worker never looks for a row that is not there yet.
    """
    if _tasks_in_our_database():
        _enqueue_delivery(outbound.pk)
    else:
        transaction.on_commit(partial(_enqueue_delivery, outbound.pk), robust=True)


def _tasks_in_our_database() -> bool:
    from django.db import router
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from whatsapp.tasks import deliver_outbound

    return isinstance(deliver_outbound.get_backend(), DatabaseBackend) and (
        router.db_for_write(DBTaskResult) == transaction.get_connection().alias
    )


def _enqueue_delivery(outbound_id: int) -> None:
    from whatsapp.tasks import deliver_outbound

    deliver_outbound.enqueue(outbound_id=outbound_id)


def _enqueue_drain() -> None:
    from whatsapp.tasks import drain_outbox

    drain_outbox.enqueue()


# --- delivery (never inside a transaction: the HTTP call must not hold a lock) ---------------
def deliver(*, outbound_id: int, client: GraphClient | None = None) -> OutboundMessage:
    """Make one delivery attempt if the row is due and this caller wins the claim."""
    return _deliver(outbound_id, client)[0]


def _claim(outbound_id: int) -> bool:
    now = timezone.now()
    # The lease must outlast the slowest attempt, or the sweeper takes a row over while its
    # request is still in flight and the message goes out twice.
    slowest = _setting("WHATSAPP_HTTP_TIMEOUT_SECONDS", 15) + _setting(
        "WHATSAPP_CONNECT_TIMEOUT_SECONDS", 5
    )
    lease = timedelta(seconds=max(_setting("WHATSAPP_SEND_LEASE_SECONDS", 60), 2 * slowest))
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
        result = graph.send(outbound.payload)
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
        _apply_pending(result.wa_message_id)


def _record_failure(outbound: OutboundMessage, error: GraphError) -> None:
    now = timezone.now()
    text = str(error)
    if error.may_have_been_sent:
        text += " (the request may have reached Meta; a retry can duplicate it)"
    give_up_at = outbound.created_at + timedelta(hours=_setting("WHATSAPP_RETRY_GIVE_UP_HOURS", 24))
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


def _backoff(attempt: int) -> timedelta:
    """Exponential backoff with jitter: a recovering Graph API is not hit by a thundering herd."""
    base = _setting("WHATSAPP_RETRY_BASE_SECONDS", 5)
    cap = _setting("WHATSAPP_RETRY_MAX_SECONDS", 900)
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


# --- the sweeper ------------------------------------------------------------------------------
def send_due(*, limit: int = 500) -> int:
    """One pass: attempt every due row (up to limit). Returns how many this pass attempted.

    Safe to run concurrently with workers and other sweepers: each row is claimed atomically.
    Sends run on WHATSAPP_SEND_CONCURRENCY threads (each with its own database connection),
    except inside a transaction, whose uncommitted rows only this connection can see.
    """
    _reconcile_pending_statuses()
    now = timezone.now()
    due = list(
        OutboundMessage.objects.filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return 0
    concurrency = max(1, int(_setting("WHATSAPP_SEND_CONCURRENCY", 4)))
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
    """An operator's "send again" (after fixing the cause): failed rows are queued, due now."""
    now = timezone.now()
    requeued = OutboundMessage.objects.filter(
        pk__in=list(outbound_ids), status=OutboundStatus.FAILED
    ).update(status=OutboundStatus.QUEUED, next_attempt_at=now, failed_at=None, updated_at=now)
    if requeued:
        transaction.on_commit(_enqueue_drain, robust=True)
    return requeued


# --- statuses from Meta's webhook -----------------------------------------------------------
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


def _apply_pending(wa_message_id: str) -> None:
    pending = list(PendingStatus.objects.filter(wa_message_id=wa_message_id).order_by("at", "pk"))
    for item in pending:
        _apply_status(item.wa_message_id, item.status, item.at, item.errors)
    if pending:
        PendingStatus.objects.filter(pk__in=[p.pk for p in pending]).delete()


def _reconcile_pending_statuses() -> None:
    """Apply statuses that raced with their send's bookkeeping; prune ones never matched.

    `record_status` and `deliver` each look for the other's row, but two concurrent
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
            _apply_pending(wa_message_id)
