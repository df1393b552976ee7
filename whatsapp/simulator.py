"""Meta's side of the webhook, simulated: payloads shaped as Meta sends them, signed as Meta signs.

For the `chat` command, `replay_webhook` and the tests. Every builder returns a full
`{"object": "whatsapp_business_account", "entry": [...]}` dict; `signed_headers` is the one place
an `X-Hub-Signature-256` is made, and `deliver` hands a payload to `receive_webhook` exactly as a
signed POST would arrive.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings

from whatsapp.signature import SIGNATURE_HEADER, compute_signature

if TYPE_CHECKING:
    from whatsapp.services.webhooks import WebhookResult

DEFAULT_PHONE_NUMBER_ID = "106540352242922"
DEFAULT_DISPLAY_NUMBER = "15550783881"
DEFAULT_WABA_ID = "102290129340398"


def new_message_id() -> str:
    """A fresh id shaped like Meta's (`wamid.` + base64)."""
    raw = uuid.uuid4().bytes + uuid.uuid4().bytes
    return "wamid." + base64.b64encode(raw).decode().rstrip("=")


def sign(body: bytes | str, secret: str) -> str:
    """The X-Hub-Signature-256 value for `body`."""
    return compute_signature(body.encode() if isinstance(body, str) else body, secret)


def encode(payload: dict[str, Any]) -> bytes:
    """The compact JSON bytes Meta posts (the signature covers these exact bytes)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(body: bytes, secret: str) -> dict[str, str]:
    """The headers of Meta's POST of `body`: its signature and content type."""
    return {SIGNATURE_HEADER: sign(body, secret), "Content-Type": "application/json"}


def envelope(
    value: dict[str, Any],
    *,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    field: str = "messages",
) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": DEFAULT_WABA_ID,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": DEFAULT_DISPLAY_NUMBER,
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                        "field": field,
                    }
                ],
            }
        ],
    }


def _contact(wa_id: str, name: str | None, user_id: str | None) -> dict[str, Any]:
    contact: dict[str, Any] = {"wa_id": wa_id}
    if name is not None:
        contact["profile"] = {"name": name}
    if user_id is not None:
        contact["user_id"] = user_id
    return contact


def message_payload(
    wa_id: str,
    body: dict[str, Any],
    *,
    name: str | None = None,
    message_id: str | None = None,
    timestamp: int | None = None,
    user_id: str | None = None,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
) -> dict[str, Any]:
    """One inbound message of any type; `body` holds `type` and the type's object."""
    message = {
        "from": wa_id,
        "id": message_id or new_message_id(),
        "timestamp": str(timestamp if timestamp is not None else int(time.time())),
        **body,
    }
    if user_id is not None:
        message["from_user_id"] = user_id
    return envelope(
        {"contacts": [_contact(wa_id, name, user_id)], "messages": [message]},
        phone_number_id=phone_number_id,
    )


def text_message_payload(
    wa_id: str, text: str, *, name: str | None = None, message_id: str | None = None, **kw: Any
) -> dict[str, Any]:
    return message_payload(
        wa_id, {"type": "text", "text": {"body": text}}, name=name, message_id=message_id, **kw
    )


def button_reply_payload(
    wa_id: str,
    reply_id: str,
    title: str,
    *,
    name: str | None = None,
    message_id: str | None = None,
    context_id: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
    }
    if context_id:
        body["context"] = {"from": DEFAULT_DISPLAY_NUMBER, "id": context_id}
    return message_payload(wa_id, body, name=name, message_id=message_id, **kw)


def list_reply_payload(
    wa_id: str,
    reply_id: str,
    title: str,
    description: str = "",
    *,
    name: str | None = None,
    message_id: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    reply = {"id": reply_id, "title": title}
    if description:
        reply["description"] = description
    body = {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": reply}}
    return message_payload(wa_id, body, name=name, message_id=message_id, **kw)


def sha256_b64(content: bytes) -> str:
    """The webhook's form of a media digest (base64, unlike the media endpoint's hex)."""
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


def image_payload(
    wa_id: str,
    *,
    media_id: str = "1003383421387256",
    caption: str | None = None,
    mime_type: str = "image/jpeg",
    content: bytes | None = None,
    name: str | None = None,
    message_id: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    image: dict[str, Any] = {
        "mime_type": mime_type,
        "sha256": sha256_b64(content if content is not None else b"image"),
        "id": media_id,
    }
    if caption is not None:
        image["caption"] = caption
    return message_payload(
        wa_id, {"type": "image", "image": image}, name=name, message_id=message_id, **kw
    )


def document_payload(
    wa_id: str,
    *,
    media_id: str = "1240359347164210",
    filename: str = "transfer.pdf",
    caption: str | None = None,
    mime_type: str = "application/pdf",
    content: bytes | None = None,
    name: str | None = None,
    message_id: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "filename": filename,
        "mime_type": mime_type,
        "sha256": sha256_b64(content if content is not None else b"document"),
        "id": media_id,
    }
    if caption is not None:
        document["caption"] = caption
    return message_payload(
        wa_id,
        {"type": "document", "document": document},
        name=name,
        message_id=message_id,
        **kw,
    )


def status_entry(
    wa_message_id: str,
    status: str,
    *,
    recipient_id: str = "5491112345678",
    timestamp: int | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": wa_message_id,
        "status": status,
        "timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "recipient_id": recipient_id,
    }
    if errors:
        entry["errors"] = list(errors)
    return entry


def status_payload(
    wa_message_id: str | None = None,
    status: str = "delivered",
    *,
    statuses: Iterable[dict[str, Any]] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """One status (`wa_message_id`, `status`) or a batch of `status_entry(...)` dicts."""
    items = (
        list(statuses)
        if statuses is not None
        else [status_entry(wa_message_id or new_message_id(), status, **kw)]
    )
    return envelope({"statuses": items})


def deliver(
    payload: dict[str, Any] | bytes, *, secret: str | None = None, replayed: bool = False
) -> WebhookResult:
    """Push a payload through `receive_webhook` exactly as a signed POST would arrive.

    Signed with `secret`, by default the configured WHATSAPP_APP_SECRET. For the `chat` command
    and tests that do not need HTTP.
    """
    from whatsapp.services.webhooks import receive_webhook

    body = payload if isinstance(payload, bytes) else encode(payload)
    return receive_webhook(
        raw_body=body,
        headers=signed_headers(body, settings.WHATSAPP_APP_SECRET if secret is None else secret),
        replayed=replayed,
    )
