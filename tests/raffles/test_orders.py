"""An order's life: submit, confirm (idempotent), cancel (idempotent), orders for other
channels, and confirming an order that expired."""

from __future__ import annotations

import pytest

from raffles import errors
from raffles.invariants import assert_inventory_consistent
from raffles.models import ChangeSource, OrderStatus, ProofStatus, TicketStatus
from raffles.services import (
    attach_payment_proof,
    cancel_order,
    confirm_payment,
    create_order_for_buyer,
    expire_due,
    reserve_specific,
    submit_order,
)
from tests.raffles.conftest import lapse, ticket

pytestmark = pytest.mark.django_db


def test_submitting_a_draft_waits_for_payment_with_the_same_deadline(raffle, buyer, signals):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    deadline = order.expires_at

    submitted = submit_order(order=order)

    assert submitted.status == OrderStatus.PENDING_PAYMENT
    assert submitted.expires_at == deadline
    assert order.status == OrderStatus.PENDING_PAYMENT  # the caller's instance follows
    assert signals.transitions()[-1] == (order.pk, "DRAFT", "PENDING_PAYMENT", ChangeSource.BUYER)


def test_submitting_twice_is_harmless(raffle, buyer, signals):
    order = submit_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer))

    again = submit_order(order=order)

    assert again.status == OrderStatus.PENDING_PAYMENT
    assert len(signals.changes) == 2


def test_a_lapsed_draft_cannot_be_submitted(raffle, buyer):
    order = lapse(reserve_specific(raffle=raffle, numbers=[1], contact=buyer))

    with pytest.raises(errors.OrderExpired) as err:
        submit_order(order=order)

    assert err.value.code == "order_expired"


def test_confirming_payment_sells_the_tickets_and_records_who(raffle, buyer, operator, signals):
    order = submit_order(order=reserve_specific(raffle=raffle, numbers=[1, 2], contact=buyer))

    paid = confirm_payment(order=order, by=operator, note="transfer 123")

    assert paid.status == OrderStatus.PAID
    assert paid.confirmed_by == operator
    assert paid.confirmed_at is not None
    assert {ticket(raffle, n).status for n in (1, 2)} == {TicketStatus.SOLD}
    assert ticket(raffle, 1).reserved_until is None
    assert signals.transitions()[-1] == (order.pk, "PENDING_PAYMENT", "PAID", "OPERATOR")
    event = paid.events.last()
    assert (event.actor, event.note) == (operator, "transfer 123")
    assert_inventory_consistent(raffle)


def test_confirming_a_paid_order_again_is_a_no_op_returning_it(raffle, buyer, signals):
    order = submit_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer))
    confirm_payment(order=order)
    changes = len(signals.changes)

    again = confirm_payment(order=order)

    assert again.status == OrderStatus.PAID
    assert len(signals.changes) == changes
    assert again.events.filter(to_status="PAID").count() == 1


def test_a_draft_cannot_be_confirmed_before_the_buyer_submits_it(raffle, buyer):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    with pytest.raises(errors.OrderNotPending) as err:
        confirm_payment(order=order)

    assert err.value.code == "order_not_pending"


def test_a_cancelled_order_cannot_be_confirmed(raffle, buyer):
    order = cancel_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer))

    with pytest.raises(errors.InvalidTransition) as err:
        confirm_payment(order=order)

    assert err.value.code == "invalid_transition"


def test_a_lapsed_pending_order_can_still_be_confirmed_while_it_holds_its_numbers(raffle, buyer):
    order = lapse(submit_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer)))

    paid = confirm_payment(order=order)

    assert paid.status == OrderStatus.PAID
    assert_inventory_consistent(raffle)


def test_confirming_an_expired_order_re_takes_its_numbers_when_all_are_free(raffle, buyer, signals):
    order = lapse(
        submit_order(order=reserve_specific(raffle=raffle, numbers=[1, 2], contact=buyer))
    )
    expire_due()

    paid = confirm_payment(order=order)

    assert paid.status == OrderStatus.PAID
    assert {ticket(raffle, n).status for n in (1, 2)} == {TicketStatus.SOLD}
    assert signals.transitions()[-1] == (order.pk, "EXPIRED", "PAID", "OPERATOR")
    assert_inventory_consistent(raffle)


def test_confirming_an_expired_order_whose_numbers_were_taken_names_the_lost_numbers(
    raffle, buyer, other_buyer
):
    order = lapse(
        submit_order(order=reserve_specific(raffle=raffle, numbers=[1, 2, 3], contact=buyer))
    )
    expire_due()
    reserve_specific(raffle=raffle, numbers=[2], contact=other_buyer)

    with pytest.raises(errors.NumbersLost) as err:
        confirm_payment(order=order)

    assert err.value.code == "numbers_lost"
    assert err.value.numbers == [2]
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert ticket(raffle, 1).status == TicketStatus.AVAILABLE  # nothing half re-taken
    assert_inventory_consistent(raffle)


def test_confirming_an_expired_order_takes_back_numbers_held_only_by_a_lapsed_order(
    raffle, buyer, other_buyer
):
    order = lapse(submit_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer)))
    expire_due()
    lapse(reserve_specific(raffle=raffle, numbers=[1], contact=other_buyer))

    assert confirm_payment(order=order).status == OrderStatus.PAID


def test_confirming_accepts_the_proofs_waiting_for_review(raffle, buyer, operator):
    order = submit_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer))
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    confirm_payment(order=order, by=operator)

    proof.refresh_from_db()
    assert proof.status == ProofStatus.ACCEPTED
    assert proof.reviewed_by == operator


def test_cancelling_releases_the_numbers_and_keeps_which_they_were(
    raffle, buyer, operator, signals
):
    order = reserve_specific(raffle=raffle, numbers=[4, 5], contact=buyer)

    cancelled = cancel_order(order=order, by=operator, reason="asked by phone")

    assert cancelled.status == OrderStatus.CANCELLED
    assert (cancelled.cancelled_by, cancelled.cancel_reason) == (operator, "asked by phone")
    assert ticket(raffle, 4).status == TicketStatus.AVAILABLE
    assert cancelled.numbers == [4, 5]
    assert signals.transitions()[-1] == (order.pk, "DRAFT", "CANCELLED", "OPERATOR")
    assert_inventory_consistent(raffle)


def test_cancelling_a_cancelled_order_is_a_no_op_returning_it(raffle, buyer, signals):
    order = cancel_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer))
    changes = len(signals.changes)

    again = cancel_order(order=order)

    assert again.status == OrderStatus.CANCELLED
    assert len(signals.changes) == changes


def test_a_paid_order_cannot_be_cancelled(raffle, buyer):
    order = submit_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer))
    confirm_payment(order=order)

    with pytest.raises(errors.InvalidTransition) as err:
        cancel_order(order=order)

    assert err.value.extra()["status"] == "PAID"
    assert ticket(raffle, 1).status == TicketStatus.SOLD


def test_the_buyer_cancelling_is_announced_with_the_buyer_as_source(raffle, buyer, signals):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    cancel_order(order=order, source=ChangeSource.BUYER)

    assert signals.transitions()[-1][-1] == ChangeSource.BUYER


def test_an_operator_order_for_another_channel_starts_pending_payment(
    raffle, buyer, operator, signals
):
    order = create_order_for_buyer(raffle=raffle, contact=buyer, numbers=[9, 10], by=operator)

    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.numbers == [9, 10]
    assert signals.transitions() == [(order.pk, None, "PENDING_PAYMENT", "OPERATOR")]
    assert order.events.get().actor == operator


def test_an_operator_order_can_take_random_numbers(raffle, buyer):
    order = create_order_for_buyer(raffle=raffle, contact=buyer, qty=3)

    assert len(order.numbers) == 3


@pytest.mark.parametrize("kwargs", [{}, {"numbers": [1], "qty": 1}])
def test_an_operator_order_needs_either_numbers_or_a_quantity(raffle, buyer, kwargs):
    with pytest.raises(errors.InvalidOrderRequest) as err:
        create_order_for_buyer(raffle=raffle, contact=buyer, **kwargs)

    assert err.value.code == "numbers_or_qty_required"
