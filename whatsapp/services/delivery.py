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

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import Exists, F, OuterRef, Q
from django.tasks import task
from django.utils import timezone

from project import heartbeats
from whatsapp.client import GraphClient, GraphError, SendResult, credentials_configured
from whatsapp.models import (
    DUE_STATUSES,
    OutboundKind,
    OutboundLane,
    OutboundMessage,
    OutboundStatus,
    PendingStatus,
)
from whatsapp.services import message_forms, pacing
from whatsapp.services.statuses import apply_pending_statuses, reconcile_pending_statuses
from whatsapp.wakeup import notify_on_commit

__all__ = [
    "Batch",
    "Claimed",
    "batch_horizon",
    "claim_batch",
    "deliver",
    "deliver_claimed",
    "deliver_outbound",
    "drain_outbox",
    "enqueue_delivery",
    "enqueue_drain_on_commit",
    "record_successes",
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

    Rings the delivery dispatcher's doorbell once the transaction commits (`whatsapp.wakeup`):
    no task row, no write beyond the message itself. A rolled-back turn rings nothing, and a
    ring that is lost (no dispatcher running) leaves the row to the dispatcher's poll and the
    sweeper.
    """
    notify_on_commit()


def enqueue_drain_on_commit() -> None:
    """After writing many rows (a broadcast): the dispatcher sends them behind the replies."""
    notify_on_commit()


# --- one attempt (never inside a transaction: the HTTP call must not hold a lock) ---------------
def deliver(*, outbound_id: int, client: GraphClient | None = None) -> OutboundMessage:
    """Make one delivery attempt if the row is due and this caller wins the claim."""
    return _deliver(outbound_id, client)[0]


def lease_seconds() -> float:
    """How long a claimed row is ours.

    It must outlast the slowest attempt, or the sweeper takes a row over while its request is
    still in flight and the message goes out twice.
    """
    return max(settings.WHATSAPP_SEND_LEASE_SECONDS, 2 * slowest_attempt_seconds())


def slowest_attempt_seconds() -> float:
    return settings.WHATSAPP_HTTP_TIMEOUT_SECONDS + settings.WHATSAPP_CONNECT_TIMEOUT_SECONDS


def _may_go_now() -> Q:
    """Order per buyer: a conversation reply waits until every earlier one to that buyer was
    accepted by Meta or failed for good. Broadcasts and read receipts may be overtaken."""
    earlier_unfinished = OutboundMessage.objects.filter(
        contact_id=OuterRef("contact_id"),
        pk__lt=OuterRef("pk"),
        lane=OutboundLane.CONVERSATION,
        status__in=DUE_STATUSES,
    ).exclude(kind=OutboundKind.READ_RECEIPT)
    return (
        ~Q(lane=OutboundLane.CONVERSATION)
        | Q(kind=OutboundKind.READ_RECEIPT)
        | ~Exists(earlier_unfinished)
    )


def _lease() -> timedelta:
    return timedelta(seconds=lease_seconds())


def _claim(outbound_id: int) -> bool:
    now = timezone.now()
    claimed = (
        OutboundMessage.objects.filter(
            pk=outbound_id, status__in=DUE_STATUSES, next_attempt_at__lte=now
        )
        .filter(_may_go_now())
        .update(
            status=OutboundStatus.SENDING,
            next_attempt_at=now + timedelta(seconds=lease_seconds()),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    return claimed == 1


def _deliver(outbound_id: int, client: GraphClient | None) -> tuple[OutboundMessage, bool]:
    """(the row after the attempt, whether this caller made the attempt)."""
    if credentials_configured() and pacing.is_paused():
        return OutboundMessage.objects.get(pk=outbound_id), False  # Meta asked us to wait
    # Taken before the claim, so it ends no later than the lease the claim writes.
    lease_ends = time.monotonic() + _lease().total_seconds()
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
    # A slot under Meta's cap, shared with every other sender, taken only once the row is ours
    # (a slot taken for a row another sender then claims would be wasted).
    wait = pacing.take_one()
    if wait is None:  # paused meanwhile: the row goes back, due when the pause ends
        until = timezone.now() + timedelta(seconds=settings.WHATSAPP_THROUGHPUT_PAUSE_SECONDS)
        _finish(outbound, status=OutboundStatus.QUEUED, next_attempt_at=until)
        return _reload(outbound), False
    time.sleep(wait)
    pacing.local_turn()
    own_client = client is None
    graph = client or GraphClient.from_settings()
    try:
        # Free form or template (issue 18): the window decides, and a 131047 becomes the
        # template; a notice no approved template can carry is kept for an operator.
        result = message_forms.send(graph, outbound)
    except message_forms.NeedsTemplate as missing:
        _record_needs_template(outbound, missing)
    except GraphError as error:
        _write_within_lease(partial(_record_failure, outbound, error), outbound, lease_ends)
    else:
        _write_within_lease(partial(_record_success, outbound, result), outbound, lease_ends)
    finally:
        if own_client:
            graph.close()
    return _reload(outbound), True


def _write_within_lease(
    write: Callable[[], object], outbound: OutboundMessage, lease_ends: float
) -> None:
    """Write an attempt's outcome, retrying while the database is away, until the lease ends.

    Meta may already have accepted the message: if the database went away meanwhile, giving up
    would leave the row to be sent again when its lease ends. The outcome is kept in memory and
    written when the database returns (the fencing token in `_finish` still guards it).
    """
    delay = 0.5
    while True:
        try:
            write()
            return
        except (OperationalError, InterfaceError) as error:
            if db_connection.in_atomic_block or time.monotonic() + delay >= lease_ends - 1:
                logger.error(
                    "outbound %s: the outcome of attempt %s could not be written before the "
                    "lease ended (%s); the row will be tried again",
                    outbound.pk,
                    outbound.attempts,
                    type(error).__name__,
                )
                raise
            if delay == 0.5:  # once per outcome, not per try
                logger.warning(
                    "outbound %s: database unavailable while writing the outcome of attempt %s; "
                    "keeping it and retrying until the lease ends",
                    outbound.pk,
                    outbound.attempts,
                )
        db_connection.close()  # broken: the next try opens a fresh one
        time.sleep(delay)
        delay = min(delay * 2, settings.DATABASE_RETRY_MAX_SECONDS)


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
    created_at = outbound.created_at or (
        OutboundMessage.objects.values_list("created_at", flat=True).get(pk=outbound.pk)
    )
    give_up_at = created_at + timedelta(hours=settings.WHATSAPP_RETRY_GIVE_UP_HOURS)
    if error.code in THROTTLE_CODES and now < give_up_at:
        _record_throttled(outbound, error, text, now)
        return
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


# Meta's throttling: not a failure of this message, so no backoff of its own. 130429 is the
# number's throughput (everyone pauses), 131056 the pair rate with one buyer (only they pause).
THROUGHPUT_ERROR = "130429"
PAIR_RATE_ERROR = "131056"
THROTTLE_CODES = (THROUGHPUT_ERROR, PAIR_RATE_ERROR)


def _record_throttled(outbound: OutboundMessage, error: GraphError, text: str, now: Any) -> None:
    if error.code == THROUGHPUT_ERROR:
        until = now + timedelta(seconds=settings.WHATSAPP_THROUGHPUT_PAUSE_SECONDS)
        pacing.pause_number(until=until)
    else:
        until = now + timedelta(seconds=settings.WHATSAPP_PAIR_PAUSE_SECONDS)
    logger.warning(
        "outbound %s throttled by Meta (%s); the %s waits until %s",
        outbound.pk,
        error.code,
        "number" if error.code == THROUGHPUT_ERROR else "buyer",
        until.isoformat(),
    )
    with transaction.atomic():
        _finish(
            outbound,
            status=OutboundStatus.QUEUED,
            next_attempt_at=until,
            last_error_code=error.code[:32],
            last_error=text,
        )
        if error.code == PAIR_RATE_ERROR:
            # Everything else due for this buyer waits too (their order is kept anyway).
            OutboundMessage.objects.filter(
                contact_id=outbound.contact_id,
                status=OutboundStatus.QUEUED,
                next_attempt_at__lt=until,
            ).update(next_attempt_at=until, updated_at=now)


def _backoff(attempt: int) -> timedelta:
    """Exponential backoff with jitter: a recovering Graph API is not hit by a thundering herd."""
    base = settings.WHATSAPP_RETRY_BASE_SECONDS
    ceiling = min(settings.WHATSAPP_RETRY_MAX_SECONDS, base * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


# --- batches (the dispatcher) -----------------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    """A row this caller claimed, with what sending it needs, and when it may go (the pace)."""

    pk: int
    contact_id: int
    lane: int
    payload: dict[str, Any]
    attempts: int
    send_at: datetime
    # A notice (issue 18) goes through `message_forms`: free form or template by the window.
    notice_kind: str = ""
    template_params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Batch:
    rows: list[Claimed]
    # When nothing could be claimed: seconds until the pace allows a send again (else 0).
    pace_wait: float


def batch_horizon() -> float:
    """Seconds within which every row of a batch must *start* its request.

    A batch is claimed at once and its rows share one lease: started within this horizon and
    finished within the slowest attempt after, every row is done within half the lease, so the
    sweeper never takes back a row that is still in flight.
    """
    return max(0.0, lease_seconds() / 2 - slowest_attempt_seconds())


def claim_batch(*, limit: int) -> Batch:
    """Claim up to `limit` due rows: conversation lane first, order per buyer kept, and no more
    than the shared pace lets start within `batch_horizon()`. One short transaction."""
    now = timezone.now()
    with transaction.atomic():
        pace = pacing.Pace.lock(now=now)
        room = min(limit, pace.room(horizon=max(batch_horizon(), pacing.interval())))
        if room <= 0:
            pace.save()  # the inbound messages charged stay charged
            return Batch(rows=[], pace_wait=max(pace.wait_seconds(), 0.01))
        claimed = _claim_rows(now=now, limit=room)
        slots = pace.take(len(claimed))
    rows = [
        Claimed(
            pk=pk,
            contact_id=contact,
            lane=lane,
            payload=payload,
            attempts=n,
            send_at=at,
            notice_kind=kind,
            template_params=params,
        )
        for (pk, contact, lane, payload, n, kind, params), at in zip(claimed, slots, strict=True)
    ]
    return Batch(rows=rows, pace_wait=0.0)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _claim_rows(*, now: datetime, limit: int) -> list[tuple[Any, ...]]:
    """One `WITH picked (due, eligible, by lane) UPDATE ... RETURNING` on both databases.

    On PostgreSQL the candidates are locked with SKIP LOCKED, so dispatchers on several hosts
    take disjoint rows without waiting on each other; SQLite has one writer at a time anyway.
    The outer WHERE repeats the due condition: the claim stays a compare-and-set.
    """
    connection = transaction.get_connection()
    ops = connection.ops
    table = ops.quote_name(OutboundMessage._meta.db_table)
    stamp = ops.adapt_datetimefield_value(now)
    lease_until = ops.adapt_datetimefield_value(now + timedelta(seconds=lease_seconds()))
    due = tuple(str(s) for s in DUE_STATUSES)
    postgres = connection.vendor == "postgresql"
    # PostgreSQL may rescan an IN-subquery, and with SKIP LOCKED each rescan finds other rows:
    # a materialized CTE picks the candidates exactly once.
    materialized = "MATERIALIZED " if postgres else ""
    skip_locked = " FOR UPDATE OF o SKIP LOCKED" if postgres else ""
    sql = (
        f"WITH picked AS {materialized}(SELECT o.id FROM {table} AS o"
        "  WHERE o.status IN (%s, %s) AND o.next_attempt_at <= %s"
        "  AND (o.lane <> %s OR o.kind = %s OR NOT EXISTS ("
        f"   SELECT 1 FROM {table} AS e WHERE e.contact_id = o.contact_id AND e.id < o.id"
        "    AND e.lane = %s AND e.kind <> %s AND e.status IN (%s, %s)))"
        f"  ORDER BY o.lane, o.next_attempt_at, o.id LIMIT %s{skip_locked})"
        f" UPDATE {table} SET status = %s, next_attempt_at = %s, attempts = attempts + 1,"
        " updated_at = %s"
        " WHERE id IN (SELECT id FROM picked)"
        " AND status IN (%s, %s) AND next_attempt_at <= %s"
        " RETURNING id, contact_id, lane, payload, attempts, notice_kind, template_params"
    )
    conversation = int(OutboundLane.CONVERSATION)
    receipt = str(OutboundKind.READ_RECEIPT)
    params = [
        *due,
        stamp,
        conversation,
        receipt,
        conversation,
        receipt,
        *due,
        limit,
        str(OutboundStatus.SENDING),
        lease_until,
        stamp,
        *due,
        stamp,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    decoded = [
        (pk, contact, lane, _json(p), n, kind or "", _json(params) or {})
        for pk, contact, lane, p, n, kind, params in rows
    ]
    # RETURNING has no order: the pace's slots go to the conversation lane first, oldest first.
    decoded.sort(key=lambda row: (row[2], row[0]))
    return decoded


def record_successes(accepted: list[tuple[Claimed, SendResult]]) -> None:
    """Book many accepted sends in one transaction (one turn of SQLite's write lock).

    Each row is still fenced by its attempt number (as `_finish` fences one); statuses that
    raced ahead of the send are looked up once for the whole group.
    """
    if not accepted:
        return
    now = timezone.now()
    with transaction.atomic():
        connection = transaction.get_connection()
        sql = _book_sent_sql(connection)
        stamp = connection.ops.adapt_datetimefield_value(now)
        booked = []
        with connection.cursor() as cursor:
            for row, result in accepted:
                wa_message_id = result.wa_message_id or None
                cursor.execute(
                    sql,
                    [_SENT, wa_message_id, stamp, stamp, row.pk, _SENDING, row.attempts],
                )
                if cursor.rowcount != 1:
                    logger.warning(
                        "outbound %s: lease lost before attempt %s finished; not booked as sent",
                        row.pk,
                        row.attempts,
                    )
                elif wa_message_id:
                    booked.append(wa_message_id)
        raced = set(
            PendingStatus.objects.filter(wa_message_id__in=booked).values_list(
                "wa_message_id", flat=True
            )
        )
        for wa_message_id in raced:
            apply_pending_statuses(wa_message_id)


_SENT, _SENDING = str(OutboundStatus.SENT), str(OutboundStatus.SENDING)


def _book_sent_sql(connection: Any) -> str:
    """`_finish(..., status=SENT)` as one statement written out: the dispatcher books every
    accepted send, and building the UPDATE through the ORM cost more than the database's
    work (about 0.3 ms a row, in the writer lock's turn)."""
    table = connection.ops.quote_name(OutboundMessage._meta.db_table)
    return (
        f"UPDATE {table} SET status = %s, wa_message_id = %s, sent_at = %s,"
        " next_attempt_at = NULL, updated_at = %s"
        " WHERE id = %s AND status = %s AND attempts = %s"
    )


def deliver_claimed(
    row: Claimed,
    *,
    graph: GraphClient | None,
    on_accepted: Callable[[Claimed, SendResult], None] | None = None,
) -> str:
    """Send one claimed row (at its slot) and book the outcome; returns the new status.

    `on_accepted`: hand an accepted send to the caller to book with others
    (`record_successes`) instead of booking it here; failures are always booked here.
    """
    outbound = OutboundMessage(
        pk=row.pk,
        contact_id=row.contact_id,
        lane=row.lane,
        attempts=row.attempts,
        payload=row.payload,
        notice_kind=row.notice_kind,
        template_params=row.template_params,
    )
    outbound.created_at = None  # read only if the attempt fails (see _record_failure)
    if graph is None:
        logger.info(
            "WhatsApp credentials not set: recorded, not sent (outbound %s to %s): %s",
            row.pk,
            row.payload.get("to", ""),
            row.payload,
        )
        _finish(outbound, status=OutboundStatus.RECORDED, next_attempt_at=None)
        return OutboundStatus.RECORDED
    if not _wait_for_slot(outbound, row.send_at):
        return OutboundStatus.QUEUED
    try:
        # A plain reply goes as written; a notice in the form the window allows (issue 18),
        # which reads the buyer's last inbound time, so only notices pay that query.
        result = message_forms.send(graph, outbound) if row.notice_kind else graph.send(row.payload)
    except message_forms.NeedsTemplate as missing:
        _record_needs_template(outbound, missing)
        return OutboundStatus.NEEDS_TEMPLATE
    except GraphError as error:
        _record_failure(outbound, error)
        return "failed-attempt"
    if on_accepted is not None:
        on_accepted(row, result)
    else:
        _record_success(outbound, result)
    return OutboundStatus.SENT


def _wait_for_slot(outbound: OutboundMessage, slot: datetime) -> bool:
    """Sleep until the row's slot under the shared pace, then take a turn in this process's
    one-second window: a thread a busy machine stalled past its slot does not then go out
    bunched with the punctual ones."""
    wait = (slot - timezone.now()).total_seconds()
    if wait > 0:
        time.sleep(wait)
    pacing.local_turn()
    return True


# --- the sweeper ------------------------------------------------------------------------------
def send_due(*, limit: int = 500) -> int:
    """One pass: attempt every due row (up to limit). Returns how many this pass attempted.

    Safe to run concurrently with workers and other sweepers: each row is claimed atomically.
    While a delivery dispatcher beats, only rows whose lease ran out are due here. Sends run on
    WHATSAPP_SEND_CONCURRENCY threads (each with its own database connection), except inside a
    transaction, whose uncommitted rows only this connection can see.
    """
    reconcile_pending_statuses()
    now = timezone.now()
    rows = OutboundMessage.objects.filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)
    if heartbeats.alive(heartbeats.DISPATCHER):
        # A live dispatcher sends each row the moment it is due. Racing it through a broadcast
        # backlog only bunches sends past Meta's cap (two processes, two one-second windows),
        # so the sweeper keeps to what a dispatcher lost: claimed rows whose lease ran out.
        rows = rows.filter(status=OutboundStatus.SENDING)
    rows = rows.order_by("lane", "next_attempt_at", "pk")
    due = _chains(list(rows.values_list("pk", "contact_id", "lane", "kind")[:limit]))
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


def _chains(rows: list[tuple[int, int, int, str]]) -> list[list[int]]:
    """Due rows as chains one thread sends in turn: a buyer's conversation replies form one
    chain in the order written (the claim refuses a reply whose predecessor is unfinished, so
    two threads must not split them); every other row is a chain of its own."""
    chains: list[list[int]] = []
    by_buyer: dict[int, list[int]] = {}
    for pk, contact_id, lane, kind in rows:
        if lane == OutboundLane.CONVERSATION and kind != OutboundKind.READ_RECEIPT:
            chain = by_buyer.get(contact_id)
            if chain is None:
                chain = by_buyer[contact_id] = []
                chains.append(chain)
            chain.append(pk)
        else:
            chains.append([pk])
    for chain in by_buyer.values():
        chain.sort()
    return chains


class _Sweep:
    """The rows of one sweeper pass, shared by its sender threads."""

    def __init__(self, due: list[list[int]], graph: GraphClient | None) -> None:
        self.graph = graph  # httpx.Client is thread-safe: one connection pool for the pass
        self.attempted = 0
        self._due = iter(due)
        self._failures_in_a_row = 0
        self._stopped = False
        self._lock = threading.Lock()

    def _next(self) -> list[int] | None:
        with self._lock:
            return None if self._stopped else next(self._due, None)

    def work(self, *, close_connection: bool) -> None:
        try:
            while (chain := self._next()) is not None:
                for outbound_id in chain:
                    if not self._attempt(outbound_id):
                        break  # the buyer's later replies wait behind this one
        finally:
            if close_connection:
                db_connection.close()

    def _attempt(self, outbound_id: int) -> bool:
        """Whether the row went out (or is done for good) so its successor may follow."""
        if self._stopped:
            return False
        try:
            row, claimed = _deliver(outbound_id, self.graph)
        except OutboundMessage.DoesNotExist:
            return True  # deleted meanwhile (its contact was removed)
        except Exception:
            # A bug or a database hiccup: the row keeps its lease and is retried after it;
            # the other rows of this pass still go out.
            logger.exception("send_due: delivering outbound %s crashed", outbound_id)
            return False
        if claimed:
            self._tally(row)
        return claimed and row.status not in DUE_STATUSES

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
