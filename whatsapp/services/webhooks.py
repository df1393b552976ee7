"""Everything that happens to a webhook POST after HTTP: verify, capture, parse, store, hand over.

The view, `replay_webhook` and the `chat` command all call `receive_webhook`, so a replayed or
simulated payload takes exactly the path a real one does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone
from pydantic import ValidationError

from whatsapp import payloads
from whatsapp.models import CaptureOutcome, WebhookCapture
from whatsapp.services.inbound import parse_timestamp, receive_message
from whatsapp.signature import SIGNATURE_HEADER, SignatureCheck, check_signature

logger = logging.getLogger(__name__)

# Meta batches up to 1,000 updates per POST; bodies reach about 3 MB.
MAX_BODY_BYTES = 3 * 1024 * 1024
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


def record_status(*, wa_message_id: str, status: str, at: Any, errors: list[dict]) -> None:
    """Hand a delivery status to the outbound side (it keeps statuses monotonic)."""
    from whatsapp.services.outbound import record_status as record_outbound_status

    record_outbound_status(wa_message_id=wa_message_id, status=status, at=at, errors=errors)


def receive_webhook(
    *, raw_body: bytes, headers: Mapping[str, str], replayed: bool = False
) -> WebhookResult:
    """Verify the signature over the raw body, capture it, then store and hand over its content.

    Not one transaction on purpose: the capture commits first (so a crash leaves it replayable),
    and each message gets its own short transaction (SQLite has one writer; one bad message spoils
    none of the others). Never raises for anything Meta can send.
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

    try:
        capture = WebhookCapture.objects.create(
            body=raw_body,
            headers={k: lowered[k] for k in CAPTURED_HEADERS if k in lowered},
            replayed=replayed,
        )
    except DatabaseError:
        logger.exception("could not capture a webhook POST")
        return WebhookResult(status_code=503, outcome="retry_later", detail="database unavailable")

    result = _process(raw_body)
    result.capture_id = capture.pk
    try:
        WebhookCapture.objects.filter(pk=capture.pk).update(
            outcome=result.outcome,
            detail=result.detail[:2000],
            messages=result.messages,
            duplicates=result.duplicates,
            statuses=result.statuses,
            errors=result.errors,
        )
    except DatabaseError:
        logger.exception("could not record the outcome of capture %s", capture.pk)
    return result


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


def _process(raw_body: bytes) -> WebhookResult:
    try:
        data = _clean(json.loads(raw_body, parse_constant=_reject_constant))
    except (ValueError, RecursionError) as exc:
        logger.warning("webhook body is not JSON: %s", exc)
        return WebhookResult(
            status_code=400, outcome=CaptureOutcome.MALFORMED_JSON, detail=str(exc)[:300]
        )
    try:
        payload = payloads.WebhookPayload.model_validate(data)
    except (ValidationError, RecursionError) as exc:
        # 200 so Meta does not retry it for a week; the capture keeps it for a developer.
        logger.warning("webhook of unexpected shape kept: %s", str(exc)[:300])
        return WebhookResult(
            status_code=200, outcome=CaptureOutcome.UNEXPECTED_SHAPE, detail=str(exc)[:300]
        )

    result = WebhookResult(status_code=200, outcome=CaptureOutcome.PROCESSED)
    problems: list[str] = []
    try:
        for entry in payload.entry:
            for change in entry.changes:
                _process_change(change, result, problems)
    except (OperationalError, InterfaceError) as exc:
        # The database is down or locked beyond the busy timeout: ask Meta to retry (duplicates
        # are harmless, the unique wa_message_id absorbs them).
        logger.exception("database unavailable while processing a webhook")
        result.status_code = 503
        result.outcome = CaptureOutcome.RETRY_LATER
        problems.append(str(exc)[:200])
    if problems and result.outcome == CaptureOutcome.PROCESSED:
        result.outcome = CaptureOutcome.ITEM_ERRORS
    result.detail = "; ".join(problems)[:2000]
    return result


def _process_change(change: payloads.Change, result: WebhookResult, problems: list[str]) -> None:
    if change.field not in (None, "messages"):
        result.ignored += 1
        return
    try:
        value = payloads.Value.model_validate(change.value or {})
    except ValidationError as exc:
        result.errors += 1
        problems.append(f"change value of unexpected shape: {str(exc)[:200]}")
        return
    phone_number_id = (value.metadata.phone_number_id if value.metadata else None) or ""

    for error in value.errors or []:
        result.errors += 1
        logger.warning("webhook error from Meta: %s %s", error.code, error.title or error.message)
        problems.append(f"meta error {error.code}: {error.title or error.message or ''}"[:200])

    senders: dict[str, payloads.WaContact] = {}
    for contact in value.contacts or []:
        for key in (contact.wa_id, contact.user_id):
            if key:
                senders.setdefault(key, contact)

    for item in value.messages or []:
        _process_message(item, senders, phone_number_id, result, problems)
    for item in value.statuses or []:
        _process_status(item, result, problems)


def _process_message(
    item: dict[str, Any],
    senders: dict[str, payloads.WaContact],
    phone_number_id: str,
    result: WebhookResult,
    problems: list[str],
) -> None:
    try:
        msg = payloads.Message.model_validate(item)
    except ValidationError as exc:
        result.errors += 1
        problems.append(f"message of unexpected shape: {str(exc)[:200]}")
        return
    sender = senders.get(msg.from_ or "") or senders.get(msg.from_user_id or "")
    if sender is None and len(senders) == 1:
        sender = next(iter(senders.values()))
    wa_id = msg.from_ or (sender.wa_id if sender else None) or ""
    user_id = msg.from_user_id or (sender.user_id if sender else None) or ""
    if not msg.id or not (wa_id or user_id):
        result.errors += 1
        problems.append(f"message {msg.id!r} has no sender")
        return
    profile = sender.profile if sender else None
    try:
        stored = receive_message(
            msg=msg,
            raw=item,
            wa_id=wa_id,
            user_id=user_id,
            profile_name=(profile.name if profile else None) or "",
            phone_number_id=phone_number_id,
        )
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:  # a message we cannot store must not lose the others
        logger.exception("could not store message %s", msg.id)
        result.errors += 1
        problems.append(f"message {msg.id}: {exc}"[:200])
        return
    if stored.duplicate:
        result.duplicates += 1
        return
    assert stored.message is not None
    result.messages += 1
    result.message_ids.append(stored.message.pk)
    if stored.message.state == "failed":
        result.failed += 1


def _process_status(item: dict[str, Any], result: WebhookResult, problems: list[str]) -> None:
    try:
        status = payloads.Status.model_validate(item)
    except ValidationError as exc:
        result.errors += 1
        problems.append(f"status of unexpected shape: {str(exc)[:200]}")
        return
    raw_errors = item.get("errors")
    errors = [e for e in raw_errors if isinstance(e, dict)] if isinstance(raw_errors, list) else []
    try:
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
        problems.append(f"status {status.id}: {exc}"[:200])
        return
    result.statuses += 1
