"""Expiry: the sweep, its command, and what it announces."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from raffles.invariants import assert_inventory_consistent
from raffles.models import ChangeSource, OrderStatus, TicketStatus
from raffles.services import attach_payment_proof, expire_due, reserve_specific, submit_order
from tests.raffles.conftest import lapse, ticket

pytestmark = pytest.mark.django_db


def test_live_orders_past_their_deadline_expire_and_release_their_numbers(
    raffle, buyer, other_buyer, signals
):
    draft = lapse(reserve_specific(raffle=raffle, numbers=[1], contact=buyer))
    pending = lapse(
        submit_order(order=reserve_specific(raffle=raffle, numbers=[2, 3], contact=other_buyer))
    )

    result = expire_due()

    assert sorted(o.pk for o in result.orders) == [draft.pk, pending.pk]
    assert result.count == 2
    for order in (draft, pending):
        order.refresh_from_db()
        assert order.status == OrderStatus.EXPIRED
        assert order.numbers  # history kept
    assert {ticket(raffle, n).status for n in (1, 2, 3)} == {TicketStatus.AVAILABLE}
    assert [sorted(o.pk for o in batch) for batch in signals.expired] == [
        sorted([draft.pk, pending.pk])
    ]
    event = pending.events.last()
    assert (event.from_status, event.to_status, event.source) == (
        "PENDING_PAYMENT",
        "EXPIRED",
        ChangeSource.SYSTEM,
    )
    assert_inventory_consistent(raffle)


def test_orders_within_their_deadline_are_left_alone(raffle, buyer):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    assert expire_due().count == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.DRAFT


def test_an_order_waiting_for_proof_review_never_expires(raffle, buyer):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    attach_payment_proof(order=order, media_id="m", mime_type="image/jpeg")

    assert expire_due().count == 0


def test_the_sweep_announces_one_bulk_signal_per_batch(raffle, signals):
    from model_bakery import baker

    from whatsapp.models import Contact

    for i in range(5):
        contact = baker.make(Contact, wa_id=f"b{i}")
        lapse(reserve_specific(raffle=raffle, numbers=[i], contact=contact))

    result = expire_due(batch_size=2)

    assert result.count == 5
    assert [len(batch) for batch in signals.expired] == [2, 2, 1]


def test_expire_reservations_command_reports_and_dry_run_changes_nothing(raffle, buyer):
    order = lapse(reserve_specific(raffle=raffle, numbers=[1], contact=buyer))
    out = StringIO()

    call_command("expire_reservations", "--dry-run", stdout=out)

    assert f"would expire order {order.pk}" in out.getvalue()
    order.refresh_from_db()
    assert order.status == OrderStatus.DRAFT

    out = StringIO()
    call_command("expire_reservations", stdout=out)
    assert "1 orders expired" in out.getvalue()
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED


def test_expiry_runs_every_minute_with_the_periodic_housekeeping():
    assert ("expire_reservations", 60) in settings.PERIODIC_COMMANDS


def test_a_sweep_in_batches_writes_one_history_row_per_order_and_keeps_what_they_held(
    raffle, signals
):
    from model_bakery import baker

    from raffles.models import Order, OrderEvent
    from whatsapp.models import Contact

    orders = [
        lapse(reserve_specific(raffle=raffle, numbers=[i], contact=baker.make(Contact)))
        for i in range(5)
    ]

    expire_due(batch_size=2)
    expire_due(batch_size=2)  # a second sweep finds nothing and writes nothing

    expired = OrderEvent.objects.filter(to_status=OrderStatus.EXPIRED)
    assert sorted(expired.values_list("order_id", flat=True)) == sorted(o.pk for o in orders)
    assert set(expired.values_list("from_status", "source", "note")) == {
        ("DRAFT", ChangeSource.SYSTEM, "reservation expired")
    }
    assert sorted(pk for batch in signals.expired for pk in (o.pk for o in batch)) == sorted(
        o.pk for o in orders
    )
    for i, order in enumerate(orders):
        assert Order.objects.get(pk=order.pk).numbers == [i]
        assert ticket(raffle, i).reserved_by_order_id is None
        assert ticket(raffle, i).reserved_until is None
