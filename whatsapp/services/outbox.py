"""Queueing what the bot says: outbox rows written in the caller's transaction, then delivered.

A row is written with the decision to speak (QUEUED, due now), so a rolled-back decision says
nothing and a committed one is never lost; `whatsapp.services.delivery` sends it. Every message
is validated before anything is written: a message that breaks a WhatsApp limit is a bug and
raises here, not as a Meta 400 later.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from project.prepared import insert
from whatsapp.models import Contact, OutboundKind, OutboundLane, OutboundMessage, OutboundStatus
from whatsapp.notices import Notice
from whatsapp.outgoing import OutgoingMessage, read_receipt_payload
from whatsapp.services.delivery import enqueue_delivery, enqueue_drain_on_commit

if TYPE_CHECKING:
    from whatsapp.models import InboundMessage

__all__ = ["broadcast", "queue_message", "queue_read_receipt"]

# Renders a message once for many buyers; each row's "to" is filled in by the database.
_ANY_RECIPIENT = "-"


def queue_message(*, contact: Contact, message: OutgoingMessage | Notice) -> OutboundMessage:
    """Write one message to the outbox and enqueue its delivery with it (a bot's reply).

    A `Notice` is stored with its kind and values, so delivery can send it as a template once
    the 24-hour window has closed."""
    notice_kind, params = Notice.kind_and_params(message)
    if isinstance(message, Notice):
        message = message.message
    payload = message.graph_payload(contact.wa_id)  # an invalid message raises before any write
    # Two INSERTs that cannot fail on their own: the caller's transaction is enough, a
    # savepoint would add two statements to every bot turn.
    with transaction.atomic(savepoint=False):
        outbound = OutboundMessage(
            contact=contact,
            kind=message.kind,
            payload=payload,
            notice_kind=notice_kind,
            template_params=dict(params),
            status=OutboundStatus.QUEUED,
            next_attempt_at=timezone.now(),
        )
        insert(outbound)  # every bot turn, in the webhook's write transaction (project.prepared)
        enqueue_delivery(outbound)
    return outbound


@transaction.atomic
def broadcast(*, messages: Iterable[tuple[int, OutgoingMessage | Notice]]) -> int:
    """Write many messages, given as (contact id, message) pairs; returns how many were written.

    Set-based: each distinct message is one `INSERT ... SELECT` over its recipients' ids (the
    database copies the rendered payload and sets "to" from each contact's wa_id), so a notice
    to every buyer of a raffle is one statement, not a round trip nor an ORM object per buyer.
    A contact id listed twice gets the message twice; an id with no contact gets nothing. The
    rows wait in the broadcast lane, behind buyers' conversations; the delivery dispatcher is
    woken on commit.
    """
    recipients: dict[OutgoingMessage | Notice, tuple[dict[str, Any], list[int]]] = {}
    for contact_id, message in messages:
        entry = recipients.get(message)
        if entry is None:
            # Validated and rendered once per distinct message (or notice).
            plain = message.message if isinstance(message, Notice) else message
            entry = recipients[message] = (plain.graph_payload(_ANY_RECIPIENT), [])
        entry[1].append(contact_id)
    now = timezone.now()
    written = 0
    for message, (template, contact_ids) in recipients.items():
        notice_kind, params = Notice.kind_and_params(message)
        kind = message.message.kind if isinstance(message, Notice) else message.kind
        written += _insert_for_contacts(
            kind, template, contact_ids, now, notice_kind=notice_kind, params=params
        )
    if written:
        enqueue_drain_on_commit()
    return written


def _insert_for_contacts(
    kind: str,
    template: dict[str, Any],
    contact_ids: list[int],
    now: datetime,
    *,
    notice_kind: str = "",
    params: Mapping[str, str] | None = None,
) -> int:
    """One `INSERT ... SELECT` over the ids, on the two databases the project supports."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        payload_sql = "jsonb_set(%s::jsonb, '{to}', to_jsonb(c.wa_id))"
        params_sql = "%s::jsonb"
        recipients_sql = "unnest(%s::bigint[]) AS r(id)"
        recipient_id = "r.id"
        recipients_param: Any = contact_ids
    else:
        payload_sql = "json_set(%s, '$.to', c.wa_id)"
        params_sql = "%s"
        recipients_sql = "json_each(%s) AS r"
        recipient_id = "r.value"
        recipients_param = json.dumps(contact_ids)
    table = connection.ops.quote_name(OutboundMessage._meta.db_table)
    contacts = connection.ops.quote_name(Contact._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    # A JOIN (not IN) keeps multiplicity: a contact listed twice gets the message twice.
    sql = (
        f"INSERT INTO {table} (contact_id, kind, lane, payload, status, attempts,"
        " last_error_code, last_error, next_attempt_at, created_at, updated_at, notice_kind,"
        " template_params)"
        f" SELECT c.id, %s, %s, {payload_sql}, %s, 0, '', '', %s, %s, %s, %s, {params_sql}"
        f" FROM {recipients_sql} JOIN {contacts} AS c ON c.id = {recipient_id}"
    )
    # The params follow the SQL: the select list first, then the recipients' source.
    params = [
        kind,
        int(OutboundLane.BROADCAST),  # behind every buyer's conversation
        json.dumps(template),
        OutboundStatus.QUEUED.value,
        stamp,
        stamp,
        stamp,
        notice_kind,
        json.dumps(dict(params or {})),
        recipients_param,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


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
    enqueue_delivery(outbound)
    return outbound
