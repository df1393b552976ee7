"""Posting signed webhooks in tests: fixtures from tests/fixtures/webhooks, signed like Meta."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings

from whatsapp.signature import SIGNATURE_HEADER
from whatsapp.testing import encode, sign

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
WEBHOOK_URL = "/whatsapp/webhook/"


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def signed_post(client, payload: dict[str, Any] | bytes, *, secret: str | None = None):
    """POST `payload` to the webhook the way Meta does (raw JSON, X-Hub-Signature-256)."""
    body = payload if isinstance(payload, bytes) else encode(payload)
    signature = sign(body, settings.WHATSAPP_APP_SECRET if secret is None else secret)
    return client.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: signature},
    )


def signed_headers(body: bytes) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(body, settings.WHATSAPP_APP_SECRET)}
