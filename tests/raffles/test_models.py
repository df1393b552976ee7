"""What the models and the database guarantee by themselves."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from model_bakery import baker

from raffles.models import LIVE_STATUSES, Order, OrderStatus, Raffle, TicketNumber, TicketStatus
from raffles.services import reserve_specific
from tests.raffles.conftest import make_raffle

pytestmark = pytest.mark.django_db


def test_numbers_display_zero_padded_to_the_width_of_the_last_number():
    raffle = Raffle(min_number=0, max_number=999)

    assert raffle.format_number(7) == "007"
    assert Raffle(max_number=99999).format_number(42) == "00042"


def test_the_reservation_ttl_falls_back_to_the_site_default(settings):
    settings.RESERVATION_TTL_MINUTES = 30

    assert Raffle().ttl == timedelta(minutes=30)
    assert Raffle(reservation_ttl_minutes=15).ttl == timedelta(minutes=15)


def test_an_order_is_live_while_it_is_a_draft_or_waits_for_payment():
    live = {status for status in OrderStatus.values if Order(status=status).is_live}

    assert live == set(LIVE_STATUSES) == {"DRAFT", "PENDING_PAYMENT"}


def test_under_review_is_one_rule_in_python_and_in_sql(raffle, buyer):
    # Every status with and without a deadline: the property and the queryset agree.
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    deadline = order.expires_at
    for status in OrderStatus.values:
        for expires_at in (deadline, None):
            Order.objects.filter(pk=order.pk).update(status=status, expires_at=expires_at)
            order.refresh_from_db()

            in_sql = Order.objects.under_review().filter(pk=order.pk).exists()

            assert order.is_under_review == in_sql, (status, expires_at)
            assert in_sql == (status == OrderStatus.PENDING_PAYMENT and expires_at is None)


def test_orders_carry_the_custom_permissions():
    codenames = {codename for codename, _ in Order._meta.permissions}

    assert codenames == {"confirm_payment", "cancel_order"}


def test_a_number_exists_once_per_raffle(raffle):
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketNumber.objects.create(raffle=raffle, number=5)


def test_a_reserved_ticket_must_name_its_order(raffle):
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketNumber.objects.filter(raffle=raffle, number=5).update(status=TicketStatus.RESERVED)


def test_the_database_allows_one_live_order_per_buyer_and_raffle(raffle, buyer):
    reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    with pytest.raises(IntegrityError), transaction.atomic():
        baker.make(
            Order,
            raffle=raffle,
            contact=buyer,
            qty=1,
            unit_price=Decimal("1"),
            total_amount=Decimal("1"),
        )


def test_the_database_keeps_totals_equal_to_price_times_quantity(raffle, buyer):
    with pytest.raises(IntegrityError), transaction.atomic():
        baker.make(
            Order,
            raffle=raffle,
            contact=buyer,
            qty=3,
            unit_price=Decimal("2.50"),
            total_amount=Decimal("7.00"),
            status=OrderStatus.CANCELLED,
        )


def test_a_raffle_range_cannot_be_empty():
    with pytest.raises(IntegrityError), transaction.atomic():
        baker.make(Raffle, min_number=10, max_number=9, ticket_price=Decimal("1"))


def test_cents_survive_totals_on_every_database(buyer):
    raffle = make_raffle(ticket_price=Decimal("10.10"))

    order = reserve_specific(raffle=raffle, numbers=[1, 2, 3], contact=buyer)

    order.refresh_from_db()
    assert order.total_amount == Decimal("30.30")
