"""Payment proofs: a proof in time stops the clock, a late one is kept and flagged, a rejected
one gives the buyer a fresh deadline."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from raffles import errors
from raffles.invariants import assert_inventory_consistent
from raffles.models import OrderStatus, ProofStatus, TicketStatus
from raffles.services import (
    attach_payment_proof,
    confirm_payment,
    expire_due,
    reject_proof,
    reserve_specific,
    store_proof_file,
    submit_order,
)
from raffles.signals import proof_rejected
from tests.raffles.conftest import lapse, ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


def test_a_proof_before_the_deadline_stops_the_clock(raffle, buyer):
    order = submit_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer))

    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    order.refresh_from_db()
    assert proof.late is False
    assert proof.status == ProofStatus.PENDING
    assert order.expires_at is None
    assert ticket(raffle, 1).reserved_until is None
    assert expire_due(now=timezone.now() + raffle.ttl * 10).count == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert_inventory_consistent(raffle)


def test_a_proof_on_a_draft_submits_it_for_the_buyer(raffle, buyer, signals):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert signals.transitions()[-1] == (order.pk, "DRAFT", "PENDING_PAYMENT", "BUYER")


def test_a_proof_after_the_deadline_is_kept_and_flagged_late(raffle, buyer):
    order = lapse(submit_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer)))

    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    order.refresh_from_db()
    assert proof.late is True
    assert order.status == OrderStatus.EXPIRED
    assert ticket(raffle, 1).status == TicketStatus.AVAILABLE
    assert_inventory_consistent(raffle)


def test_a_proof_for_an_already_expired_order_is_flagged_late(raffle, buyer):
    order = lapse(reserve_specific(raffle=raffle, numbers=[1], contact=buyer))
    expire_due()

    proof = attach_payment_proof(order=order, media_id="m1", mime_type="application/pdf")

    assert proof.late is True
    assert order.proofs.count() == 1


def test_the_same_media_twice_is_one_proof(raffle, buyer):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    first = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    second = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    assert second.pk == first.pk


def test_a_proof_file_can_come_with_it_or_later(raffle, buyer):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    with_file = attach_payment_proof(
        order=order, media_id="m1", mime_type="image/png", file=ContentFile(b"png", name="a.png")
    )
    later = attach_payment_proof(order=order, media_id="m2", mime_type="")

    stored = store_proof_file(
        proof=later, content=b"%PDF-1.4", mime_type="application/pdf", filename="t.pdf"
    )

    assert with_file.file.read() == b"png"
    assert stored.file.read() == b"%PDF-1.4"
    assert stored.mime_type == "application/pdf"
    assert stored.file.name.startswith(f"payment_proofs/{order.pk}/")


def test_rejecting_a_proof_gives_a_fresh_deadline_and_asks_the_buyer_again(
    raffle, buyer, operator, signals
):
    order = submit_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer))
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    rejected = []
    proof_rejected.connect(receiver := lambda sender, **kw: rejected.append(kw))
    before = timezone.now()

    result = reject_proof(proof=proof, by=operator, reason="blurry")

    proof_rejected.disconnect(receiver)
    proof.refresh_from_db()
    assert proof.status == ProofStatus.REJECTED
    assert (proof.reviewed_by, proof.review_note) == (operator, "blurry")
    assert result.status == OrderStatus.PENDING_PAYMENT
    assert result.expires_at >= before + raffle.ttl
    assert ticket(raffle, 1).reserved_until == result.expires_at
    last = signals.changes[-1]
    assert (last["old"], last["new"], last["source"]) == (
        "PENDING_PAYMENT",
        "PENDING_PAYMENT",
        "OPERATOR",
    )
    assert "blurry" in last["note"]
    assert rejected[0]["reason"] == "blurry"
    assert_inventory_consistent(raffle)


def test_rejecting_one_proof_while_another_waits_keeps_the_clock_stopped(raffle, buyer):
    order = submit_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer))
    first = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    attach_payment_proof(order=order, media_id="m2", mime_type="image/jpeg")

    result = reject_proof(proof=first, reason="wrong amount")

    assert result.expires_at is None


def test_rejecting_twice_is_harmless_but_an_accepted_proof_cannot_be_rejected(raffle, buyer):
    order = submit_order(order=reserve_specific(raffle=raffle, numbers=[1], contact=buyer))
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    reject_proof(proof=proof, reason="blurry")
    reject_proof(proof=proof, reason="blurry")
    good = attach_payment_proof(order=order, media_id="m2", mime_type="image/jpeg")
    confirm_payment(order=order)

    with pytest.raises(errors.ProofAlreadyReviewed) as err:
        reject_proof(proof=good, reason="oops")

    assert err.value.code == "proof_already_reviewed"
