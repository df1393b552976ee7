"""DRF views of the compatibility layer: parse, call the same service as /api/v1/, shape."""

from __future__ import annotations

from typing import Any

import django_filters
from django.shortcuts import get_object_or_404
from rest_framework import generics, permissions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from raffles import services
from raffles.compat.representation import dump, schema_serializer
from raffles.models import Order, OrderStatus, Raffle
from raffles.schemas import AvailabilityOut, OrderOut
from raffles.selectors import availability_data, orders_for_output, with_details


class RequiredPerms(permissions.BasePermission):
    """The view's `required_perms` (model permissions of the token's user)."""

    message = "This token's user lacks a required permission."

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.user.has_perms(getattr(view, "required_perms", ()))


STAFF_WITH_PERMS = [permissions.IsAdminUser, RequiredPerms]


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    raffle = django_filters.NumberFilter(field_name="raffle_id")
    contact = django_filters.NumberFilter(field_name="contact_id")

    class Meta:
        model = Order
        fields = ["status", "raffle", "contact"]


class OrderList(generics.ListAPIView):
    """GET /api/orders?status=PENDING_PAYMENT&raffle=&contact="""

    permission_classes = STAFF_WITH_PERMS
    required_perms = ("raffles.view_order",)
    serializer_class = schema_serializer(OrderOut)
    filterset_class = OrderFilter
    pagination_class = Pagination

    def get_queryset(self) -> Any:
        return orders_for_output().order_by("-id")

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        return None if page is None else with_details(page)


class PendingPaymentOrders(OrderList):
    """GET /api/orders/pending-payment"""

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(status=OrderStatus.PENDING_PAYMENT)


class ConfirmIn(serializers.Serializer):
    payment_proof_media_id = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=128
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


def _order_response(request: Request, order_id: int) -> Response:
    order = with_details([get_object_or_404(orders_for_output(), pk=order_id)])[0]
    return Response(dump(OrderOut, order, request))


# Older workflows may post form fields, or nothing at all.
BODY_PARSERS = [JSONParser, FormParser, MultiPartParser]


class ConfirmPayment(APIView):
    """POST /api/orders/{id}/confirm-payment  {"payment_proof_media_id": "..."} (optional)"""

    permission_classes = STAFF_WITH_PERMS
    parser_classes = BODY_PARSERS
    required_perms = ("raffles.confirm_payment",)

    def post(self, request: Request, order_id: int) -> Response:
        body = ConfirmIn(data=request.data or {})
        body.is_valid(raise_exception=True)
        order = get_object_or_404(Order, pk=order_id)
        services.confirm_payment(
            order=order,
            by=request.user,
            note=body.validated_data.get("note", ""),
            payment_proof_media_id=body.validated_data.get("payment_proof_media_id") or "",
        )
        return _order_response(request, order_id)


class CancelOrder(APIView):
    """POST /api/orders/{id}/cancel  {"reason": "..."}"""

    permission_classes = STAFF_WITH_PERMS
    parser_classes = BODY_PARSERS
    required_perms = ("raffles.cancel_order",)

    def post(self, request: Request, order_id: int) -> Response:
        body = CancelIn(data=request.data or {})
        body.is_valid(raise_exception=True)
        order = get_object_or_404(Order, pk=order_id)
        services.cancel_order(
            order=order, by=request.user, reason=body.validated_data.get("reason", "")
        )
        return _order_response(request, order_id)


class RaffleAvailability(APIView):
    """GET /api/raffles/{id}/availability"""

    permission_classes = STAFF_WITH_PERMS
    required_perms = ("raffles.view_raffle",)

    def get(self, request: Request, raffle_id: int) -> Response:
        raffle = get_object_or_404(Raffle, pk=raffle_id)
        return Response(dump(AvailabilityOut, availability_data(raffle), request))
