"""A price change racing an order being created: either the change waits for the order and is
refused (`price_locked`), or the order waits for the change and takes the new price. Never an
order at the old price in a raffle that now shows another."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections

from raffles import services
from raffles.errors import PriceLocked
from raffles.models import Order, Raffle
from raffles.services import reservations
from tests.raffles.conftest import make_raffle
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_price_change_waits_for_an_order_in_progress_and_is_refused(monkeypatch):
    raffle = make_raffle(max_number=20, ticket_price=Decimal("10.00"))
    buyer = Contact.objects.create(wa_id="5491100000077")
    read = threading.Event()
    go = threading.Event()
    outcome: dict[str, object] = {}
    checked = reservations._check_buyer_limits

    def paused(*args, **kwargs):
        # The order has read the raffle (and its price) and not been written yet.
        read.set()
        go.wait(timeout=10)
        return checked(*args, **kwargs)

    monkeypatch.setattr(reservations, "_check_buyer_limits", paused)

    def order() -> None:
        try:
            outcome["order"] = services.create_order_for_buyer(
                raffle=raffle, contact=buyer, numbers=[5]
            )
        finally:
            connections.close_all()

    def change_price() -> None:
        try:
            services.update_raffle(
                raffle=Raffle.objects.get(pk=raffle.pk), changes={"ticket_price": Decimal("20")}
            )
            outcome["change"] = "saved"
        except PriceLocked as err:
            outcome["change"] = err
        finally:
            connections.close_all()

    buying = threading.Thread(target=order)
    buying.start()
    assert read.wait(timeout=10)
    changing = threading.Thread(target=change_price)
    changing.start()
    changing.join(timeout=1)
    waited = changing.is_alive()  # the change waits for the order in progress
    go.set()
    buying.join(timeout=30)
    changing.join(timeout=30)

    assert waited
    assert isinstance(outcome["change"], PriceLocked)
    stored = Order.objects.get(pk=outcome["order"].pk)
    assert stored.unit_price == Raffle.objects.get(pk=raffle.pk).ticket_price == Decimal("10.00")
