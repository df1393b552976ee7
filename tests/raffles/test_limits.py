"""The limits one buyer runs into, enforced by the raffles services so the bot, the API and the
admin agree: orders in progress across raffles, and unpaid numbers held in one raffle."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from raffles import errors
from raffles.invariants import assert_inventory_consistent
from raffles.models import Order, TicketStatus
from raffles.services import (
    cancel_order,
    confirm_payment,
    create_order_for_buyer,
    reserve_random,
    reserve_specific,
    submit_order,
)
from tests.raffles.conftest import lapse, make_raffle

pytestmark = pytest.mark.django_db


@pytest.fixture
def raffles(db):
    return [make_raffle(title=f"Raffle {n}") for n in range(4)]


def test_a_buyer_has_at_most_so_many_orders_in_progress_across_raffles(raffles, buyer, settings):
    settings.LIVE_ORDERS_PER_CONTACT = 3
    held = [reserve_random(raffle=raffle, qty=1, contact=buyer) for raffle in raffles[:3]]

    with pytest.raises(errors.TooManyLiveOrders) as err:
        reserve_specific(raffle=raffles[3], numbers=[7], contact=buyer)

    assert err.value.code == "too_many_live_orders"
    assert err.value.extra()["order_ids"] == sorted(order.pk for order in held)
    assert err.value.extra()["limit"] == 3
    assert not raffles[3].tickets.exclude(status=TicketStatus.AVAILABLE).exists()


def test_paid_cancelled_and_lapsed_orders_leave_room_for_another(raffles, buyer, settings):
    settings.LIVE_ORDERS_PER_CONTACT = 2
    paid = submit_order(order=reserve_random(raffle=raffles[0], qty=1, contact=buyer))
    confirm_payment(order=paid)
    cancel_order(order=reserve_random(raffle=raffles[1], qty=1, contact=buyer))
    lapse(reserve_random(raffle=raffles[2], qty=1, contact=buyer))
    reserve_random(raffle=raffles[1], qty=1, contact=buyer)

    order = reserve_random(raffle=raffles[3], qty=1, contact=buyer)

    assert order.status == "DRAFT"


def test_an_order_under_review_still_counts_as_in_progress(raffles, buyer, settings):
    from raffles.services import attach_payment_proof, store_proof_file

    settings.LIVE_ORDERS_PER_CONTACT = 1
    order = reserve_random(raffle=raffles[0], qty=1, contact=buyer)
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    store_proof_file(proof=proof, content=b"\xff\xd8\xff a photo")

    with pytest.raises(errors.TooManyLiveOrders):
        reserve_random(raffle=raffles[1], qty=1, contact=buyer)


def test_a_second_order_in_the_same_raffle_is_still_told_to_finish_the_first(
    raffles, buyer, settings
):
    settings.LIVE_ORDERS_PER_CONTACT = 1
    first = reserve_random(raffle=raffles[0], qty=1, contact=buyer)

    with pytest.raises(errors.LiveOrderExists) as err:
        reserve_random(raffle=raffles[0], qty=1, contact=buyer)

    assert err.value.order_id == first.pk


def test_a_buyer_holds_at_most_so_many_unpaid_numbers_in_one_raffle(raffle, buyer, settings):
    settings.NUMBERS_HELD_PER_CONTACT_PER_RAFFLE = 5  # the raffle itself allows 10 per order

    with pytest.raises(errors.TooManyNumbersHeld) as err:
        reserve_specific(raffle=raffle, numbers=list(range(6)), contact=buyer)
    order = reserve_random(raffle=raffle, qty=5, contact=buyer)

    assert err.value.extra() == {"raffle_id": raffle.pk, "limit": 5, "requested": 6}
    assert order.qty == 5
    assert raffle.tickets.filter(status=TicketStatus.RESERVED).count() == 5


def test_the_same_limits_hold_for_orders_taken_through_the_api_and_admin(raffles, buyer, settings):
    settings.LIVE_ORDERS_PER_CONTACT = 1
    settings.NUMBERS_HELD_PER_CONTACT_PER_RAFFLE = 3
    with pytest.raises(errors.TooManyNumbersHeld):
        create_order_for_buyer(raffle=raffles[0], contact=buyer, qty=4)
    create_order_for_buyer(raffle=raffles[0], contact=buyer, qty=3)

    with pytest.raises(errors.TooManyLiveOrders):
        create_order_for_buyer(raffle=raffles[1], contact=buyer, numbers=[1])


def test_the_api_refuses_over_the_limit_with_its_stable_code(client, raffle, settings):
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    settings.NUMBERS_HELD_PER_CONTACT_PER_RAFFLE = 3
    user = get_user_model().objects.create_superuser("api", password="x")
    token = Token.objects.create(user=user)

    response = client.post(
        "/api/v1/orders",
        {"raffle_id": raffle.pk, "wa_id": "5491100000007", "qty": 4},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token.key}",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "too_many_numbers_held"
    assert response.json()["extra"]["limit"] == 3
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_requests_of_one_buyer_at_once_never_pass_the_limit_together(settings):
    """Two orders for the same buyer in two raffles, at the same moment, with room for one.
    (PostgreSQL: the buyer's row lock; SQLite: one writer at a time.)"""
    from model_bakery import baker

    from whatsapp.models import Contact

    settings.LIVE_ORDERS_PER_CONTACT = 1
    first, second = make_raffle(title="A"), make_raffle(title="B")
    buyer = baker.make(Contact, wa_id="5491100000042")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def reserve(raffle):
        try:
            barrier.wait()
            reserve_random(raffle=raffle, qty=1, contact=buyer)
            outcomes.append("reserved")
        except errors.TooManyLiveOrders:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reserve, args=(r,)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused", "reserved"]
    assert Order.objects.filter(contact=buyer).count() == 1
    assert_inventory_consistent()
