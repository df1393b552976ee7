"""Posting signed webhooks through Django's test client, signed by `whatsapp.simulator`.

In-process tests that need no HTTP hand payloads over with `whatsapp.simulator.deliver`; tests
against a live server sign with `whatsapp.simulator.signed_headers`. Fixtures come from
tests/fixtures/webhooks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings

from whatsapp.simulator import encode, signed_headers

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
WEBHOOK_URL = "/whatsapp/webhook/"


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def signed_post(
    client,
    payload: dict[str, Any] | bytes,
    *,
    secret: str | None = None,
    url: str = WEBHOOK_URL,
):
    """POST `payload` to the webhook the way Meta does (raw JSON, X-Hub-Signature-256), signed
    with `secret`, by default the configured WHATSAPP_APP_SECRET."""
    body = payload if isinstance(payload, bytes) else encode(payload)
    headers = signed_headers(body, settings.WHATSAPP_APP_SECRET if secret is None else secret)
    return client.post(url, data=body, content_type="application/json", headers=headers)
