"""Raffles and orders routers of the internal API (/api/v1/raffles, /api/v1/orders).

Thin: parse, call a `raffles` service, shape. Every rule lives in the services, so the admin,
the bot and n8n obey the same ones.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Body, Query, Router, Status

from project.api_types import ObjectId
from project.auth import require_perm
from project.errors import ApiError, error_responses
from project.files import private_file_response
from project.idempotency import OPENAPI_PARAMETER as IDEMPOTENCY_KEY
from project.pagination import PageOut, PageParams, forbid_unknown_query, paginate
from raffles import selectors, services
from raffles.models import Order, PaymentProof, Raffle, TicketNumber
from raffles.schemas import (
    AvailabilityOut,
    CancelIn,
    ConfirmIn,
    OrderCreateIn,
    OrderFilters,
    OrderOut,
    RaffleIn,
    RaffleListFilters,
    RaffleOut,
    RafflePatch,
    TicketFilters,
    TicketOut,
)

raffles_router = Router(tags=["raffles"])
orders_router = Router(tags=["orders"])

POST_EXTRA = {"parameters": [IDEMPOTENCY_KEY]}
# What buyers send as proofs (WhatsApp images and documents).
PROOF_MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")


class RafflePage(PageOut):
    results: list[RaffleOut]


class TicketPage(PageOut):
    results: list[TicketOut]


class OrderPage(PageOut):
    results: list[OrderOut]


# --- Raffles -----------------------------------------------------------------------------------


@raffles_router.get(
    "",
    response={200: RafflePage, **error_responses(401, 403, 422)},
    operation_id="raffles_list",
    summary="List raffles",
    description="Raffles, newest first. Filter with `is_active`.",
)
def list_raffles(
    request: HttpRequest, filters: Query[RaffleListFilters], page: Query[PageParams]
) -> dict[str, Any]:
    require_perm(request, "raffles.view_raffle")
    forbid_unknown_query(request, filters, page)
    return paginate(request, selectors.raffles_newest_first(is_active=filters.is_active), page)


@raffles_router.post(
    "",
    response={201: RaffleOut, **error_responses(401, 403, 409, 422)},
    operation_id="raffles_create",
    summary="Create a raffle",
    description=(
        "Creates the raffle and generates its numbers. A large range is generated in the "
        "background: `tickets_ready` turns true (and the raffle active, if asked) when done."
    ),
    openapi_extra=POST_EXTRA,
)
def create_raffle(request: HttpRequest, body: RaffleIn) -> Status:
    require_perm(request, "raffles.add_raffle")
    forbid_unknown_query(request)
    raffle = services.create_raffle(**body.model_dump(), by=request.auth)
    raffle.refresh_from_db()  # tickets_ready / is_active as generation left them
    return Status(201, raffle)


@raffles_router.get(
    "/{raffle_id}",
    response={200: RaffleOut, **error_responses(401, 403, 404, 422)},
    operation_id="raffles_get",
    summary="Get a raffle",
    description="One raffle with its settings.",
)
def get_raffle(request: HttpRequest, raffle_id: ObjectId) -> Raffle:
    require_perm(request, "raffles.view_raffle")
    forbid_unknown_query(request)
    return get_object_or_404(Raffle, pk=raffle_id)


@raffles_router.patch(
    "/{raffle_id}",
    response={200: RaffleOut, **error_responses(401, 403, 404, 409, 422)},
    operation_id="raffles_update",
    summary="Update a raffle",
    description="Changes only the fields sent. Activating needs every number generated.",
)
def update_raffle(request: HttpRequest, raffle_id: ObjectId, body: RafflePatch) -> Raffle:
    require_perm(request, "raffles.change_raffle")
    forbid_unknown_query(request)
    raffle = get_object_or_404(Raffle, pk=raffle_id)
    return services.update_raffle(
        raffle=raffle, changes=body.model_dump(exclude_unset=True), by=request.auth
    )


@raffles_router.delete(
    "/{raffle_id}",
    response={204: None, **error_responses(401, 403, 404, 409, 422)},
    operation_id="raffles_delete",
    summary="Delete a raffle",
    description=(
        "Only a raffle none of whose numbers was ever reserved or sold can be deleted "
        "(409 `raffle_in_use` otherwise)."
    ),
)
def delete_raffle(request: HttpRequest, raffle_id: ObjectId) -> Status:
    require_perm(request, "raffles.delete_raffle")
    forbid_unknown_query(request)
    raffle = get_object_or_404(Raffle, pk=raffle_id)
    services.delete_raffle(raffle=raffle, by=request.auth)
    return Status(204, None)


@raffles_router.get(
    "/{raffle_id}/availability",
    response={200: AvailabilityOut, **error_responses(401, 403, 404, 422)},
    operation_id="raffles_availability",
    summary="Availability of a raffle",
    description="Tickets per status and the available numbers as inclusive ranges.",
)
def raffle_availability(request: HttpRequest, raffle_id: ObjectId) -> dict[str, Any]:
    require_perm(request, "raffles.view_raffle")
    forbid_unknown_query(request)
    return selectors.availability_data(get_object_or_404(Raffle, pk=raffle_id))


@raffles_router.get(
    "/{raffle_id}/tickets",
    response={200: TicketPage, **error_responses(401, 403, 404, 422)},
    operation_id="raffles_tickets",
    summary="List a raffle's tickets",
    description="Tickets in number order; filter by `status` and a number range.",
)
def raffle_tickets(
    request: HttpRequest,
    raffle_id: ObjectId,
    filters: Query[TicketFilters],
    page: Query[PageParams],
) -> dict[str, Any]:
    require_perm(request, "raffles.view_ticketnumber")
    forbid_unknown_query(request, filters, page)
    raffle = get_object_or_404(Raffle, pk=raffle_id)
    tickets = selectors.tickets_of(raffle, **filters.model_dump())

    def shape(items: Any) -> list[TicketNumber]:
        for ticket in items:
            ticket.raffle = raffle  # one raffle for the page: no query per ticket
        return list(items)

    return paginate(request, tickets, page, shape)


# --- Orders ------------------------------------------------------------------------------------


def order_output(request: HttpRequest, order_id: int) -> Order:
    order = get_object_or_404(selectors.orders_for_output(), pk=order_id)
    return selectors.with_details([order])[0]


@orders_router.get(
    "",
    response={200: OrderPage, **error_responses(401, 403, 422)},
    operation_id="orders_list",
    summary="List orders",
    description=(
        "Orders, newest first, with their numbers, buyer and proofs. Poll for changes with "
        "`updated_after`; follow `next` for further pages."
    ),
)
def list_orders(
    request: HttpRequest, filters: Query[OrderFilters], page: Query[PageParams]
) -> dict[str, Any]:
    require_perm(request, "raffles.view_order")
    forbid_unknown_query(request, filters, page)
    orders = selectors.filter_orders(
        selectors.orders_for_output().order_by("-id"), **filters.model_dump()
    )
    return paginate(request, orders, page, selectors.with_details)


@orders_router.post(
    "",
    response={201: OrderOut, **error_responses(401, 403, 404, 409, 422)},
    operation_id="orders_create",
    summary="Create an order for a buyer",
    description=(
        "For sales made through another channel: reserves `numbers` (or `qty` random numbers) "
        "for the buyer with WhatsApp id `wa_id` and leaves the order PENDING_PAYMENT with the "
        "raffle's payment deadline. The buyer is not messaged."
    ),
    openapi_extra=POST_EXTRA,
)
def create_order(request: HttpRequest, body: Body[OrderCreateIn]) -> Status:
    require_perm(request, "raffles.add_order")
    forbid_unknown_query(request)
    raffle = get_object_or_404(Raffle, pk=body.raffle_id)
    order = services.create_order_for_wa_id(
        raffle=raffle,
        wa_id=body.wa_id,
        name=body.name,
        numbers=getattr(body, "numbers", None),
        qty=getattr(body, "qty", None),
        by=request.auth,
    )
    return Status(201, order_output(request, order.pk))


@orders_router.get(
    "/{order_id}",
    response={200: OrderOut, **error_responses(401, 403, 404, 422)},
    operation_id="orders_get",
    summary="Get an order",
    description="One order with its numbers, buyer and payment proofs (with download URLs).",
)
def get_order(request: HttpRequest, order_id: ObjectId) -> Order:
    require_perm(request, "raffles.view_order")
    forbid_unknown_query(request)
    return order_output(request, order_id)


@orders_router.post(
    "/{order_id}/confirm-payment",
    response={200: OrderOut, **error_responses(401, 403, 404, 409, 422)},
    operation_id="orders_confirm_payment",
    summary="Confirm an order's payment",
    description=(
        "Marks the order PAID and its numbers SOLD; the buyer is told. By the order's status:\n\n"
        "- `PENDING_PAYMENT`: confirmed (200), even past its deadline if the expiry sweep has "
        "not run yet.\n"
        "- `PAID`: returned unchanged (200): confirming twice is safe.\n"
        "- `EXPIRED`: confirmed (200) when every one of its numbers is still available (they are "
        "taken again); 409 `numbers_lost` (`extra.numbers`) when someone else holds any now.\n"
        "- `CANCELLED`: 409 `invalid_transition`.\n"
        "- `DRAFT` (the buyer has not confirmed it in the chat): 409 `order_not_pending`.\n\n"
        "`payment_proof_media_id` records which received proof was checked. The body is "
        "optional."
    ),
    openapi_extra=POST_EXTRA,
)
def confirm_payment(
    request: HttpRequest, order_id: ObjectId, body: ConfirmIn | None = None
) -> Order:
    require_perm(request, "raffles.confirm_payment")
    forbid_unknown_query(request)
    body = body or ConfirmIn()
    order = get_object_or_404(Order, pk=order_id)
    services.confirm_payment(
        order=order,
        by=request.auth,
        note=body.note,
        payment_proof_media_id=body.payment_proof_media_id or "",
    )
    return order_output(request, order_id)


@orders_router.post(
    "/{order_id}/cancel",
    response={200: OrderOut, **error_responses(401, 403, 404, 409, 422)},
    operation_id="orders_cancel",
    summary="Cancel an order",
    description=(
        "Cancels the order and releases its numbers; the buyer is told. By the order's status: "
        "`DRAFT` or `PENDING_PAYMENT`: cancelled (200); `CANCELLED`: returned unchanged (200); "
        "`PAID` or `EXPIRED`: 409 `invalid_transition`. The body is optional."
    ),
    openapi_extra=POST_EXTRA,
)
def cancel_order(request: HttpRequest, order_id: ObjectId, body: CancelIn | None = None) -> Order:
    require_perm(request, "raffles.cancel_order")
    forbid_unknown_query(request)
    body = body or CancelIn()
    order = get_object_or_404(Order, pk=order_id)
    services.cancel_order(order=order, by=request.auth, reason=body.reason)
    return order_output(request, order_id)


@orders_router.get(
    "/{order_id}/proofs/{proof_id}/file",
    response={200: None, **error_responses(401, 403, 404, 422)},
    url_name="orders_proof_file",
    operation_id="orders_proof_file",
    summary="Download a payment proof",
    description="The proof file (image or PDF) as the buyer sent it. Needs the same token.",
    openapi_extra={
        "responses": {
            200: {
                "description": (
                    "The file, as an attachment. Its `Content-Type` is the file's own: "
                    f"{', '.join(PROOF_MEDIA_TYPES)}."
                ),
                # `application/octet-stream` first: generators (openapi-python-client,
                # openapi-fetch) then hand the caller bytes instead of parsing JSON.
                "content": {
                    media_type: {"schema": {"type": "string", "format": "binary"}}
                    for media_type in ("application/octet-stream", *PROOF_MEDIA_TYPES)
                },
            }
        }
    },
)
def proof_file(request: HttpRequest, order_id: ObjectId, proof_id: ObjectId) -> FileResponse:
    require_perm(request, "raffles.view_paymentproof")
    forbid_unknown_query(request)
    proof = get_object_or_404(PaymentProof, pk=proof_id, order_id=order_id)
    if not proof.file:
        raise ApiError(404, "not_found", "This proof's file has not arrived yet.")
    try:
        handle = proof.file.open("rb")
    except FileNotFoundError as exc:
        raise ApiError(404, "not_found", "This proof's file is missing from storage.") from exc
    return private_file_response(
        handle,
        content_type=proof.mime_type,  # from the content, by store_proof_file
        filename=proof.file.name.rsplit("/", 1)[-1],  # proof-<id>.<ext>
        as_attachment=True,
    )
