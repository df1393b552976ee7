"""Everything that happens to a webhook POST after HTTP: verify, capture, parse, store, hand over.

The view, `replay_webhook` and the `chat` command all call `receive_webhook`, so a replayed or
simulated payload takes exactly the path a real one does.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    transaction,
)
from django.utils import timezone
from pydantic import ValidationError

from project.outage import first_line
from project.prepared import insert
from whatsapp import payloads
from whatsapp.models import CaptureOutcome, InboundState, WebhookCapture
from whatsapp.services import statuses, templates
from whatsapp.services.inbound import parse_timestamp, receive_message
from whatsapp.signature import SIGNATURE_HEADER, SignatureCheck, check_signature

logger = logging.getLogger(__name__)

# Meta batches up to 1,000 updates per POST; bodies reach about 3 MB.
MAX_BODY_BYTES = 3 * 1024 * 1024
# Items (messages and statuses) per transaction: one commit for a usual POST, short write locks
# for Meta's 1,000-update batches.
CHUNK_SIZE = 50
# The webhook field Meta uses for template review outcomes (approved, rejected, paused...).
TEMPLATE_STATUS_FIELD = "message_template_status_update"
# Headers worth keeping with a capture (the signature shows which secret signed it).
CAPTURED_HEADERS = (
    "content-type",
    "user-agent",
    SIGNATURE_HEADER.lower(),
    "x-forwarded-for",
    "x-request-id",
)
_REJECTED = {
    SignatureCheck.MISSING: (401, "missing X-Hub-Signature-256"),
    SignatureCheck.INVALID: (403, "invalid signature"),
    SignatureCheck.UNCONFIGURED: (403, "WHATSAPP_APP_SECRET is not configured"),
}


@dataclass
class WebhookResult:
    """What happened to one POST: the HTTP status to answer and what was in it."""

    status_code: int
    outcome: str
    detail: str = ""
    capture_id: int | None = None
    messages: int = 0  # new messages stored
    duplicates: int = 0  # already stored: acknowledged, not processed again
    statuses: int = 0
    errors: int = 0  # value-level errors from Meta and items we could not store
    ignored: int = 0  # changes for other webhook fields, stored only in the capture
    failed: int = 0  # stored messages whose handler raised (state FAILED)
    message_ids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list, repr=False)

    @property
    def accepted(self) -> bool:
        return self.status_code == 200

    def summary(self) -> str:
        return (
            f"{self.status_code} {self.outcome}: {self.messages} messages, "
            f"{self.duplicates} duplicates, {self.statuses} statuses, {self.errors} errors"
            + (f", {self.failed} failed" if self.failed else "")
            + (f" ({self.detail})" if self.detail else "")
        )


def record_status(*, wa_message_id: str, status: str, at: datetime, errors: list[dict]) -> None:
    """Hand a delivery status to the outbound side (it keeps statuses monotonic and holds
    statuses for ids it does not know yet). One seam, so tests can watch the hand-over."""
    statuses.record_status(wa_message_id=wa_message_id, status=status, at=at, errors=errors)


def receive_webhook(
    *, raw_body: bytes, headers: Mapping[str, str], replayed: bool = False
) -> WebhookResult:
    """Verify the signature over the raw body, then capture and process it; never raises.

    One short transaction per POST of up to CHUNK_SIZE items (one commit for the usual
    one-message POST), each message in its own savepoint so one bad message spoils none; a
    1,000-update batch commits in chunks so SQLite's single writer is never held for long.
    The capture commits with the first chunk and gets its outcome with the last.
    """
    lowered = {str(k).lower().replace("_", "-"): str(v) for k, v in headers.items()}
    check = check_signature(
        raw_body, lowered.get(SIGNATURE_HEADER.lower()), settings.WHATSAPP_APP_SECRET
    )
    if check is not SignatureCheck.VALID:
        status_code, detail = _REJECTED[check]
        logger.warning("webhook POST rejected: %s", detail)
        return WebhookResult(status_code=status_code, outcome="rejected", detail=detail)
    if len(raw_body) > MAX_BODY_BYTES:
        return WebhookResult(status_code=413, outcome="rejected", detail="body over 3 MB")

    capture = WebhookCapture(
        body=raw_body,
        headers={k: lowered[k] for k in CAPTURED_HEADERS if k in lowered},
        replayed=replayed,
    )
    result, work = _parse(raw_body)
    chunks = [work[i : i + CHUNK_SIZE] for i in range(0, len(work), CHUNK_SIZE)] or [[]]
    try:
        for number, chunk in enumerate(chunks):
            with transaction.atomic():
                if capture.pk is None and number < len(chunks) - 1:
                    capture.save()  # a long batch: keep the capture from the first commit on
                for item in chunk:
                    _process_item(item, result)
                if number == len(chunks) - 1:
                    _finish(result)
                    _save_capture(capture, result)
    except DatabaseError as error:
        # The database is down, locked beyond the busy timeout, or the transaction broke (an error
        # outside a message's savepoint): this chunk rolled back. 503 makes Meta retry the POST;
        # the unique wa_message_id absorbs whatever earlier chunks already stored.
        if isinstance(error, OperationalError | InterfaceError):
            # Unavailable, not a bug: one line per POST, not a traceback each (Meta retries a
            # lot during an outage). The driver's first line says which host refused.
            logger.warning(
                "database unavailable while processing a webhook (%s: %s); answered 503",
                type(error).__name__,
                first_line(error),
            )
        else:
            logger.exception("database error while processing a webhook")
        result.status_code = 503
        result.outcome = CaptureOutcome.RETRY_LATER
        # The driver's text (host, user) is in the log above, never in the answer.
        result.detail = "database unavailable"
        result.message_ids.clear()
        with contextlib.suppress(DatabaseError):
            _save_capture(capture, result)  # falls back to an INSERT if its row rolled back
    result.capture_id = capture.pk
    return result


def _save_capture(capture: WebhookCapture, result: WebhookResult) -> None:
    capture.outcome = result.outcome
    capture.detail = result.detail[:2000]
    capture.messages = result.messages
    capture.duplicates = result.duplicates
    capture.statuses = result.statuses
    capture.errors = result.errors
    if capture.pk is None:
        insert(capture)  # every POST, in its write transaction (project.prepared)
    else:
        capture.save()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _clean(value: Any) -> Any:
    """Strip what no database column can hold: NUL characters and lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        try:
            value.encode()
        except UnicodeEncodeError:
            value = value.encode(errors="replace").decode()
        return value
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


@dataclass
class _Item:
    """One message or status to store, with what its change said about it."""

    kind: str  # "message" | "status" | "template_status"
    data: dict[str, Any]
    senders: dict[str, payloads.WaContact]
    phone_number_id: str


def _parse(raw_body: bytes) -> tuple[WebhookResult, list[_Item]]:
    """JSON, then Meta's shape, then the flat list of messages and statuses; no database."""
    try:
        data = _clean(json.loads(raw_body, parse_constant=_reject_constant))
    except (ValueError, RecursionError) as exc:
        logger.warning("webhook body is not JSON: %s", exc)
        result = WebhookResult(status_code=400, outcome=CaptureOutcome.MALFORMED_JSON)
        result.problems.append(str(exc)[:300])
        return result, []
    try:
        payload = payloads.WebhookPayload.model_validate(data)
    except (ValidationError, RecursionError) as exc:
        # 200 so Meta does not retry it for a week; the capture keeps it for a developer.
        logger.warning("webhook of unexpected shape kept: %s", str(exc)[:300])
        result = WebhookResult(status_code=200, outcome=CaptureOutcome.UNEXPECTED_SHAPE)
        result.problems.append(str(exc)[:300])
        return result, []

    result = WebhookResult(status_code=200, outcome=CaptureOutcome.PROCESSED)
    work: list[_Item] = []
    for raw_entry in payload.entry:
        try:
            entry = payloads.Entry.model_validate(raw_entry)
        except ValidationError as exc:
            result.errors += 1
            result.problems.append(f"entry of unexpected shape: {str(exc)[:200]}")
            continue
        for raw_change in entry.changes:
            try:
                change = payloads.Change.model_validate(raw_change)
            except ValidationError as exc:
                result.errors += 1
                result.problems.append(f"change of unexpected shape: {str(exc)[:200]}")
                continue
            work.extend(_parse_change(change, result))
    return result, work


def _parse_change(change: payloads.Change, result: WebhookResult) -> list[_Item]:
    if change.field == TEMPLATE_STATUS_FIELD:
        return [_Item("template_status", change.value or {}, {}, "")]
    if change.field not in (None, "messages"):
        result.ignored += 1
        return []
    try:
        value = payloads.Value.model_validate(change.value or {})
    except ValidationError as exc:
        result.errors += 1
        result.problems.append(f"change value of unexpected shape: {str(exc)[:200]}")
        return []
    phone_number_id = (value.metadata.phone_number_id if value.metadata else None) or ""

    for error in value.errors or []:
        result.errors += 1
        logger.warning("webhook error from Meta: %s %s", error.code, error.title or error.message)
        result.problems.append(f"meta error {error.code}: {error.title or error.message or ''}")

    senders: dict[str, payloads.WaContact] = {}
    for contact in value.contacts or []:
        for key in (contact.wa_id, contact.user_id):
            if key:
                senders.setdefault(key, contact)
    return [
        *(_Item("message", m, senders, phone_number_id) for m in value.messages or []),
        *(_Item("status", s, senders, phone_number_id) for s in value.statuses or []),
    ]


def _finish(result: WebhookResult) -> None:
    if result.problems and result.outcome == CaptureOutcome.PROCESSED:
        result.outcome = CaptureOutcome.ITEM_ERRORS
    result.detail = "; ".join(p[:200] for p in result.problems)[:2000]


def _process_item(item: _Item, result: WebhookResult) -> None:
    if item.kind == "message":
        _process_message(item, result)
    elif item.kind == "template_status":
        _process_template_status(item, result)
    else:
        _process_status(item, result)


def _process_message(item: _Item, result: WebhookResult) -> None:
    try:
        msg = payloads.Message.model_validate(item.data)
    except ValidationError as exc:
        result.errors += 1
        result.problems.append(f"message of unexpected shape: {str(exc)[:200]}")
        return
    senders = item.senders
    sender = senders.get(msg.from_ or "") or senders.get(msg.from_user_id or "")
    if sender is None and not (msg.from_ or msg.from_user_id) and len(senders) == 1:
        sender = next(iter(senders.values()))
    wa_id = msg.from_ or (sender.wa_id if sender else None) or ""
    user_id = msg.from_user_id or (sender.user_id if sender else None) or ""
    if not msg.id or not (wa_id or user_id):
        result.errors += 1
        result.problems.append(f"message {msg.id!r} has no sender")
        return
    profile = sender.profile if sender else None
    try:
        stored = receive_message(
            msg=msg,
            raw=item.data,
            wa_id=wa_id,
            user_id=user_id,
            profile_name=(profile.name if profile else None) or "",
            phone_number_id=item.phone_number_id,
        )
    except DatabaseError:
        raise  # outside the message's savepoint: the chunk is lost, answer 503
    except Exception as exc:  # MessageNotStored, or a bug: this message only
        logger.exception("could not store message %s", msg.id)
        result.errors += 1
        result.problems.append(f"message {msg.id}: {exc}")
        return
    if stored.duplicate:
        result.duplicates += 1
        return
    assert stored.message is not None
    result.messages += 1
    result.message_ids.append(stored.message.pk)
    if stored.message.state == InboundState.FAILED:
        result.failed += 1


def _process_status(item: _Item, result: WebhookResult) -> None:
    try:
        status = payloads.Status.model_validate(item.data)
    except ValidationError as exc:
        result.errors += 1
        result.problems.append(f"status of unexpected shape: {str(exc)[:200]}")
        return
    raw_errors = item.data.get("errors")
    errors = [e for e in raw_errors if isinstance(e, dict)] if isinstance(raw_errors, list) else []
    try:
        # A savepoint: a failure inside the outbound side spoils no other item.
        with transaction.atomic():
            record_status(
                wa_message_id=status.id,
                status=status.status,
                at=parse_timestamp(status.timestamp) or timezone.now(),
                errors=errors,
            )
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        logger.exception("could not record status %s for %s", status.status, status.id)
        result.errors += 1
        result.problems.append(f"status {status.id}: {exc}")
        return
    result.statuses += 1


def _process_template_status(item: _Item, result: WebhookResult) -> None:
    """A template approved, rejected, paused... (the `message_template_status_update` field)."""
    try:
        with transaction.atomic():
            template = templates.apply_template_status_update(value=item.data)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        logger.exception("could not apply a template status update")
        result.errors += 1
        result.problems.append(f"template status update: {exc}")
        return
    if template is None:
        result.errors += 1
        result.problems.append("template status update without event, name or language")
