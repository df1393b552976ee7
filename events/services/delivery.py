"""Delivering events to receivers: sign (Standard Webhooks), POST, book the answer, retry.

How an event travels (the outbox pattern, as `whatsapp.services.delivery` uses it):
1. `events.services.recording` writes an `EventDelivery` row per receiver in the transaction
   of the change, and enqueues a delivery task beside it.
2. `deliver` makes one attempt. It first *claims* the row with a conditional UPDATE (PENDING or
   SENDING-past-its-lease, due, same attempt count -> SENDING with a lease in `next_attempt_at`)
   and checks the row count, so two workers never send the same row. The HTTP call runs outside
   any transaction; its outcome is written only if the row is still ours (same status and
   attempt number: a fencing token).
3. A 2xx answer delivers it. Any other answer (or none) is retried with exponential backoff and
   jitter until `retry_until` (EVENTS_RETRY_FOR_HOURS, about 3 days), then the row FAILS. A 410
   answer disables the subscription at once; a receiver with no 2xx for
   EVENTS_DISABLE_AFTER_HOURS is disabled too (both show on the admin's landing page).
4. While a receiver fails, nothing else is sent to it before `paused_until` (its own backoff):
   one event probes it, so 10,000 waiting events do not each knock on a dead server. Its first
   2xx after failing makes every waiting event due at once.
5. `send_due` (the sweeper, `send_due_events`) re-drives every due row, including rows stuck in
   SENDING after a worker died mid-send.

Every attempt is signed afresh (`webhook-timestamp` is the time of the attempt, as receivers
check it against replays) while `webhook-id` and the body stay the same. A receiver that
answered 2xx after a lost connection may see an event twice: it drops the repeated `webhook-id`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from standardwebhooks import Webhook

from events.errors import DeliveryInProgress, SubscriptionInactive
from events.models import DeliveryAttempt, DeliveryStatus, EventDelivery, EventSubscription
from events.payloads import SubjectGone, build_data, build_many
from events.services.recording import retry_window
from events.services.subscriptions import disable_subscription

__all__ = [
    "body_of",
    "deliver",
    "http_client",
    "prune_deliveries",
    "send_again",
    "send_due",
    "signed_headers",
]

logger = logging.getLogger(__name__)

DUE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
# What the log keeps of a receiver's answer.
EXCERPT_BYTES = 2048
EXCERPT_CHARS = 500
USER_AGENT = "RaffleBackoffice-Webhooks/1.0"
# Events whose data is built together before a sweeper pass sends them.
BUILD_BATCH = 500
# A receiver that is seen succeeding has `last_success_at` written at most this often.
SUCCESS_STAMP_EVERY = timedelta(seconds=30)


# --- what is sent ---------------------------------------------------------------------------------


def body_of(delivery: EventDelivery, data: Any) -> str:
    """The exact body: compact JSON, keys in envelope order, non-ASCII as is (what JavaScript's
    `JSON.stringify` prints for the parsed body, so a receiver can verify either)."""
    envelope = {
        "type": delivery.event_type,
        "timestamp": delivery.occurred_at.astimezone(UTC).isoformat(),
        "data": data,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def signed_headers(*, secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt, signed by the `standardwebhooks` library."""
    at = at.astimezone(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def http_client() -> httpx.Client:
    """One client (connection pool) for a pass. Redirects are not followed: an event goes to
    the URL the subscription names and nowhere else."""
    timeout = httpx.Timeout(
        settings.EVENTS_HTTP_TIMEOUT_SECONDS, connect=settings.EVENTS_CONNECT_TIMEOUT_SECONDS
    )
    return httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    excerpt: str
    duration_ms: int
    error: str

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _post(client: httpx.Client, url: str, body: str, headers: dict[str, str]) -> Answer:
    started = time.monotonic()
    try:
        with client.stream("POST", url, content=body.encode(), headers=headers) as response:
            # Only the start of the answer is kept: a receiver cannot make us read a huge body.
            excerpt = b""
            for chunk in response.iter_bytes():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES:
                    break
            code = response.status_code
        error = "" if 200 <= code < 300 else f"HTTP {code}"
    except Exception as exc:  # whatever went wrong (bad URL, TLS, network), the attempt failed
        code, excerpt = None, b""
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = int((time.monotonic() - started) * 1000)
    text = excerpt.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    return Answer(status_code=code, excerpt=text, duration_ms=duration_ms, error=error)


# --- one attempt ----------------------------------------------------------------------------------


def deliver(*, delivery_id: int, client: httpx.Client | None = None) -> EventDelivery:
    """Make one attempt if the row is due, its receiver not paused, and this caller wins the
    claim; the row as it is afterwards. Never inside a transaction: the HTTP call must hold
    no lock."""
    own = client is None
    client = client or http_client()
    try:
        row, _ = _deliver(delivery_id, client)
    finally:
        if own:
            client.close()
    row.refresh_from_db()
    return row


def _lease() -> timedelta:
    # Longer than the slowest attempt, or the sweeper takes a row over while it is in flight.
    slowest = settings.EVENTS_HTTP_TIMEOUT_SECONDS + settings.EVENTS_CONNECT_TIMEOUT_SECONDS
    return timedelta(seconds=max(settings.EVENTS_SEND_LEASE_SECONDS, 2 * slowest))


def _ready(row: EventDelivery, now: datetime) -> bool:
    sub = row.subscription
    return (
        sub.active
        and (sub.paused_until is None or sub.paused_until <= now)
        and row.status in DUE_STATUSES
        and row.next_attempt_at is not None
        and row.next_attempt_at <= now
    )


def _claim(row: EventDelivery, now: datetime) -> bool:
    claimed = EventDelivery.objects.filter(
        pk=row.pk, status__in=DUE_STATUSES, next_attempt_at__lte=now, attempts=row.attempts
    ).update(
        status=DeliveryStatus.SENDING,
        next_attempt_at=now + _lease(),
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if claimed:
        row.status, row.attempts = DeliveryStatus.SENDING, row.attempts + 1
    return claimed == 1


def _deliver(delivery_id: int, client: httpx.Client) -> tuple[EventDelivery, bool]:
    now = timezone.now()
    row = EventDelivery.objects.select_related("subscription").get(pk=delivery_id)
    if not _ready(row, now) or not _claim(row, now):
        return row, False
    data = row.data
    if data is None:
        try:
            data = _build_once(row)
        except SubjectGone as gone:
            _finish(row, status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=str(gone))
            return row, True
    body = body_of(row, data)
    sub = row.subscription
    at = timezone.now()
    headers = signed_headers(secret=sub.secret, message_id=row.message_id, body=body, at=at)
    answer = _post(client, sub.url, body, headers)
    _book(row, answer, at=timezone.now())
    return row, True


def _build_once(row: EventDelivery) -> Any:
    """Data for an event written in bulk, built at its first attempt and then kept, so every
    retry sends the same body."""
    data = build_data(event_type=row.event_type, subject_id=row.subject_id)
    if not EventDelivery.objects.filter(pk=row.pk, data__isnull=True).update(data=data):
        # Someone built it first (a sweeper pass): theirs is the body every attempt sends.
        data = EventDelivery.objects.values_list("data", flat=True).get(pk=row.pk)
    row.data = data
    return data


def _finish(row: EventDelivery, **changes: Any) -> bool:
    """Write an attempt's outcome only if the row is still ours (lease not lost)."""
    updated = EventDelivery.objects.filter(
        pk=row.pk, status=DeliveryStatus.SENDING, attempts=row.attempts
    ).update(updated_at=timezone.now(), **changes)
    if not updated:
        logger.warning(
            "event delivery %s: lease lost before attempt %s finished; outcome not written",
            row.pk,
            row.attempts,
        )
    return bool(updated)


@transaction.atomic
def _book(row: EventDelivery, answer: Answer, *, at: datetime) -> None:
    """The attempt's log line, the row's outcome and the receiver's health, in one write."""
    sub = row.subscription
    next_attempt: datetime | None = None
    if answer.delivered:
        _finish(
            row,
            status=DeliveryStatus.DELIVERED,
            delivered_at=at,
            next_attempt_at=None,
            last_status_code=answer.status_code,
            last_error="",
        )
        _healthy(sub, at)
    elif answer.status_code == 410:
        reason = "the receiver answered 410 Gone"
        _finish(
            row,
            status=DeliveryStatus.FAILED,
            next_attempt_at=None,
            last_status_code=410,
            last_error=f"{reason}: subscription disabled",
        )
        disable_subscription(subscription_id=sub.pk, reason=reason, now=at)
        logger.warning("webhook subscription %s disabled: %s", sub.pk, reason)
    else:
        if at >= row.retry_until:
            _finish(
                row,
                status=DeliveryStatus.FAILED,
                next_attempt_at=None,
                last_status_code=answer.status_code,
                last_error=f"gave up after {row.attempts} attempts: {answer.error}"[:1000],
            )
        else:
            next_attempt = at + _backoff(row.attempts)
            _finish(
                row,
                status=DeliveryStatus.PENDING,
                next_attempt_at=next_attempt,
                last_status_code=answer.status_code,
                last_error=answer.error,
            )
        _unhealthy(sub, at)
    DeliveryAttempt.objects.create(
        delivery_id=row.pk,
        number=row.attempts,
        at=at,
        status_code=answer.status_code,
        response_excerpt=answer.excerpt,
        duration_ms=answer.duration_ms,
        error=answer.error,
        next_attempt_at=next_attempt,
    )


def _healthy(sub: EventSubscription, now: datetime) -> None:
    # `sub` was read when this attempt began: a healthy receiver costs no statement here
    # (`last_success_at` is refreshed every SUCCESS_STAMP_EVERY at most).
    recovered = sub.consecutive_failures > 0 and EventSubscription.objects.filter(
        pk=sub.pk, consecutive_failures__gt=0
    ).update(consecutive_failures=0, failing_since=None, paused_until=None, last_success_at=now)
    if recovered:
        # The receiver is back: what waited for it (its own backoff) is due now.
        EventDelivery.objects.filter(
            subscription_id=sub.pk, status=DeliveryStatus.PENDING, next_attempt_at__gt=now
        ).update(next_attempt_at=now, updated_at=now)
        transaction.on_commit(_enqueue_drain, robust=True)
        logger.info("webhook subscription %s answers again", sub.pk)
        return
    if sub.last_success_at is None or sub.last_success_at < now - SUCCESS_STAMP_EVERY:
        EventSubscription.objects.filter(pk=sub.pk).update(last_success_at=now)


def _unhealthy(sub: EventSubscription, now: datetime) -> None:
    failures = sub.consecutive_failures + 1
    EventSubscription.objects.filter(pk=sub.pk).update(
        consecutive_failures=F("consecutive_failures") + 1,
        failing_since=Coalesce(F("failing_since"), now),
        last_failure_at=now,
        paused_until=now + _backoff(failures),
    )
    since = sub.failing_since or now
    limit = timedelta(hours=settings.EVENTS_DISABLE_AFTER_HOURS)
    if now - since >= limit:
        reason = (
            f"no 2xx answer for {settings.EVENTS_DISABLE_AFTER_HOURS:g} hours "
            f"(failing since {since:%Y-%m-%d %H:%M} UTC)"
        )
        if disable_subscription(subscription_id=sub.pk, reason=reason, now=now):
            logger.warning("webhook subscription %s disabled: %s", sub.pk, reason)


def _backoff(attempt: int) -> timedelta:
    """Exponential backoff with jitter (between half and all of the step), capped."""
    base = settings.EVENTS_RETRY_BASE_SECONDS
    cap = settings.EVENTS_RETRY_MAX_SECONDS
    ceiling = min(cap, base * 2 ** min(max(attempt - 1, 0), 40))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def _enqueue_drain() -> None:
    from events.tasks import drain_events

    drain_events.enqueue()


# --- the sweeper ------------------------------------------------------------------------------


def send_due(*, limit: int = 500) -> int:
    """One pass: attempt every due row whose receiver is not paused (up to `limit`). Returns
    how many were attempted. Safe beside workers and other sweepers: each row is claimed.

    Sends run on EVENTS_SEND_CONCURRENCY threads (each with its own database connection),
    except inside a transaction, whose uncommitted rows only this connection can see.
    """
    now = timezone.now()
    due = list(
        EventDelivery.objects.filter(
            Q(subscription__paused_until__isnull=True) | Q(subscription__paused_until__lte=now),
            status__in=DUE_STATUSES,
            next_attempt_at__lte=now,
            subscription__active=True,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return 0
    _build_pending_data(due)
    concurrency = max(1, settings.EVENTS_SEND_CONCURRENCY)
    if transaction.get_connection().in_atomic_block:
        concurrency = 1
    with http_client() as client:
        sweep = _Sweep(due, client)
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


def _build_pending_data(due: list[int]) -> None:
    """Build, for a whole pass at once, the data of due events written in bulk (an expiry
    sweep): a few queries per 500 orders instead of a few per event. The first data written
    wins, so an event already sent keeps its body."""
    missing: dict[str, dict[int, list[int]]] = {}
    for pk, event_type, subject_id in EventDelivery.objects.filter(
        pk__in=due, data__isnull=True
    ).values_list("pk", "event_type", "subject_id"):
        missing.setdefault(event_type, {}).setdefault(subject_id, []).append(pk)
    for event_type, rows_by_subject in missing.items():
        subject_ids = list(rows_by_subject)
        for i in range(0, len(subject_ids), BUILD_BATCH):
            chunk = subject_ids[i : i + BUILD_BATCH]
            built = build_many(event_type=event_type, subject_ids=chunk)
            rows = [
                EventDelivery(pk=pk, data=built[subject_id])
                for subject_id in chunk
                if subject_id in built
                for pk in rows_by_subject[subject_id]
            ]
            EventDelivery.objects.filter(data__isnull=True).bulk_update(
                rows, ["data"], batch_size=BUILD_BATCH
            )


class _Sweep:
    """The rows of one pass, shared by its sender threads."""

    def __init__(self, due: list[int], client: httpx.Client) -> None:
        self.client = client  # thread-safe: one connection pool for the pass
        self.attempted = 0
        self._due = iter(due)
        self._lock = threading.Lock()

    def _next(self) -> int | None:
        with self._lock:
            return next(self._due, None)

    def work(self, *, close_connection: bool) -> None:
        try:
            while (delivery_id := self._next()) is not None:
                try:
                    _, attempted = _deliver(delivery_id, self.client)
                except EventDelivery.DoesNotExist:
                    continue  # its subscription was deleted meanwhile
                except Exception:
                    # A bug or a database hiccup: the row keeps its lease and is retried after
                    # it; the other rows of this pass still go out.
                    logger.exception("send_due_events: delivery %s crashed", delivery_id)
                    continue
                if attempted:
                    with self._lock:
                        self.attempted += 1
        finally:
            if close_connection:
                db_connection.close()


# --- operators ------------------------------------------------------------------------------------


@transaction.atomic
def send_again(*, delivery_ids: list[int]) -> int:
    """An operator's "send again": the events (delivered or failed) are due now, with a fresh
    retry window and the same `webhook-id` (a receiver that already has one drops it). Events
    of inactive subscriptions, and events being sent right now, are left as they are. Returns
    how many were queued; a single one refused says why (`SubscriptionInactive`,
    `DeliveryInProgress`)."""
    now = timezone.now()
    rows = list(
        EventDelivery.objects.filter(pk__in=list(delivery_ids))
        .select_for_update(of=("self",))
        .select_related("subscription")
    )
    queued = [r for r in rows if r.subscription.active and r.status != DeliveryStatus.SENDING]
    if len(rows) == 1 and not queued:
        row = rows[0]
        if not row.subscription.active:
            raise SubscriptionInactive(subscription_id=row.subscription_id)
        raise DeliveryInProgress(delivery_id=row.pk)
    if not queued:
        return 0
    EventDelivery.objects.filter(pk__in=[r.pk for r in queued]).update(
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        retry_until=now + retry_window(),
        updated_at=now,
    )
    # The operator says "now": a receiver's pause does not hold these back.
    EventSubscription.objects.filter(pk__in={r.subscription_id for r in queued}).update(
        paused_until=None
    )
    transaction.on_commit(partial(_enqueue_each, [r.pk for r in queued]), robust=True)
    return len(queued)


def _enqueue_each(delivery_ids: list[int]) -> None:
    from events.tasks import deliver_event

    for pk in delivery_ids:
        deliver_event.enqueue(delivery_id=pk)


def prune_deliveries(*, older_than: timedelta, batch: int = 5000) -> int:
    """Delete delivered and failed events (with their logs) last touched before now -
    `older_than`, a batch per transaction. Pending ones are kept whatever their age."""
    cutoff = timezone.now() - older_than
    done = 0
    while True:
        with transaction.atomic():
            ids = list(
                EventDelivery.objects.filter(
                    status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED],
                    updated_at__lt=cutoff,
                ).values_list("pk", flat=True)[:batch]
            )
            if not ids:
                return done
            DeliveryAttempt.objects.filter(delivery_id__in=ids).delete()
            EventDelivery.objects.filter(pk__in=ids).delete()
            done += len(ids)
