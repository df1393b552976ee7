"""Availability: counts per status and the free numbers as compact ranges."""

from __future__ import annotations

import pytest

from raffles.models import TicketNumber, TicketStatus
from raffles.selectors import sample_available
from raffles.services import (
    availability,
    available_count,
    confirm_payment,
    reserve_specific,
    submit_order,
)
from tests.raffles.conftest import lapse, make_raffle

pytestmark = pytest.mark.django_db


def test_an_untouched_raffle_is_one_range(raffle):
    result = availability(raffle=raffle)

    assert result.available_ranges == [(0, 99)]
    assert result.counts == {"AVAILABLE": 100, "RESERVED": 0, "SOLD": 0}


def test_taken_numbers_split_the_ranges_and_the_counts_add_up(raffle, buyer, other_buyer):
    reserve_specific(raffle=raffle, numbers=[0, 41, 42, 99], contact=buyer)
    paid = submit_order(order=reserve_specific(raffle=raffle, numbers=[50], contact=other_buyer))
    confirm_payment(order=paid)

    result = availability(raffle=raffle)

    assert result.available_ranges == [(1, 40), (43, 49), (51, 98)]
    assert result.counts == {"AVAILABLE": 95, "RESERVED": 4, "SOLD": 1}


def test_a_raffle_with_every_number_taken_has_no_range(db, buyer):
    raffle = make_raffle(max_number=2)
    reserve_specific(raffle=raffle, numbers=[0, 1, 2], contact=buyer)

    result = availability(raffle=raffle)

    assert result.available_ranges == []
    assert result.counts == {"AVAILABLE": 0, "RESERVED": 3, "SOLD": 0}


def test_a_lapsed_reservation_shows_as_available(raffle, buyer):
    lapse(reserve_specific(raffle=raffle, numbers=[10], contact=buyer))

    result = availability(raffle=raffle)

    assert result.available_ranges == [(0, 99)]
    assert result.counts["RESERVED"] == 0


def test_the_count_alone_agrees_with_the_full_report(raffle, buyer, other_buyer):
    reserve_specific(raffle=raffle, numbers=[1, 2, 3], contact=buyer)
    lapse(reserve_specific(raffle=raffle, numbers=[7], contact=other_buyer))

    assert available_count(raffle=raffle) == availability(raffle=raffle).available == 97


def test_a_raffle_still_generating_shows_only_numbers_that_exist(db):
    raffle = make_raffle(max_number=9, is_active=False)
    TicketNumber.objects.filter(raffle=raffle, number__in=[3, 4, 8]).delete()
    raffle.tickets_ready = False
    raffle.save()

    result = availability(raffle=raffle)

    assert result.available_ranges == [(0, 2), (5, 7), (9, 9)]
    assert result.counts[TicketStatus.AVAILABLE] == 7
    assert available_count(raffle=raffle) == 7


def test_suggested_numbers_are_available_distinct_and_hold_nothing(raffle, buyer):
    reserve_specific(raffle=raffle, numbers=list(range(0, 10)), contact=buyer)

    picks = sample_available(raffle, k=3)

    assert len(set(picks)) == 3
    assert all(n >= 10 for n in picks)
    assert TicketNumber.objects.filter(raffle=raffle, status=TicketStatus.RESERVED).count() == 10
