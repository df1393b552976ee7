"""Fixtures for the inventory tests: small, fully generated raffles and a few buyers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from model_bakery import baker

from raffles.models import Order, Raffle, TicketNumber
from raffles.services import create_raffle
from raffles.signals import order_status_changed, orders_expired
from whatsapp.models import Contact


def make_raffle(**overrides) -> Raffle:
    values = {
        "title": "Test raffle",
        "ticket_price": Decimal("2.50"),
        "currency": "USD",
        "min_number": 0,
        "max_number": 99,
        "is_active": True,
        "max_tickets_per_order": 10,
    }
    values.update(overrides)
    return create_raffle(**values)


@pytest.fixture
def raffle(db) -> Raffle:
    return make_raffle()


@pytest.fixture
def buyer(db) -> Contact:
    return baker.make(Contact, wa_id="5491100000001", profile_name="Ana")


@pytest.fixture
def other_buyer(db) -> Contact:
    return baker.make(Contact, wa_id="5491100000002", profile_name="Beto")


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user(username="operator", is_staff=True)


def ticket(raffle: Raffle, number: int) -> TicketNumber:
    return TicketNumber.objects.get(raffle=raffle, number=number)


def lapse(order: Order, minutes: int = 1) -> Order:
    """Move the order's deadline into the past, as if the buyer had walked away."""
    past = timezone.now() - timedelta(minutes=minutes)
    Order.objects.filter(pk=order.pk).update(expires_at=past)
    TicketNumber.objects.filter(reserved_by_order=order, status="RESERVED").update(
        reserved_until=past
    )
    order.refresh_from_db()
    return order


class SignalLog:
    def __init__(self) -> None:
        self.changes: list[dict] = []
        self.expired: list[list[Order]] = []

    def _change(self, sender, **kwargs) -> None:
        self.changes.append(kwargs)

    def _expired(self, sender, orders, **kwargs) -> None:
        self.expired.append(list(orders))

    def transitions(self) -> list[tuple]:
        return [(c["order"].pk, c["old"], c["new"], c["source"]) for c in self.changes]


@pytest.fixture
def signals() -> Iterator[SignalLog]:
    log = SignalLog()
    order_status_changed.connect(log._change)
    orders_expired.connect(log._expired)
    yield log
    order_status_changed.disconnect(log._change)
    orders_expired.disconnect(log._expired)
