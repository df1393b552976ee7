"""Payment proofs: only a recognised file stops the clock; a file that cannot be used rejects
its proof and the deadline keeps running; a late proof is kept and flagged; an operator's
rejection gives the buyer a fresh deadline, as often as the proofs one order accepts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from raffles import errors
from raffles.invariants import assert_inventory_consistent
from raffles.models import Order, OrderStatus, ProofStatus, TicketStatus
from raffles.services import (
    ProofFileProblem,
    attach_payment_proof,
    confirm_payment,
    expire_due,
    refuse_proof_file,
    reject_proof,
    reserve_specific,
    store_proof_file,
    submit_order,
)
from raffles.signals import proof_rejected
from tests.raffles.conftest import lapse, ticket

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 transfer"
PNG = b"\x89PNG\r\n\x1a\n transfer"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 transfer"
PDF = b"%PDF-1.7\n transfer"


@pytest.fixture
def rejections():
    seen: list[dict] = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    proof_rejected.connect(receiver)
    yield seen
    proof_rejected.disconnect(receiver)


def submitted(raffle, buyer, numbers=(1,)) -> Order:
    return submit_order(order=reserve_specific(raffle=raffle, numbers=list(numbers), contact=buyer))


def deadline_in(order: Order, minutes: float) -> Order:
    """Move the order's running deadline to `minutes` from now (tickets with it)."""
    lapse(order, minutes=-minutes)
    return order


def test_a_proof_without_its_file_stops_no_clock(raffle, buyer):
    order = submitted(raffle, buyer)
    deadline = order.expires_at

    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    order.refresh_from_db()
    assert proof.status == ProofStatus.RECEIVING
    assert order.expires_at == deadline
    assert not order.is_under_review
    assert expire_due(now=deadline + timedelta(seconds=1)).order_ids == [order.pk]
    assert ticket(raffle, 1).status == TicketStatus.AVAILABLE


@pytest.mark.parametrize(
    "content,extension,mime",
    [
        (JPEG, "jpg", "image/jpeg"),
        (PNG, "png", "image/png"),
        (WEBP, "webp", "image/webp"),
        (PDF, "pdf", "application/pdf"),
    ],
)
def test_a_recognised_file_in_time_stops_the_clock(raffle, buyer, content, extension, mime):
    order = submitted(raffle, buyer)
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="text/plain")
    before = timezone.now()

    stored = store_proof_file(proof=proof, content=content, filename="IMG_2041.heic")

    order.refresh_from_db()
    assert stored.status == ProofStatus.PENDING
    assert stored.file.name == f"payment_proofs/{order.pk}/proof-{proof.pk}.{extension}"
    assert stored.mime_type == mime  # from the content, not from what the message claimed
    assert stored.original_filename == "IMG_2041.heic"
    assert order.is_under_review
    assert order.clock_stopped_at >= before
    assert ticket(raffle, 1).reserved_until is None
    assert expire_due(now=timezone.now() + raffle.ttl * 10).count == 0
    assert_inventory_consistent(raffle)


@pytest.mark.parametrize(
    "content",
    [b"just some text, named receipt.jpg", b"MZ\x90\x00 an executable", b"", b"\xff\xd8"],
    ids=["text", "executable", "empty", "truncated-jpeg-magic"],
)
def test_a_file_that_is_no_proof_rejects_it_and_the_deadline_keeps_running(
    raffle, buyer, rejections, content
):
    order = submitted(raffle, buyer)
    deadline = order.expires_at
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    result = store_proof_file(proof=proof, content=content, filename="receipt.jpg")

    order.refresh_from_db()
    assert result.status == ProofStatus.REJECTED
    assert not result.file
    assert result.reviewed_by is None and "not a JPEG, PNG, WebP or PDF" in result.review_note
    assert order.expires_at == deadline
    assert ticket(raffle, 1).reserved_until == deadline
    assert rejections[-1]["problem"] == ProofFileProblem.NOT_A_PROOF_FILE
    assert_inventory_consistent(raffle)


def test_a_download_that_fails_for_good_rejects_the_proof_and_keeps_the_deadline(
    raffle, buyer, rejections
):
    order = submitted(raffle, buyer)
    deadline = order.expires_at
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    refuse_proof_file(proof=proof, problem=ProofFileProblem.UNAVAILABLE)
    refuse_proof_file(proof=proof, problem=ProofFileProblem.UNAVAILABLE)  # told once

    proof.refresh_from_db()
    order.refresh_from_db()
    assert proof.status == ProofStatus.REJECTED
    assert order.expires_at == deadline
    assert [r["problem"] for r in rejections] == ["unavailable"]
    assert order.events.last().note.startswith(f"payment proof #{proof.pk} rejected automatically")


def test_an_automatic_rejection_leaves_a_proof_that_was_already_reviewed_alone(
    raffle, buyer, rejections
):
    order = submitted(raffle, buyer)
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    store_proof_file(proof=proof, content=JPEG)

    refuse_proof_file(proof=proof, problem=ProofFileProblem.TOO_LARGE)

    proof.refresh_from_db()
    assert proof.status == ProofStatus.PENDING
    assert rejections == []


def test_a_proof_close_to_the_deadline_gets_the_download_grace_once(raffle, buyer, settings):
    settings.PROOF_DOWNLOAD_GRACE_MINUTES = 5
    order = deadline_in(submitted(raffle, buyer), minutes=1)
    before = timezone.now()

    attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    order.refresh_from_db()
    first = order.expires_at
    attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")  # a retry of Meta's

    order.refresh_from_db()
    assert before + timedelta(minutes=5) <= first <= timezone.now() + timedelta(minutes=5)
    assert order.expires_at == first
    assert ticket(raffle, 1).reserved_until == first
    assert_inventory_consistent(raffle)


def test_the_grace_never_shortens_a_deadline_and_can_be_switched_off(raffle, buyer, settings):
    far = submitted(raffle, buyer)
    deadline = far.expires_at
    attach_payment_proof(order=far, media_id="m1", mime_type="image/jpeg")
    settings.PROOF_DOWNLOAD_GRACE_MINUTES = 0
    near = deadline_in(submitted(raffle, baker_buyer("5491100000099"), numbers=[2]), minutes=1)
    near_deadline = near.expires_at

    attach_payment_proof(order=near, media_id="m2", mime_type="image/jpeg")

    far.refresh_from_db()
    near.refresh_from_db()
    assert far.expires_at == deadline
    assert near.expires_at == near_deadline


def test_the_grace_is_bounded_by_the_proofs_an_order_accepts(raffle, buyer, settings):
    settings.PROOF_DOWNLOAD_GRACE_MINUTES = 5
    settings.PAYMENT_PROOFS_PER_ORDER = 3
    order = submitted(raffle, buyer)
    granted = timedelta()

    for n in range(3):
        deadline_in(order, minutes=0.1)  # the buyer waits for the last moment, every time
        before = order.expires_at
        proof = attach_payment_proof(order=order, media_id=f"junk{n}", mime_type="image/jpeg")
        order.refresh_from_db()
        granted += order.expires_at - before
        refuse_proof_file(proof=proof, problem=ProofFileProblem.NOT_A_PROOF_FILE)
    deadline_in(order, minutes=0.1)
    last = order.expires_at
    with pytest.raises(errors.TooManyProofs):
        attach_payment_proof(order=order, media_id="junk3", mime_type="image/jpeg")

    order.refresh_from_db()
    assert timedelta(minutes=3 * 4.5) < granted <= timedelta(minutes=3 * 5)
    assert order.expires_at == last


def test_a_file_that_arrives_after_the_deadline_expires_the_order_and_is_flagged_late(
    raffle, buyer
):
    order = submitted(raffle, buyer)
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    lapse(order)

    stored = store_proof_file(proof=proof, content=JPEG)

    order.refresh_from_db()
    assert stored.status == ProofStatus.PENDING and stored.late is True
    assert order.status == OrderStatus.EXPIRED
    assert ticket(raffle, 1).status == TicketStatus.AVAILABLE
    assert_inventory_consistent(raffle)


def test_a_proof_on_a_draft_submits_it_for_the_buyer(raffle, buyer, signals):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert signals.transitions()[-1] == (order.pk, "DRAFT", "PENDING_PAYMENT", "BUYER")


def test_a_proof_after_the_deadline_is_kept_and_flagged_late(raffle, buyer):
    order = lapse(submitted(raffle, buyer))

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


def test_an_order_accepts_only_so_many_proofs(raffle, buyer, settings):
    settings.PAYMENT_PROOFS_PER_ORDER = 2
    order = submitted(raffle, buyer)
    attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    attach_payment_proof(order=order, media_id="m2", mime_type="image/jpeg")

    with pytest.raises(errors.TooManyProofs) as err:
        attach_payment_proof(order=order, media_id="m3", mime_type="image/jpeg")

    assert err.value.code == "too_many_proofs"
    assert err.value.extra() == {"order_id": order.pk, "limit": 2}
    assert attach_payment_proof(order=order, media_id="m2", mime_type="").media_id == "m2"
    assert order.proofs.count() == 2


def test_an_operator_confirming_with_a_media_id_is_not_held_to_the_buyers_limit(
    raffle, buyer, settings
):
    settings.PAYMENT_PROOFS_PER_ORDER = 1
    order = submitted(raffle, buyer)
    attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    paid = confirm_payment(order=order, payment_proof_media_id="checked-by-n8n")

    assert paid.status == OrderStatus.PAID
    assert set(order.proofs.values_list("status", flat=True)) == {ProofStatus.ACCEPTED}


def test_a_proof_file_can_come_with_it_or_later(raffle, buyer):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    with_file = attach_payment_proof(
        order=order, media_id="m1", mime_type="image/png", file=ContentFile(PNG, name="a.png")
    )
    later = attach_payment_proof(order=order, media_id="m2", mime_type="")

    stored = store_proof_file(proof=later, content=PDF, filename="t.pdf")

    assert with_file.file.read() == PNG
    assert with_file.status == ProofStatus.PENDING
    assert stored.file.read() == PDF
    assert stored.mime_type == "application/pdf"
    assert stored.file.name == f"payment_proofs/{order.pk}/proof-{stored.pk}.pdf"


@pytest.mark.parametrize(
    "filename,kept",
    [
        ("x" * 5000 + ".pdf", "x" * 255),
        ("../../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\comprobante final.pdf", "comprobante final.pdf"),
        ("nul\x00byte\r\n.pdf", "nulbyte.pdf"),
        ("factura 📄 ñandú.pdf", "factura 📄 ñandú.pdf"),
        ("", ""),
    ],
    ids=["long", "traversal", "windows-path", "control-characters", "unicode", "empty"],
)
def test_any_filename_is_kept_only_as_data_and_never_makes_storing_fail(
    raffle, buyer, filename, kept
):
    order = submitted(raffle, buyer)
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="application/pdf")

    stored = store_proof_file(proof=proof, content=PDF, filename=filename)

    stored.refresh_from_db()
    assert stored.file.name == f"payment_proofs/{order.pk}/proof-{proof.pk}.pdf"
    assert stored.original_filename == kept
    assert stored.status == ProofStatus.PENDING


def test_rejecting_a_proof_gives_a_fresh_deadline_and_asks_the_buyer_again(
    raffle, buyer, operator, signals, rejections
):
    order = submitted(raffle, buyer)
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    store_proof_file(proof=proof, content=JPEG)
    before = timezone.now()

    result = reject_proof(proof=proof, by=operator, reason="blurry")

    proof.refresh_from_db()
    assert proof.status == ProofStatus.REJECTED
    assert (proof.reviewed_by, proof.review_note) == (operator, "blurry")
    assert result.status == OrderStatus.PENDING_PAYMENT
    assert result.expires_at >= before + raffle.ttl
    assert result.clock_stopped_at is None
    assert ticket(raffle, 1).reserved_until == result.expires_at
    last = signals.changes[-1]
    assert (last["old"], last["new"], last["source"]) == (
        "PENDING_PAYMENT",
        "PENDING_PAYMENT",
        "OPERATOR",
    )
    assert "blurry" in last["note"]
    assert rejections[0]["reason"] == "blurry" and "problem" not in rejections[0]
    assert_inventory_consistent(raffle)


def test_an_operator_may_reject_a_proof_whose_file_never_came(raffle, buyer, operator):
    order = submitted(raffle, buyer)
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    result = reject_proof(proof=proof, by=operator, reason="no file arrived")

    proof.refresh_from_db()
    assert proof.status == ProofStatus.REJECTED
    assert result.expires_at is not None


def test_rejecting_one_proof_while_another_waits_keeps_the_clock_stopped(raffle, buyer):
    order = submitted(raffle, buyer)
    first = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    second = attach_payment_proof(order=order, media_id="m2", mime_type="image/jpeg")
    store_proof_file(proof=first, content=JPEG)
    store_proof_file(proof=second, content=PNG)

    result = reject_proof(proof=first, reason="wrong amount")

    assert result.expires_at is None
    assert result.clock_stopped_at is not None
    assert_inventory_consistent(raffle)


def test_rejecting_twice_is_harmless_but_an_accepted_proof_cannot_be_rejected(raffle, buyer):
    order = submitted(raffle, buyer)
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    reject_proof(proof=proof, reason="blurry")
    reject_proof(proof=proof, reason="blurry")
    good = attach_payment_proof(order=order, media_id="m2", mime_type="image/jpeg")
    confirm_payment(order=order)

    with pytest.raises(errors.ProofAlreadyReviewed) as err:
        reject_proof(proof=good, reason="oops")

    assert err.value.code == "proof_already_reviewed"


def test_a_file_for_a_proof_already_rejected_is_kept_without_touching_the_order(
    raffle, buyer, operator
):
    order = submitted(raffle, buyer)
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    reject_proof(proof=proof, by=operator, reason="too slow")
    order.refresh_from_db()
    deadline = order.expires_at

    stored = store_proof_file(proof=proof, content=JPEG)

    order.refresh_from_db()
    assert stored.status == ProofStatus.REJECTED and stored.file
    assert order.expires_at == deadline


def baker_buyer(wa_id: str):
    from model_bakery import baker

    from whatsapp.models import Contact

    return baker.make(Contact, wa_id=wa_id)
