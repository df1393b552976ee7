"""The landing page answers "what needs me now"."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from model_bakery import baker

from project.dashboard import build_dashboard
from raffles import services
from raffles.models import Order, PaymentProof
from tests.admin.conftest import make_buyer, pending_order_with_proof
from whatsapp.models import OutboundMessage

pytestmark = pytest.mark.django_db


def test_proofs_waiting_come_oldest_first(raffle):
    first = pending_order_with_proof(raffle, make_buyer(1), [1])
    second = pending_order_with_proof(raffle, make_buyer(2), [2])
    PaymentProof.objects.filter(order=second).update(
        received_at=timezone.now() - timedelta(hours=2)
    )

    board = build_dashboard()

    assert [p.order_id for p in board.proofs_waiting] == [second.pk, first.pk]
    assert board.proofs_waiting_count == 2


def test_reservations_about_to_expire_are_listed_soonest_first(raffle):
    soon = services.reserve_specific(raffle=raffle, numbers=[3], contact=make_buyer(3))
    later = services.reserve_specific(raffle=raffle, numbers=[4], contact=make_buyer(4))
    now = timezone.now()
    Order.objects.filter(pk=soon.pk).update(expires_at=now + timedelta(minutes=2))
    Order.objects.filter(pk=later.pk).update(expires_at=now + timedelta(minutes=8))

    board = build_dashboard(now=now)

    assert [o.pk for o in board.expiring] == [soon.pk, later.pk]


def test_todays_sales_sum_revenue_per_raffle(raffle):
    for i, numbers in enumerate([[1, 2], [3]], start=1):
        order = pending_order_with_proof(raffle, make_buyer(i), numbers)
        services.confirm_payment(order=order)

    (sales,) = build_dashboard().sales_today

    assert (sales.orders, sales.tickets, sales.revenue) == (2, 3, Decimal("15.00"))


def test_failed_messages_are_counted(raffle):
    buyer = make_buyer(1)
    baker.make(OutboundMessage, contact=buyer, status="failed", last_error_code="131047")
    baker.make(OutboundMessage, contact=buyer, status="sent")

    board = build_dashboard()

    assert board.failed_messages_count == 1
    assert board.failed_messages[0].last_error_code == "131047"
