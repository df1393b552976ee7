"""Typed shapes of the events app: the event envelopes receivers get, and the subscription API.

Each event is `{"type", "timestamp", "data"}`; `data` is the object the API returns for what the
event is about (`OrderOut`, `RaffleOut`, or a proof with its order). The envelopes are written
into the committed OpenAPI document (`webhooks` and `components`, see `events.openapi`).
"""

from __future__ import annotations

from typing import Literal

from ninja import Field, Schema

from events.types import SUBSCRIBABLE, EventType
from project.api_types import STRICT_BODY, Timestamp
from project.pagination import PageOut
from raffles.draw_schemas import DrawOut
from raffles.schemas import OrderOut, ProofOut, RaffleOut

# --- the events ---------------------------------------------------------------------------------


class ProofEventData(Schema):
    proof: ProofOut = Field(description="The proof, as in the order's `proofs`.")
    order: OrderOut = Field(description="Its order, as `GET /api/v1/orders/{id}` returns it.")


class ProofRejectedData(ProofEventData):
    reason: str = Field(description="Why the operator rejected it (the buyer read this too).")


class TestEventData(Schema):
    subscription_id: int
    message: str


class _Envelope(Schema):
    type: str = Field(description="The event type.")
    timestamp: Timestamp = Field(description="When it happened (ISO 8601, UTC).")


class OrderReservedEvent(_Envelope):
    """A new order holds numbers (a buyer reserved them, or an operator took an order)."""

    type: Literal["order.reserved"]
    data: OrderOut


class OrderPendingPaymentEvent(_Envelope):
    """The order waits for payment: the buyer confirmed it, sent a proof before confirming, or
    an operator took it for another channel."""

    type: Literal["order.pending_payment"]
    data: OrderOut


class OrderPaidEvent(_Envelope):
    """The payment was confirmed: the order is PAID and its numbers SOLD."""

    type: Literal["order.paid"]
    data: OrderOut


class OrderCancelledEvent(_Envelope):
    """The order was cancelled (`data.cancel_reason` says why) and its numbers released."""

    type: Literal["order.cancelled"]
    data: OrderOut


class OrderExpiredEvent(_Envelope):
    """The payment deadline passed: the order is EXPIRED and its numbers back on sale."""

    type: Literal["order.expired"]
    data: OrderOut


class ProofReceivedEvent(_Envelope):
    """A buyer's payment proof arrived and its file is stored (`data.proof.download_url`)."""

    type: Literal["proof.received"]
    data: ProofEventData


class ProofRejectedEvent(_Envelope):
    """An operator rejected a proof; a live order waits for a new one with a fresh deadline."""

    type: Literal["proof.rejected"]
    data: ProofRejectedData


class RaffleSoldOutEvent(_Envelope):
    """The payment of the last number was confirmed: every number is SOLD."""

    type: Literal["raffle.sold_out"]
    data: RaffleOut


class RaffleDrawnData(Schema):
    raffle: RaffleOut
    draw: DrawOut


class RaffleDrawnEvent(_Envelope):
    """The raffle was drawn: `data.draw` has the winners and the proof (revealed seed, sold-list
    hash, lottery results)."""

    type: Literal["raffle.drawn"]
    data: RaffleDrawnData


class WebhookTestEvent(_Envelope):
    """Sent when an operator asks for a test ("Send a test event"), whatever the types."""

    type: Literal["webhook.test"]
    data: TestEventData


# Event type -> its envelope, in catalogue order.
ENVELOPES: dict[str, type[_Envelope]] = {
    EventType.ORDER_RESERVED: OrderReservedEvent,
    EventType.ORDER_PENDING_PAYMENT: OrderPendingPaymentEvent,
    EventType.ORDER_PAID: OrderPaidEvent,
    EventType.ORDER_CANCELLED: OrderCancelledEvent,
    EventType.ORDER_EXPIRED: OrderExpiredEvent,
    EventType.PROOF_RECEIVED: ProofReceivedEvent,
    EventType.PROOF_REJECTED: ProofRejectedEvent,
    EventType.RAFFLE_SOLD_OUT: RaffleSoldOutEvent,
    EventType.RAFFLE_DRAWN: RaffleDrawnEvent,
    EventType.TEST: WebhookTestEvent,
}

# --- the subscription API ----------------------------------------------------------------------

SubscribableType = Literal[SUBSCRIBABLE]  # type: ignore[valid-type]
URL_DESCRIPTION = (
    "Where events are POSTed: an http(s) URL such as an n8n Webhook node's production URL "
    "(ASCII; a non-ASCII host name as punycode). Redirects are not followed. A URL that passes "
    "this pattern but names no usable host answers 409 `invalid_target_url`."
)
# The characters a URL may hold (RFC 3986); a non-ASCII host name is given as punycode (xn--).
URL_PATTERN = r"^[hH][tT][tT][pP][sS]?://[A-Za-z0-9\-._~%!$&'()*+,;=:@/?#\[\]]+$"
TYPES_DESCRIPTION = "The event types this receiver is sent (at least one)."


class SubscriptionOut(Schema):
    id: int
    url: str
    event_types: list[SubscribableType] = Field(description=TYPES_DESCRIPTION)
    active: bool = Field(description="Events are recorded and sent only while active.")
    description: str
    secret_hint: str = Field(
        description="The first characters of the signing secret, to tell secrets apart. The "
        "whole secret is returned once, by the create operation."
    )
    failing_since: Timestamp | None = Field(
        description="The receiver has not answered 2xx since then; null while healthy."
    )
    last_success_at: Timestamp | None
    disabled_at: Timestamp | None = Field(
        description="When the system turned it off (a 410 answer, or failing too long)."
    )
    disabled_reason: str
    created_at: Timestamp
    updated_at: Timestamp


class SubscriptionCreatedOut(SubscriptionOut):
    secret: str = Field(
        description="The Standard Webhooks signing secret (`whsec_...`). Shown only now: keep "
        "it in the receiver (the n8n workflow) to verify `webhook-signature`."
    )


class SubscriptionPage(PageOut):
    results: list[SubscriptionOut]


class SubscriptionIn(Schema):
    model_config = STRICT_BODY

    url: str = Field(
        min_length=1, max_length=2000, pattern=URL_PATTERN, description=URL_DESCRIPTION
    )
    event_types: list[SubscribableType] = Field(
        min_length=1, max_length=len(SUBSCRIBABLE) * 2, description=TYPES_DESCRIPTION
    )
    description: str = Field("", max_length=500)
    active: bool = True


class SubscriptionPatch(Schema):
    """Only the fields sent are changed. Setting `active` to true clears what disabled it."""

    model_config = STRICT_BODY

    url: str = Field(  # type: ignore[assignment]
        None, min_length=1, max_length=2000, pattern=URL_PATTERN, description=URL_DESCRIPTION
    )
    event_types: list[SubscribableType] = Field(  # type: ignore[assignment]
        None, min_length=1, max_length=len(SUBSCRIBABLE) * 2, description=TYPES_DESCRIPTION
    )
    description: str = Field(None, max_length=500)  # type: ignore[assignment]
    active: bool = None  # type: ignore[assignment]


class DeliveryAttemptOut(Schema):
    number: int
    at: Timestamp
    status_code: int | None = Field(description="The receiver's HTTP status; null: no answer.")
    response_excerpt: str = Field(description="The start of the receiver's answer.")
    duration_ms: int
    error: str = Field(description="Why it failed (timeout, refused connection...), if it did.")
    next_attempt_at: Timestamp | None = Field(description="When it was to be tried again.")


class DeliveryOut(Schema):
    id: int
    subscription_id: int
    webhook_id: str = Field(description="The `webhook-id` header: the same on every retry.")
    event_type: str
    occurred_at: Timestamp
    status: Literal["pending", "sending", "delivered", "failed"]
    attempts: int
    next_attempt_at: Timestamp | None
    last_status_code: int | None
    last_error: str
    created_at: Timestamp
    delivered_at: Timestamp | None
    log: list[DeliveryAttemptOut] = Field(description="Every attempt, oldest first.")

    @staticmethod
    def resolve_webhook_id(obj: object) -> str:
        return obj.message_id  # type: ignore[attr-defined]

    @staticmethod
    def resolve_log(obj: object) -> list[object]:
        return list(obj.log.all())  # type: ignore[attr-defined]


class DeliveryPage(PageOut):
    results: list[DeliveryOut]


class DeliveryFilters(Schema):
    status: Literal["pending", "sending", "delivered", "failed"] | None = None
    event_type: Literal[tuple(EventType.values)] | None = None  # type: ignore[valid-type]
