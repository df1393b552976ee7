"""Storing one inbound message exactly once and handing it to the configured handler."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from project.prepared import insert
from whatsapp import payloads
from whatsapp.models import Contact, InboundMessage, InboundState, MediaStatus, MessageType
from whatsapp.services.contacts import upsert_contact

logger = logging.getLogger(__name__)

Handler = Callable[[InboundMessage], None]

# Only these can be payment proofs; audio, video and stickers are never downloaded. These are
# downloaded only when the handler asks (`whatsapp.services.media.request_media_download`).
PROOF_MEDIA_TYPES = {MessageType.IMAGE, MessageType.DOCUMENT}
_KNOWN_TYPES = {t.value for t in MessageType}


class MessageNotStored(Exception):
    """This message could not be stored; only its own savepoint was rolled back."""


@dataclass
class StoredMessage:
    message: InboundMessage | None
    duplicate: bool = False


@cache
def _import_handler(path: str) -> Handler:
    return import_string(path)


def inbound_handler() -> Handler | None:
    """The callable named by settings.WHATSAPP_INBOUND_HANDLER, or None (store only)."""
    path = settings.WHATSAPP_INBOUND_HANDLER
    return _import_handler(path) if path else None


def _clip(value: Any, length: int | None = None) -> str:
    # NUL is the one character PostgreSQL text cannot hold: a buyer's filename or text with one
    # must not make the message impossible to store.
    text = "" if value is None else str(value).replace("\x00", "")
    return text[:length] if length else text


def parse_timestamp(value: str | None) -> datetime | None:
    """Meta's timestamps are Unix seconds as strings."""
    try:
        seconds = int(str(value))
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def message_fields(msg: payloads.Message) -> dict[str, Any]:
    """The columns an InboundMessage gets from Meta's message object."""
    msg_type = msg.type if msg.type in _KNOWN_TYPES else MessageType.UNKNOWN
    fields: dict[str, Any] = {"msg_type": msg_type, "sent_at": parse_timestamp(msg.timestamp)}
    if msg.text is not None:
        fields["text"] = _clip(msg.text.body)
    interactive = msg.interactive
    if interactive is not None:
        reply = interactive.button_reply or interactive.list_reply
        if reply is not None:
            fields["reply_id"] = _clip(reply.id, 256)
            fields["reply_title"] = _clip(reply.title, 256)
    if msg.button is not None:
        fields["reply_id"] = _clip(msg.button.payload, 256)
        fields["reply_title"] = _clip(msg.button.text, 256)
        fields["text"] = _clip(msg.button.text)
    if msg.reaction is not None:
        fields["text"] = _clip(msg.reaction.emoji)
        fields["reply_id"] = _clip(msg.reaction.message_id, 256)
    if msg.location is not None:
        loc = msg.location
        fields["text"] = (
            " ".join(part for part in (_clip(loc.name), _clip(loc.address)) if part)
            or f"{loc.latitude},{loc.longitude}"
        )
    media = msg.media()
    if media is not None:
        fields.update(
            media_id=_clip(media.id, 128),
            media_mime_type=_clip(media.mime_type, 128),
            media_sha256=_clip(media.sha256, 128),
            media_filename=_clip(media.filename, 256),
            caption=_clip(media.caption),
        )
    return fields


def _handles_number(phone_number_id: str) -> bool:
    ours = settings.WHATSAPP_PHONE_NUMBER_ID
    return not ours or not phone_number_id or phone_number_id == ours


def receive_message(
    *,
    msg: payloads.Message,
    raw: dict[str, Any],
    wa_id: str,
    user_id: str = "",
    profile_name: str = "",
    phone_number_id: str = "",
) -> StoredMessage:
    """Store one message and, if it is new and ours, hand it to the handler.

    The unique wa_message_id decides duplicates: the INSERT runs in a savepoint and a unique
    violation rolls it back (never check-then-insert). The contact row stays locked until the
    transaction commits, so one buyer's messages are handled one at a time (PostgreSQL row lock;
    SQLite's IMMEDIATE transactions serialize all writers anyway).

    Joins the caller's transaction (the webhook's) without a savepoint of its own, so a store
    failure rolls back only this message; called outside one, it opens its own.
    """
    if not transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return receive_message(
                msg=msg,
                raw=raw,
                wa_id=wa_id,
                user_id=user_id,
                profile_name=profile_name,
                phone_number_id=phone_number_id,
            )
    fields = message_fields(msg)
    ours = _handles_number(phone_number_id)
    handler = inbound_handler() if ours else None
    if handler is not None:
        # Written as PROCESSED up front (one UPDATE fewer per message): the mark commits only
        # with the handler's work, and a handler failure rewrites it to FAILED below.
        state, fields["processed_at"] = InboundState.PROCESSED, timezone.now()
    else:
        state = InboundState.RECEIVED if ours else InboundState.IGNORED
    if ours and fields["msg_type"] in PROOF_MEDIA_TYPES and fields.get("media_id"):
        fields["media_status"] = MediaStatus.NOT_REQUESTED
    try:
        with transaction.atomic():
            contact = upsert_contact(
                wa_id=wa_id,
                user_id=user_id,
                profile_name=profile_name,
                seen_at=fields["sent_at"] or timezone.now(),
            )
            message = InboundMessage(
                wa_message_id=msg.id[:255],
                contact=contact,
                phone_number_id=_clip(phone_number_id, 64),
                raw=raw,
                state=state,
                **fields,
            )
            insert(message)  # every message, in the webhook's write transaction
    except IntegrityError:
        return StoredMessage(message=None, duplicate=True)
    except (OperationalError, InterfaceError):
        raise  # the database is unavailable: the caller answers 503 and Meta retries
    except DatabaseError as exc:
        # Rolled back to the savepoint: the transaction and the other messages are unharmed.
        raise MessageNotStored(str(exc)) from exc

    if handler is not None:
        _run_handler(message, handler, marked=True)
    return StoredMessage(message=message)


def _run_handler(message: InboundMessage, handler: Handler, *, marked: bool = False) -> None:
    """Call the handler in a savepoint: its writes and the PROCESSED mark commit together; if it
    raises, its writes roll back and the message is kept as FAILED with the error. A database
    error (connection lost, "database is locked") is raised instead, for the caller to retry.

    `marked`: the row already says PROCESSED (written so by receive_message).
    """
    try:
        with transaction.atomic():
            handler(message)
    except (OperationalError, InterfaceError):
        # The database went away or stayed locked: not the message's fault. Marking it FAILED
        # would leave it unanswered; raised, the webhook answers 503 and Meta delivers it again.
        raise
    except Exception as exc:
        logger.exception("inbound handler failed for %s", message.wa_message_id)
        message.state = InboundState.FAILED
        message.error = "".join(traceback.format_exception_only(exc)).strip()[:4000]
        message.processed_at = None
        message.save(update_fields=["state", "error", "processed_at"])
        return
    if marked:
        return
    message.state = InboundState.PROCESSED
    message.error = ""
    message.processed_at = timezone.now()
    message.save(update_fields=["state", "error", "processed_at"])


@dataclass
class RetryResult:
    processed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def retry_inbound(*, message_ids: Iterable[int] | None = None, limit: int = 100) -> RetryResult:
    """Hand FAILED messages to the handler again, oldest first, one transaction each."""
    handler = inbound_handler()
    if handler is None:
        raise RuntimeError("settings.WHATSAPP_INBOUND_HANDLER is not set: nothing to retry with")
    candidates = InboundMessage.objects.filter(state=InboundState.FAILED)
    if message_ids is not None:
        candidates = candidates.filter(pk__in=list(message_ids))
    ids = list(candidates.order_by("created_at", "pk").values_list("pk", flat=True)[:limit])
    result = RetryResult()
    for pk in ids:
        with transaction.atomic():
            message = (
                InboundMessage.objects.select_for_update()
                .filter(pk=pk, state=InboundState.FAILED)
                .first()
            )
            if message is None:  # retried concurrently
                continue
            # Same per-buyer serialization as live traffic.
            Contact.objects.select_for_update().filter(pk=message.contact_id).first()
            _run_handler(message, handler)
        (result.processed if message.state == InboundState.PROCESSED else result.failed).append(pk)
    return result
