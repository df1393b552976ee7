"""Every change of a raffle's setup leaves a trace: who, what, before, after, and a log line.
The trace outlives the raffle."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from raffles.errors import RaffleInUse, RangeHasTakenNumbers
from raffles.models import ChangeSource, RaffleChange, RaffleEvent
from raffles.services import (
    activate_raffle,
    change_range,
    deactivate_raffle,
    delete_raffle,
    reserve_specific,
    update_raffle,
)
from tests.raffles.conftest import make_raffle

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def history(raffle_pk: int) -> list[tuple[str, str, dict]]:
    return [
        (event.change, event.source, event.changes)
        for event in RaffleEvent.objects.filter(raffle_pk=raffle_pk)
    ]


def test_creating_a_raffle_records_who_and_its_first_setup(operator):
    raffle = make_raffle(title="Car", ticket_price=Decimal("5"), is_active=False, by=operator)

    [created] = RaffleEvent.objects.filter(raffle=raffle)

    assert (created.change, created.source, created.actor) == (
        RaffleChange.CREATED,
        ChangeSource.OPERATOR,
        operator,
    )
    assert created.changes["ticket_price"] == {"before": None, "after": "5.00"}
    assert created.changes["max_number"] == {"before": None, "after": 99}
    assert created.raffle_title == "Car"


def test_a_price_change_records_the_old_and_new_price_and_nothing_else(raffle, operator):
    update_raffle(raffle=raffle, changes={"ticket_price": Decimal("3.75")}, by=operator)

    event = RaffleEvent.objects.filter(raffle=raffle).last()

    assert event.change == RaffleChange.UPDATED
    assert event.changes == {"ticket_price": {"before": "2.50", "after": "3.75"}}
    assert event.actor == operator


def test_sending_the_same_values_again_records_no_change(raffle):
    before = RaffleEvent.objects.count()

    update_raffle(raffle=raffle, changes={"ticket_price": Decimal("2.5"), "title": raffle.title})

    assert RaffleEvent.objects.count() == before


def test_a_range_change_records_the_old_and_new_range(raffle, operator):
    change_range(raffle=raffle, min_number=0, max_number=149, by=operator)

    range_event = RaffleEvent.objects.get(raffle=raffle, change=RaffleChange.RANGE_CHANGED)

    assert range_event.changes["max_number"] == {"before": 99, "after": 149}
    assert "min_number" not in range_event.changes
    assert range_event.actor == operator
    # Sales pause while the new numbers are made, then the system reopens them.
    assert history(raffle.pk)[-1][:2] == (RaffleChange.ACTIVATED, ChangeSource.SYSTEM)


def test_a_refused_range_change_leaves_no_trace(raffle, buyer):
    reserve_specific(raffle=raffle, numbers=[90], contact=buyer)
    before = history(raffle.pk)

    with pytest.raises(RangeHasTakenNumbers):
        change_range(raffle=raffle, min_number=0, max_number=49)

    assert history(raffle.pk) == before


def test_closing_and_opening_sales_are_recorded_once_each(raffle, operator):
    deactivate_raffle(raffle=raffle, by=operator)
    deactivate_raffle(raffle=raffle, by=operator)  # already closed: no change
    activate_raffle(raffle=raffle, by=operator)

    changes = [(c, s, f) for c, s, f in history(raffle.pk)][-2:]

    assert changes == [
        (
            RaffleChange.DEACTIVATED,
            ChangeSource.OPERATOR,
            {"is_active": {"before": True, "after": False}},
        ),
        (
            RaffleChange.ACTIVATED,
            ChangeSource.OPERATOR,
            {"is_active": {"before": False, "after": True}},
        ),
    ]


def test_a_raffle_opened_by_the_background_generation_says_the_system_opened_it(
    settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    settings.RAFFLE_INLINE_GENERATION_MAX = 10

    with django_capture_on_commit_callbacks(execute=True):
        raffle = make_raffle(max_number=99, is_active=True)

    assert [change for change, _, _ in history(raffle.pk)] == [
        RaffleChange.CREATED,
        RaffleChange.ACTIVATED,
    ]
    activated = RaffleEvent.objects.get(raffle=raffle, change=RaffleChange.ACTIVATED)
    assert activated.source == ChangeSource.SYSTEM and activated.actor is None


def test_a_deleted_raffles_history_survives_with_its_id_and_title(raffle, operator):
    raffle_pk = raffle.pk

    delete_raffle(raffle=raffle, by=operator)

    events = RaffleEvent.objects.filter(raffle_pk=raffle_pk)
    assert [event.change for event in events][-1] == RaffleChange.DELETED
    assert {event.raffle_title for event in events} == {"Test raffle"}
    assert all(event.raffle_id is None for event in events)
    deleted = events.last()
    assert deleted.actor == operator
    assert deleted.changes["max_number"] == {"before": 99, "after": None}


def test_a_refused_deletion_leaves_no_trace(raffle, buyer):
    reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    before = history(raffle.pk)

    with pytest.raises(RaffleInUse):
        delete_raffle(raffle=raffle)

    assert history(raffle.pk) == before


def test_each_raffle_change_is_logged_with_the_raffle_and_who_made_it(raffle, operator, caplog):
    with caplog.at_level(logging.INFO, logger="raffles"):
        update_raffle(raffle=raffle, changes={"ticket_price": Decimal("4")}, by=operator)

    [line] = [r.getMessage() for r in caplog.records if r.name.startswith("raffles")]
    assert f"raffle #{raffle.pk}" in line and "updated by operator" in line
    assert "ticket_price '2.50' -> '4.00'" in line
