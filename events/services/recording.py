"""Recording events: one `EventDelivery` row per event and subscribed receiver, written in the
caller's transaction (it commits or rolls back with the change it reports), with a delivery task
enqueued beside it.

A single change costs one read of the (few) subscriptions when nobody subscribed, and its data
is built there and then, so it shows the object as the change left it. A bulk change (an expiry
sweep of thousands of orders) is one `INSERT ... SELECT` over the ids, with no model instances;
its data is built at each event's first attempt, normally seconds later.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DatabaseError, router, transaction
from django.utils import timezone

from events.errors import SubscriptionInactive
from events.models import DeliveryStatus, EventDelivery, EventSubscription
from events.payloads import build_data
from events.types import EventType

__all__ = ["new_message_id", "record", "record_in_bulk", "record_test", "retry_window"]

logger = logging.getLogger(__name__)


def new_message_id() -> str:
    """A `webhook-id`: unique, and kept for every retry of the same event."""
    return f"msg_{uuid.uuid4().hex}"


def retry_window() -> timedelta:
    return timedelta(hours=settings.EVENTS_RETRY_FOR_HOURS)


def _subscribers(event_types: Sequence[str]) -> dict[str, list[int]]:
    """Active subscriptions wanting each of `event_types` (one query over a small table)."""
    wanted: dict[str, list[int]] = {t: [] for t in event_types}
    for pk, types in EventSubscription.objects.filter(active=True).values_list("pk", "event_types"):
        for event_type in types or ():
            if event_type in wanted:
                wanted[event_type].append(pk)
    return {t: ids for t, ids in wanted.items() if ids}


def record(
    *, event_types: Sequence[str], subject_id: int, occurred_at: datetime | None = None
) -> list[EventDelivery]:
    """Record that `event_types` happened to `subject_id`, for every subscriber of each."""
    subscribers = _subscribers(event_types)
    if not subscribers:
        return []
    now = timezone.now()
    rows = []
    for event_type, subscription_ids in subscribers.items():
        data = _data_now(event_type, subject_id)  # once per event, whatever the receivers
        rows += [
            EventDelivery(
                subscription_id=subscription_id,
                message_id=new_message_id(),
                event_type=event_type,
                occurred_at=occurred_at or now,
                subject_id=subject_id,
                data=data,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                retry_until=now + retry_window(),
                created_at=now,
                updated_at=now,
            )
            for subscription_id in subscription_ids
        ]
    created = EventDelivery.objects.bulk_create(rows)
    _enqueue_deliveries([row.pk for row in created])
    return created


def _data_now(event_type: str, subject_id: int) -> dict[str, Any] | None:
    """The event's data as of this change; None (built at the first attempt instead) if it
    cannot be built now. Never breaks the change being reported."""
    try:
        return build_data(event_type=event_type, subject_id=subject_id)
    except DatabaseError:
        raise  # the transaction is broken anyway (PostgreSQL): let the change fail with it
    except Exception:
        logger.exception("event %s about %s: data deferred to sending", event_type, subject_id)
        return None


def record_in_bulk(
    *, event_type: str, subject_ids: Sequence[int], occurred_at: datetime | None = None
) -> int:
    """Record one event per subject for every subscriber, set-based: one `INSERT ... SELECT`
    over the ids (a single parameter) and the subscribers, whatever their number. Returns how
    many rows were written."""
    subscription_ids = _subscribers([event_type]).get(event_type, [])
    if not subscription_ids or not subject_ids:
        return 0
    now = timezone.now()
    connection = transaction.get_connection()
    ops = connection.ops
    table = ops.quote_name(EventDelivery._meta.db_table)
    if connection.vendor == "postgresql":
        message_id = "'msg_' || replace(gen_random_uuid()::text, '-', '')"
        subjects, subject = "unnest(%s::bigint[]) AS subject(id)", "subject.id"
        receivers, receiver = "unnest(%s::bigint[]) AS receiver(id)", "receiver.id"
        id_lists = [list(subject_ids), subscription_ids]
    elif connection.vendor == "sqlite":
        message_id = "'msg_' || lower(hex(randomblob(16)))"
        subjects, subject = "json_each(%s) AS subject", "subject.value"
        receivers, receiver = "json_each(%s) AS receiver", "receiver.value"
        id_lists = [json.dumps(list(subject_ids)), json.dumps(subscription_ids)]
    else:  # pragma: no cover - the project runs on SQLite and PostgreSQL only
        raise NotImplementedError(connection.vendor)
    stamp = ops.adapt_datetimefield_value(now)
    sql = (
        f"INSERT INTO {table} (subscription_id, message_id, event_type, occurred_at, subject_id,"
        " data, status, attempts, next_attempt_at, last_status_code, last_error, retry_until,"
        " created_at, delivered_at, updated_at)"
        f" SELECT {receiver}, {message_id}, %s, %s, {subject}, NULL, %s, 0, %s, NULL, '', %s,"
        f" %s, NULL, %s FROM {subjects} CROSS JOIN {receivers}"
    )
    params = [
        event_type,
        ops.adapt_datetimefield_value(occurred_at or now),
        DeliveryStatus.PENDING.value,
        stamp,
        ops.adapt_datetimefield_value(now + retry_window()),
        stamp,
        stamp,
        *id_lists,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = cursor.rowcount
    if written:
        _enqueue_drain()
    return written


@transaction.atomic
def record_test(*, subscription: EventSubscription) -> EventDelivery:
    """A `webhook.test` event for this subscription alone, sent now: an operator checking a
    receiver also lifts the pause a failing receiver is under."""
    locked = EventSubscription.objects.select_for_update().get(pk=subscription.pk)
    if not locked.active:
        raise SubscriptionInactive(subscription_id=locked.pk)
    EventSubscription.objects.filter(pk=locked.pk).update(paused_until=None)
    now = timezone.now()
    delivery = EventDelivery.objects.create(
        subscription=locked,
        message_id=new_message_id(),
        event_type=EventType.TEST,
        occurred_at=now,
        subject_id=locked.pk,
        data=build_data(event_type=EventType.TEST, subject_id=locked.pk),
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        retry_until=now + retry_window(),
        created_at=now,
        updated_at=now,
    )
    _enqueue_deliveries([delivery.pk])
    return delivery


# --- the fast path: a task beside the rows -------------------------------------------------------


def _enqueue_deliveries(delivery_ids: list[int | None]) -> None:
    if any(pk is None for pk in delivery_ids):  # a database that returns no ids: drain instead
        _enqueue_drain()
        return
    for pk in delivery_ids:
        _enqueue_soon(partial(_enqueue_delivery, pk))


def _enqueue_drain() -> None:
    _enqueue_soon(_enqueue_drain_task)


def _enqueue_soon(enqueue: Any) -> None:
    """With the database task backend the task row is written in this very transaction (it
    commits or rolls back with the event, and SQLite gets no second write transaction); any
    other backend is called on commit, so its worker never looks for a row not there yet."""
    if _tasks_in_our_database():
        enqueue()
    else:
        transaction.on_commit(enqueue, robust=True)


def _tasks_in_our_database() -> bool:
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from events.tasks import deliver_event

    return isinstance(deliver_event.get_backend(), DatabaseBackend) and (
        router.db_for_write(DBTaskResult) == transaction.get_connection().alias
    )


def _enqueue_delivery(delivery_id: int) -> None:
    from events.tasks import deliver_event

    deliver_event.enqueue(delivery_id=delivery_id)


def _enqueue_drain_task() -> None:
    from events.tasks import drain_events

    drain_events.enqueue()
