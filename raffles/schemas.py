"""Typed request and response schemas of the raffles and orders API.

The response schemas are the one representation of a raffle or an order: the Ninja API returns
them and the DRF compatibility layer dumps the same schema, so both print the same JSON.
Money is a decimal string, datetimes ISO 8601 with an offset (see `project.api_types`). Money
bounds come from the model fields (`raffles.bounds`): requests are held to the bounds a raffle
may be set to, responses are described by what the columns can hold.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Schema
from pydantic import BaseModel, Discriminator, Tag

from project.api_types import (
    STRICT_BODY,
    IsoDatetime,
    ObjectId,
    Timestamp,
    json_int,
    money_in,
    money_out,
)
from raffles import bounds
from raffles.models import OrderStatus, TicketStatus

# Ticket numbers are PositiveIntegerField: bounded so a huge number is a 422, not an overflow.
NUMBER_MAX = 2**31 - 1


def _money_out(field, description: str) -> object:
    return money_out(
        max_digits=field.max_digits,
        decimal_places=field.decimal_places,
        description=description,
    )


_PRICE = bounds.ticket_price_field()
TicketPriceIn = money_in(
    maximum=bounds.ticket_price_max(),
    decimal_places=_PRICE.decimal_places,
    description=(
        f"At most {bounds.ticket_price_max()}: with at most "
        f"{bounds.tickets_per_order_max():,} numbers per order every total fits an order."
    ),
)
TicketPriceOut = _money_out(
    _PRICE,
    f"Raffles are set to at most {bounds.ticket_price_max()}; one stored before that bound "
    "may show more.",
)
UnitPriceOut = _money_out(bounds.unit_price_field(), "The raffle's price when ordered.")
TotalOut = _money_out(
    bounds.order_total_field(),
    f"Unit price times qty; at most {bounds.order_total_max()} (larger orders are refused "
    "with `order_total_too_large`).",
)
PerOrder = json_int(ge=1, le=bounds.tickets_per_order_max())


# --- Raffles -----------------------------------------------------------------------------------


class RaffleOut(Schema):
    id: int
    title: str
    description: str
    ticket_price: TicketPriceOut
    currency: str = Field(description="ISO 4217 code, e.g. USD.")
    min_number: int
    max_number: int
    is_active: bool = Field(description="Buyers can reserve numbers.")
    tickets_ready: bool = Field(description="Every number of the range exists as a ticket.")
    max_tickets_per_order: int
    reservation_ttl_minutes: int | None = Field(
        description="Minutes a reservation is held; null uses the site default."
    )
    payment_instructions: str
    draw_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class RaffleListFilters(Schema):
    is_active: bool | None = Field(None, description="Only active (true) or inactive (false).")


class RaffleIn(Schema):
    model_config = STRICT_BODY

    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    ticket_price: TicketPriceIn
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    min_number: json_int(ge=0, le=NUMBER_MAX) = 0
    max_number: json_int(ge=0, le=NUMBER_MAX)
    is_active: bool = Field(
        False, description="Start selling as soon as every number exists (large ranges take time)."
    )
    max_tickets_per_order: PerOrder = 10
    reservation_ttl_minutes: json_int(ge=1, le=525_600) | None = None
    payment_instructions: str = Field("", max_length=10_000)
    draw_at: IsoDatetime | None = None


class RafflePatch(Schema):
    """Only the fields sent are changed. Only `reservation_ttl_minutes` (null: the site
    default) and `draw_at` accept null."""

    model_config = STRICT_BODY

    # Defaults of None mark "not sent"; the types themselves refuse null.
    title: str = Field(None, min_length=1, max_length=200)  # type: ignore[assignment]
    description: str = Field(None, max_length=10_000)  # type: ignore[assignment]
    ticket_price: TicketPriceIn = None  # type: ignore[assignment]
    currency: str = Field(None, pattern=r"^[A-Z]{3}$")  # type: ignore[assignment]
    is_active: bool = None  # type: ignore[assignment]
    max_tickets_per_order: PerOrder = None
    reservation_ttl_minutes: json_int(ge=1, le=525_600) | None = None
    payment_instructions: str = Field(None, max_length=10_000)  # type: ignore[assignment]
    draw_at: IsoDatetime | None = None


# Plain pydantic models, not ninja Schemas: a 1,000,000-number raffle can have thousands of
# ranges, and validating plain dicts skips the per-object attribute lookup Schema adds.
class StatusCounts(BaseModel):
    AVAILABLE: int
    RESERVED: int
    SOLD: int


class NumberRange(BaseModel):
    first: int
    last: int


class AvailabilityOut(Schema):
    raffle_id: int
    total: int = Field(description="Numbers in the raffle's range.")
    counts: StatusCounts = Field(description="Tickets per status.")
    available_ranges: list[NumberRange] = Field(
        description="Available numbers as inclusive ranges, ascending."
    )


class TicketOut(Schema):
    number: int
    label: str = Field(description="The number as buyers see it, zero-padded.")
    status: TicketStatus
    order_id: int | None = Field(description="The order reserving or holding it.")
    reserved_until: Timestamp | None

    @staticmethod
    def resolve_order_id(obj: Any) -> int | None:
        return obj.reserved_by_order_id

    @staticmethod
    def resolve_label(obj: Any) -> str:
        return obj.raffle.format_number(obj.number)


class TicketFilters(Schema):
    status: TicketStatus | None = None
    number_min: int | None = Field(None, ge=0, le=NUMBER_MAX, description="From this number.")
    number_max: int | None = Field(None, ge=0, le=NUMBER_MAX, description="Up to this number.")


# --- Orders ------------------------------------------------------------------------------------


class BuyerOut(Schema):
    id: int
    wa_id: str
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return obj.profile_name


class ProofOut(Schema):
    id: int
    status: str = Field(
        description=(
            "RECEIVING (its file is being downloaded and checked), PENDING (waits for review), "
            "ACCEPTED or REJECTED."
        )
    )
    media_id: str
    mime_type: str
    received_at: Timestamp
    late: bool = Field(description="Arrived after the order expired.")
    download_url: str | None = Field(
        description="Download with the same token; null while the file has not arrived."
    )

    @staticmethod
    def resolve_download_url(obj: Any, context: Any) -> str | None:
        if not obj.file:
            return None
        path = reverse(
            "api-v1:orders_proof_file", kwargs={"order_id": obj.order_id, "proof_id": obj.pk}
        )
        request: HttpRequest | None = (context or {}).get("request")
        return request.build_absolute_uri(path) if request is not None else path


class OrderOut(Schema):
    id: int
    raffle_id: int
    raffle_title: str
    status: OrderStatus
    qty: int
    numbers: list[int]
    unit_price: UnitPriceOut
    total_amount: TotalOut
    currency: str = Field(description="ISO 4217 code, the raffle's when the order was made.")
    buyer: BuyerOut
    expires_at: Timestamp | None = Field(
        description="Payment deadline; null when paid, closed, or while a proof is reviewed."
    )
    has_proof: bool
    proofs: list[ProofOut]
    confirmed_at: Timestamp | None
    cancelled_at: Timestamp | None
    cancel_reason: str
    created_at: Timestamp
    updated_at: Timestamp

    @staticmethod
    def resolve_raffle_title(obj: Any) -> str:
        return obj.raffle.title

    @staticmethod
    def resolve_buyer(obj: Any) -> Any:
        return obj.contact

    @staticmethod
    def resolve_numbers(obj: Any) -> list[int]:
        # `api_numbers` is loaded for a whole page by raffles.api.with_details.
        numbers = getattr(obj, "api_numbers", None)
        return obj.numbers if numbers is None else numbers

    @staticmethod
    def resolve_proofs(obj: Any) -> list[Any]:
        proofs = getattr(obj, "api_proofs", None)
        return list(obj.proofs.order_by("-received_at", "-id")) if proofs is None else proofs

    @staticmethod
    def resolve_has_proof(obj: Any) -> bool:
        return bool(OrderOut.resolve_proofs(obj))


class OrderFilters(Schema):
    status: OrderStatus | None = None
    raffle: ObjectId | None = Field(None, description="Raffle id.")
    contact: ObjectId | None = Field(None, description="Contact (buyer) id.")
    has_proof: bool | None = Field(None, description="Orders with (true) or without a proof.")
    created_after: IsoDatetime | None = Field(None, description="Created at or after (ISO 8601).")
    created_before: IsoDatetime | None = Field(None, description="Created before (ISO 8601).")
    updated_after: IsoDatetime | None = Field(
        None, description="Changed at or after: poll with the time of the previous poll."
    )
    updated_before: IsoDatetime | None = Field(None, description="Changed before (ISO 8601).")


class _OrderForBuyerIn(Schema):
    model_config = STRICT_BODY

    raffle_id: json_int(ge=1, le=2**63 - 1)
    wa_id: str = Field(
        min_length=5,
        max_length=20,
        pattern=r"^\d+$",
        description="The buyer's WhatsApp number, digits only with country code.",
    )
    name: str = Field("", max_length=256, description="The buyer's name.")


class OrderByNumbersIn(_OrderForBuyerIn):
    """An order for these numbers."""

    numbers: list[json_int(ge=0, le=NUMBER_MAX)] = Field(
        min_length=1, max_length=1000, description="Specific numbers."
    )


class OrderByQtyIn(_OrderForBuyerIn):
    """An order for that many random numbers."""

    qty: json_int(ge=1, le=1000) = Field(description="How many random numbers.")


# Two real object schemas, one per way of choosing: each forbids the other's key, so exactly one
# matches, and every generator types both (a `oneOf` of bare `required` lists became `Any` in
# Python and `unknown` in TypeScript).
def _way_of_choosing(data: Any) -> str | None:
    # Only the branch the caller meant is validated, so errors name its fields alone.
    if not isinstance(data, dict):
        return None
    if "numbers" in data:
        return "numbers"
    return "qty" if "qty" in data else None


OrderCreateIn = Annotated[
    Annotated[OrderByNumbersIn, Tag("numbers")] | Annotated[OrderByQtyIn, Tag("qty")],
    Discriminator(
        _way_of_choosing,
        custom_error_type="numbers_or_qty_required",
        custom_error_message="send either numbers or qty",
    ),
]


class ConfirmIn(Schema):
    model_config = STRICT_BODY

    note: str = Field("", max_length=2000, description="Kept in the order's history.")
    payment_proof_media_id: str | None = Field(
        None,
        max_length=128,
        description="Meta media id of the proof that was checked, recorded with the order.",
    )


class CancelIn(Schema):
    model_config = STRICT_BODY

    reason: str = Field("", max_length=2000, description="Why; kept with the order.")
