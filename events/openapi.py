"""The events in the OpenAPI document: each envelope as a component schema, and a `webhooks`
entry per event type (OpenAPI 3.1) with its headers, answers and an example.

`project.api` applies `document_events` to the generated spec, so the committed
`openapi/openapi.json` describes what receivers get next to what the API answers.
"""

from __future__ import annotations

import copy
from typing import Any

from ninja.openapi.schema import REF_TEMPLATE
from ninja.schema import NinjaGenerateJsonSchema

from events.schemas import ENVELOPES
from events.types import EventType

__all__ = ["EXAMPLES", "document_events"]

TAG = "events"

OVERVIEW = (
    "Receivers subscribed through `/api/v1/webhook-subscriptions` get a signed `POST` for each "
    "event they chose, following [Standard Webhooks](https://www.standardwebhooks.com/): "
    "headers `webhook-id` (the same on every retry: drop duplicates by it), `webhook-timestamp` "
    "(Unix seconds of this attempt) and `webhook-signature` (`v1,<base64>`: HMAC-SHA256 with "
    "the secret's base64-decoded bytes after `whsec_`, over `<webhook-id>.<webhook-timestamp>."
    '<body>`). The body is `{"type", "timestamp", "data"}`; `data` is the object as the '
    "API returns it. Any 2xx answer means delivered; anything else is retried with exponential "
    "backoff and jitter for about 3 days; 410 turns the subscription off. The order in which "
    "events arrive is not promised: compare `timestamp`s, or read the order again."
)

HEADERS = [
    {
        "in": "header",
        "name": "webhook-id",
        "required": True,
        "schema": {"type": "string", "examples": ["msg_2b8f0d6c7a1e4f3b9c5d8e7f6a5b4c3d"]},
        "description": "The event's id for this receiver, the same on every retry.",
    },
    {
        "in": "header",
        "name": "webhook-timestamp",
        "required": True,
        "schema": {"type": "string", "pattern": r"^\d+$", "examples": ["1795000000"]},
        "description": "When this attempt was signed (Unix seconds). Refuse one far from now.",
    },
    {
        "in": "header",
        "name": "webhook-signature",
        "required": True,
        "schema": {
            "type": "string",
            "examples": ["v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="],
        },
        "description": "`v1,` and the base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`.",
    },
]

ANSWERS = {
    "2XX": {"description": "Received: the event is delivered and not sent again."},
    "410": {"description": "Gone: the subscription is turned off; nothing more is sent."},
    "default": {"description": "Anything else, or no answer within the timeout: sent again later."},
}

# --- examples ---------------------------------------------------------------------------------

_AT = "2026-11-22T14:03:11.402117+00:00"
_PROOF = {
    "id": 88,
    "status": "PENDING",
    "media_id": "1187343985641188",
    "mime_type": "image/jpeg",
    "received_at": "2026-11-22T14:01:50.120334+00:00",
    "late": False,
    "download_url": "https://raffles.example.com/api/v1/orders/1042/proofs/88/file",
}


def _order(status: str, **changes: Any) -> dict[str, Any]:
    order = {
        "id": 1042,
        "raffle_id": 7,
        "raffle_title": "Spring raffle",
        "status": status,
        "qty": 2,
        "numbers": [7, 8],
        "unit_price": "5.00",
        "total_amount": "10.00",
        "currency": "USD",
        "buyer": {"id": 311, "wa_id": "5491155550101", "name": "Ana"},
        "expires_at": "2026-11-22T14:31:02.000000+00:00",
        "has_proof": False,
        "proofs": [],
        "confirmed_at": None,
        "cancelled_at": None,
        "cancel_reason": "",
        "created_at": "2026-11-22T14:01:02.000000+00:00",
        "updated_at": _AT,
    }
    order.update(changes)
    return order


_SOLD_SHA256 = "6605e35b4c15c5fcf152894f236279f92c1766da4638de33a5faab7c0b98c0ba"  # README example

_RAFFLE = {
    "id": 7,
    "title": "Spring raffle",
    "description": "A bicycle and two dinners.",
    "ticket_price": "5.00",
    "currency": "USD",
    "min_number": 0,
    "max_number": 99,
    "is_active": True,
    "tickets_ready": True,
    "max_tickets_per_order": 10,
    "reservation_ttl_minutes": None,
    "payment_instructions": "Bank ACME, account 123",
    "draw_at": "2026-12-01T20:00:00+00:00",
    "sales_cutoff_minutes": 60,
    "draw_method": "RANDOM",
    "lottery_name": "",
    "lottery_date": None,
    "unsold_policy": "HOUSE_KEEPS",
    "seed_commitment": "613d0c0340edbb5959bfd15512e808f02914cae084acf5d65320b1dbd649db14",
    "sales_closed_at": None,
    "drawn_at": None,
    "created_at": "2026-11-01T09:00:00+00:00",
    "updated_at": "2026-11-01T09:00:00+00:00",
}

_IN_REVIEW = {"expires_at": None, "has_proof": True, "proofs": [_PROOF]}

EXAMPLES: dict[str, dict[str, Any]] = {
    EventType.ORDER_RESERVED: _order("DRAFT"),
    EventType.ORDER_PENDING_PAYMENT: _order("PENDING_PAYMENT"),
    EventType.ORDER_PAID: _order(
        "PAID",
        expires_at=None,
        has_proof=True,
        proofs=[{**_PROOF, "status": "ACCEPTED"}],
        confirmed_at=_AT,
    ),
    EventType.ORDER_CANCELLED: _order(
        "CANCELLED", expires_at=None, cancelled_at=_AT, cancel_reason="Buyer asked by phone."
    ),
    EventType.ORDER_EXPIRED: _order("EXPIRED"),
    EventType.PROOF_RECEIVED: {
        "proof": _PROOF,
        "order": _order("PENDING_PAYMENT", **_IN_REVIEW),
    },
    EventType.PROOF_REJECTED: {
        "proof": {**_PROOF, "status": "REJECTED"},
        "order": _order(
            "PENDING_PAYMENT",
            has_proof=True,
            proofs=[{**_PROOF, "status": "REJECTED"}],
            expires_at="2026-11-22T14:33:11.000000+00:00",
        ),
        "reason": "The amount is not visible.",
    },
    EventType.RAFFLE_SOLD_OUT: {**_RAFFLE, "updated_at": _AT},
    EventType.RAFFLE_DRAWN: {
        "raffle": {
            **_RAFFLE,
            "sales_closed_at": "2026-12-01T19:00:00+00:00",
            "drawn_at": "2026-12-01T20:05:00+00:00",
            "updated_at": _AT,
        },
        "draw": {
            "raffle_id": _RAFFLE["id"],
            "method": "RANDOM",
            "lottery_name": "",
            "lottery_date": None,
            "unsold_policy": "HOUSE_KEEPS",
            "draw_at": _RAFFLE["draw_at"],
            "sales_close_at": "2026-12-01T19:00:00+00:00",
            "sales_closed_at": "2026-12-01T19:00:00+00:00",
            "seed_commitment": "613d0c0340edbb5959bfd15512e808f02914cae084acf5d65320b1dbd649db14",
            "closing_sold_sha256": _SOLD_SHA256,
            "closing_sold_count": 6,
            "drawn": True,
            "drawn_at": "2026-12-01T20:05:00+00:00",
            "seed": "5f2b9c1d0e4a7b3c6d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e",
            "sold_sha256": _SOLD_SHA256,
            "sold_count": 6,
            "lottery_results": [],
            "cancelled_order_ids": [],
            "prizes": [
                {
                    "position": 1,
                    "title": "A motorbike",
                    "description": "",
                    "outcome": "WON",
                    "winning_number": "42",
                    "winning_order_id": 12,
                    "lottery_result": "",
                },
                {
                    "position": 2,
                    "title": "A phone",
                    "description": "",
                    "outcome": "WON",
                    "winning_number": "14",
                    "winning_order_id": 9,
                    "lottery_result": "",
                },
            ],
        },
    },
    EventType.TEST: {
        "subscription_id": 3,
        "message": "A test event from Raffle Backoffice: if its signature verifies, all is well.",
    },
}


def example(event_type: str) -> dict[str, Any]:
    """A whole body of `event_type`, as a receiver gets it."""
    return {"type": event_type, "timestamp": _AT, "data": copy.deepcopy(EXAMPLES[event_type])}


# --- the document ----------------------------------------------------------------------------


def document_events(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the envelopes to `components.schemas` and one `webhooks` entry per event type."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    webhooks: dict[str, Any] = {}
    for event_type, envelope in ENVELOPES.items():
        generated = envelope.model_json_schema(
            ref_template=REF_TEMPLATE,
            schema_generator=NinjaGenerateJsonSchema,
            mode="serialization",
        )
        for name, definition in generated.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components[envelope.__name__] = generated
        webhooks[event_type] = {
            "post": {
                "operationId": "event_" + event_type.replace(".", "_"),
                "summary": event_type,
                "description": (envelope.__doc__ or "").strip(),
                "tags": [TAG],
                "parameters": copy.deepcopy(HEADERS),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": REF_TEMPLATE.format(model=envelope.__name__)},
                            "example": example(event_type),
                        }
                    },
                },
                "responses": copy.deepcopy(ANSWERS),
            }
        }
    schema["webhooks"] = webhooks
    info = schema.setdefault("info", {})
    info["description"] = (
        f"{info.get('description', '')}\n\n**Events to receivers (webhooks)**: {OVERVIEW} "
        "Each event type, with its body and an example, is under `webhooks`."
    ).strip()
    tags = [t for t in schema.get("tags", []) if t.get("name") != TAG]
    schema["tags"] = [*tags, {"name": TAG, "description": OVERVIEW}]
    return schema
