"""Reserving numbers: all or nothing, validated, never two holders for one number."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from model_bakery import baker

from raffles import errors
from raffles.invariants import assert_inventory_consistent
from raffles.models import ChangeSource, OrderStatus, TicketStatus
from raffles.services import (
    cancel_order,
    deactivate_raffle,
    reserve_random,
    reserve_specific,
)
from tests.raffles.conftest import lapse, make_raffle, ticket
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db


def test_reserving_specific_numbers_creates_a_draft_order_holding_them_until_the_ttl(raffle, buyer):
    before = timezone.now()

    order = reserve_specific(raffle=raffle, numbers=[7, 3], contact=buyer)

    assert order.status == OrderStatus.DRAFT
    assert order.numbers == [3, 7]
    assert order.qty == 2
    assert order.unit_price == Decimal("2.50")
    assert order.total_amount == Decimal("5.00")
    assert before + raffle.ttl <= order.expires_at <= timezone.now() + raffle.ttl
    for n in (3, 7):
        t = ticket(raffle, n)
        assert t.status == TicketStatus.RESERVED
        assert t.reserved_by_order_id == order.pk
        assert t.reserved_until == order.expires_at
    assert_inventory_consistent(raffle)


def test_a_taken_number_reserves_nothing_and_names_the_number(raffle, buyer, other_buyer):
    reserve_specific(raffle=raffle, numbers=[7], contact=other_buyer)

    with pytest.raises(errors.TicketsTaken) as err:
        reserve_specific(raffle=raffle, numbers=[7, 8, 9], contact=buyer)

    assert err.value.code == "tickets_taken"
    assert err.value.numbers == [7]
    assert err.value.extra() == {"numbers": [7]}
    assert ticket(raffle, 8).status == TicketStatus.AVAILABLE
    assert not buyer.raffle_orders.exists()
    assert_inventory_consistent(raffle)


def test_random_reservation_holds_qty_distinct_available_numbers(raffle, buyer, other_buyer):
    reserve_specific(raffle=raffle, numbers=list(range(0, 10)), contact=other_buyer)

    order = reserve_random(raffle=raffle, qty=5, contact=buyer)

    assert len(order.numbers) == 5
    assert len(set(order.numbers)) == 5
    assert all(n >= 10 for n in order.numbers)
    assert order.total_amount == Decimal("12.50")
    assert_inventory_consistent(raffle)


def test_random_reservation_finds_the_last_free_numbers_of_a_nearly_sold_raffle(buyer):
    raffle = make_raffle(max_number=29)
    others = [baker.make(Contact, wa_id=f"x{i}") for i in range(3)]
    for i, contact in enumerate(others):
        reserve_specific(
            raffle=raffle,
            numbers=[n for n in range(i * 10, i * 10 + 10) if n not in (4, 17)],
            contact=contact,
        )

    order = reserve_random(raffle=raffle, qty=2, contact=buyer)

    assert order.numbers == [4, 17]


def test_random_reservation_of_more_than_available_says_how_many_are_left(buyer, other_buyer):
    raffle = make_raffle(max_number=9)
    reserve_specific(raffle=raffle, numbers=list(range(7)), contact=other_buyer)

    with pytest.raises(errors.NotEnoughAvailable) as err:
        reserve_random(raffle=raffle, qty=5, contact=buyer)

    assert err.value.code == "not_enough_available"
    assert (err.value.requested, err.value.available) == (5, 3)


def test_a_sold_out_raffle_refuses_random_reservations(buyer, other_buyer):
    raffle = make_raffle(max_number=4)
    reserve_specific(raffle=raffle, numbers=[0, 1, 2, 3, 4], contact=other_buyer)

    with pytest.raises(errors.SoldOut) as err:
        reserve_random(raffle=raffle, qty=1, contact=buyer)

    assert err.value.code == "sold_out"


def test_an_inactive_raffle_sells_nothing(raffle, buyer):
    deactivate_raffle(raffle=raffle)

    with pytest.raises(errors.RaffleInactive) as err:
        reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    assert err.value.code == "raffle_inactive"
    with pytest.raises(errors.RaffleInactive):
        reserve_random(raffle=raffle, qty=1, contact=buyer)


@pytest.mark.parametrize("qty", [0, -1, 11])
def test_quantity_must_be_between_one_and_the_raffles_maximum(raffle, buyer, qty):
    with pytest.raises(errors.InvalidQuantity) as err:
        reserve_random(raffle=raffle, qty=qty, contact=buyer)

    assert err.value.code == "invalid_quantity"
    assert err.value.extra()["max"] == 10


def test_more_specific_numbers_than_the_maximum_per_order_is_an_invalid_quantity(raffle, buyer):
    with pytest.raises(errors.InvalidQuantity):
        reserve_specific(raffle=raffle, numbers=list(range(11)), contact=buyer)
    with pytest.raises(errors.InvalidQuantity):
        reserve_specific(raffle=raffle, numbers=[], contact=buyer)


def test_numbers_outside_the_range_are_named(raffle, buyer):
    with pytest.raises(errors.NumbersOutOfRange) as err:
        reserve_specific(raffle=raffle, numbers=[5, 100, 250], contact=buyer)

    assert err.value.code == "numbers_out_of_range"
    assert err.value.numbers == [100, 250]


def test_duplicate_numbers_are_refused(raffle, buyer):
    with pytest.raises(errors.DuplicateNumbers) as err:
        reserve_specific(raffle=raffle, numbers=[5, 6, 5], contact=buyer)

    assert err.value.code == "duplicate_numbers"
    assert err.value.numbers == [5]


def test_a_buyer_with_a_live_order_in_the_raffle_cannot_open_another(raffle, buyer):
    first = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    with pytest.raises(errors.LiveOrderExists) as err:
        reserve_random(raffle=raffle, qty=1, contact=buyer)

    assert err.value.code == "live_order_exists"
    assert err.value.order_id == first.pk


def test_a_buyer_may_hold_orders_in_different_raffles(raffle, buyer):
    second_raffle = make_raffle(title="Other")
    reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    order = reserve_specific(raffle=second_raffle, numbers=[1], contact=buyer)

    assert order.status == OrderStatus.DRAFT


def test_a_cancelled_order_does_not_stop_the_buyer_from_reserving_again(raffle, buyer):
    cancel_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer))

    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    assert order.numbers == [1]


def test_a_lapsed_reservation_never_blocks_another_buyer(raffle, buyer, other_buyer, signals):
    stale = lapse(reserve_specific(raffle=raffle, numbers=[7, 8], contact=other_buyer))

    order = reserve_specific(raffle=raffle, numbers=[7], contact=buyer)

    stale.refresh_from_db()
    assert stale.status == OrderStatus.EXPIRED
    assert ticket(raffle, 7).reserved_by_order_id == order.pk
    assert ticket(raffle, 8).status == TicketStatus.AVAILABLE
    assert [o.pk for o in signals.expired[0]] == [stale.pk]
    assert stale.events.last().source == ChangeSource.SYSTEM
    assert_inventory_consistent(raffle)


def test_a_buyers_own_lapsed_order_expires_when_they_reserve_again(raffle, buyer):
    stale = lapse(reserve_specific(raffle=raffle, numbers=[7], contact=buyer))

    order = reserve_specific(raffle=raffle, numbers=[7], contact=buyer)

    stale.refresh_from_db()
    assert stale.status == OrderStatus.EXPIRED
    assert order.numbers == [7]


def test_random_picks_use_lapsed_reservations_when_nothing_else_is_left(buyer, other_buyer):
    raffle = make_raffle(max_number=2)
    stale = lapse(reserve_specific(raffle=raffle, numbers=[0, 1, 2], contact=other_buyer))

    order = reserve_random(raffle=raffle, qty=3, contact=buyer)

    assert order.numbers == [0, 1, 2]
    stale.refresh_from_db()
    assert stale.status == OrderStatus.EXPIRED


def test_reserving_announces_a_new_draft_made_by_the_buyer(raffle, buyer, signals):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    assert signals.transitions() == [(order.pk, None, "DRAFT", ChangeSource.BUYER)]
    event = order.events.get()
    assert (event.from_status, event.to_status, event.source) == ("", "DRAFT", "BUYER")


def test_the_raffles_own_ttl_overrides_the_default(buyer):
    raffle = make_raffle(reservation_ttl_minutes=5)

    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    assert order.expires_at - order.created_at < timedelta(minutes=5, seconds=5)
    assert order.expires_at - order.created_at > timedelta(minutes=4, seconds=55)
