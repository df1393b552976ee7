"""DRF views of the compatibility layer: parse, call the same service as /api/v1/, shape."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from project.json_body import parse_json_object
from project.pagination import PageParams, forbid_unknown_query, paginate
from raffles import services
from raffles.compat.representation import dump
from raffles.models import Order, OrderStatus, Raffle
from raffles.schemas import AvailabilityOut, CancelIn, ConfirmIn, OrderFilters, OrderOut
from raffles.selectors import availability_data, filter_orders, orders_for_output, with_details


class RequiredPerms(permissions.BasePermission):
    """The view's `required_perms` (model permissions of the token's user)."""

    message = "This token's user lacks a required permission."

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.user.has_perms(getattr(view, "required_perms", ()))


STAFF_WITH_PERMS = [permissions.IsAdminUser, RequiredPerms]


def _query[SchemaT: BaseModel](schema: type[SchemaT], request: Request) -> SchemaT:
    """The query parameters `schema` knows, validated like a Ninja `Query[schema]` (a repeated
    parameter counts with its last value); 422 with the same error body otherwise."""
    names = {field.alias or name for name, field in schema.model_fields.items()}
    data = {name: request.query_params[name] for name in request.query_params if name in names}
    try:
        return schema.model_validate(data)
    except PydanticValidationError as exc:
        raise NinjaValidationError(_located("query", exc)) from exc


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _body[SchemaT: BaseModel](schema: type[SchemaT], request: Request) -> SchemaT:
    """The body validated by the /api/v1/ schema: a JSON object, or no body at all (`{}`).

    One documented difference from /api/v1/: older workflows post form fields, so a form body
    is read too (its values are text, which is what these bodies hold; unknown fields are
    still refused)."""
    http_request = request._request
    if http_request.content_type in FORM_TYPES:
        data: dict[str, Any] = {name: http_request.POST[name] for name in http_request.POST}
    else:
        raw = http_request.body
        try:
            data = parse_json_object(raw) if raw.strip() else {}
        except ValueError as exc:
            raise HttpError(400, "Cannot parse request body") from exc
    try:
        return schema.model_validate(data)
    except PydanticValidationError as exc:
        raise NinjaValidationError(_located("body", exc, "body")) from exc


def _located(where: str, exc: PydanticValidationError, *param: str) -> list[dict[str, Any]]:
    # `param`: Ninja places a body's fields under the operation's parameter name (`body`).
    return [
        {"loc": (where, *param, *err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False)
    ]


class OrderList(APIView):
    """GET /api/orders?status=PENDING_PAYMENT&raffle=&contact=&page=&page_size=

    The filters of GET /api/v1/orders (`updated_after` and the others too), validated and paged
    as there: an unknown parameter or a page size above the
    maximum is a 422, a page past the end is an empty page."""

    permission_classes = STAFF_WITH_PERMS
    required_perms = ("raffles.view_order",)

    def orders(self) -> Any:
        return orders_for_output().order_by("-id")

    def get(self, request: Request) -> Response:
        filters = _query(OrderFilters, request)
        page = _query(PageParams, request)
        forbid_unknown_query(request, filters, page)
        orders = filter_orders(self.orders(), **filters.model_dump())

        def shape(items: Any) -> list[dict[str, Any]]:
            return [dump(OrderOut, order, request) for order in with_details(list(items))]

        return Response(paginate(request._request, orders, page, shape))


class PendingPaymentOrders(OrderList):
    """GET /api/orders/pending-payment"""

    def orders(self) -> Any:
        return super().orders().filter(status=OrderStatus.PENDING_PAYMENT)


def _order_response(request: Request, order_id: int) -> Response:
    order = with_details([get_object_or_404(orders_for_output(), pk=order_id)])[0]
    return Response(dump(OrderOut, order, request))


class ConfirmPayment(APIView):
    """POST /api/orders/{id}/confirm-payment  {"payment_proof_media_id": "...", "note": "..."}

    The body (optional) is read as /api/v1/ reads it: a JSON object of known fields."""

    permission_classes = STAFF_WITH_PERMS
    required_perms = ("raffles.confirm_payment",)

    def post(self, request: Request, order_id: int) -> Response:
        forbid_unknown_query(request)
        body = _body(ConfirmIn, request)
        order = get_object_or_404(Order, pk=order_id)
        services.confirm_payment(
            order=order,
            by=request.user,
            note=body.note,
            payment_proof_media_id=body.payment_proof_media_id or "",
        )
        return _order_response(request, order_id)


class CancelOrder(APIView):
    """POST /api/orders/{id}/cancel  {"reason": "..."} (optional)"""

    permission_classes = STAFF_WITH_PERMS
    required_perms = ("raffles.cancel_order",)

    def post(self, request: Request, order_id: int) -> Response:
        forbid_unknown_query(request)
        body = _body(CancelIn, request)
        order = get_object_or_404(Order, pk=order_id)
        services.cancel_order(order=order, by=request.user, reason=body.reason)
        return _order_response(request, order_id)


class RaffleAvailability(APIView):
    """GET /api/raffles/{id}/availability"""

    permission_classes = STAFF_WITH_PERMS
    required_perms = ("raffles.view_raffle",)

    def get(self, request: Request, raffle_id: int) -> Response:
        forbid_unknown_query(request)
        raffle = get_object_or_404(Raffle, pk=raffle_id)
        return Response(dump(AvailabilityOut, availability_data(raffle), request))
