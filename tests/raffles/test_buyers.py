"""Operators name a buyer by WhatsApp id: a known buyer is found, a new one added, and an order
the inventory refuses leaves no new buyer behind."""

from __future__ import annotations

import pytest

from raffles.errors import TicketsTaken
from raffles.services import buyer_with_wa_id, create_order_for_wa_id, reserve_specific
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db


def test_a_known_buyer_keeps_the_name_whatsapp_gave_us(buyer):
    found = buyer_with_wa_id(wa_id=buyer.wa_id, name="Someone else")

    assert found == buyer
    assert Contact.objects.get(pk=buyer.pk).profile_name == "Ana"


def test_a_new_buyer_is_added_with_the_operators_name():
    added = buyer_with_wa_id(wa_id="5491155550000", name="Carla")

    assert Contact.objects.get(wa_id="5491155550000") == added
    assert added.profile_name == "Carla"


def test_a_refused_order_for_a_new_buyer_adds_no_buyer(raffle, buyer):
    reserve_specific(raffle=raffle, numbers=[7], contact=buyer)

    with pytest.raises(TicketsTaken):
        create_order_for_wa_id(raffle=raffle, wa_id="5491155550000", name="Carla", numbers=[7])

    assert not Contact.objects.filter(wa_id="5491155550000").exists()


def test_an_order_for_a_new_buyer_waits_for_payment(raffle, operator):
    order = create_order_for_wa_id(
        raffle=raffle, wa_id="5491155550000", name="Carla", qty=2, by=operator
    )

    assert order.contact.wa_id == "5491155550000"
    assert (order.status, order.qty) == ("PENDING_PAYMENT", 2)
    assert order.events.get().actor == operator
