"""Payment proofs: receiving them (which stops the order's clock), storing their files, and
rejecting them (which gives the buyer a fresh deadline to send a better one)."""

from __future__ import annotations

from typing import Any

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from raffles.errors import ProofAlreadyReviewed
from raffles.models import (
    ChangeSource,
    Order,
    OrderStatus,
    PaymentProof,
    ProofStatus,
    TicketNumber,
    TicketStatus,
)
from raffles.services.expiry import expire_orders
from raffles.services.history import lock_order, record_change, sync_instance
from raffles.signals import proof_received, proof_rejected


@transaction.atomic
def attach_payment_proof(
    *, order: Order, media_id: str, mime_type: str, file: File | None = None
) -> PaymentProof:
    """Keep a proof the buyer sent. Before the deadline it stops the clock: the order waits for
    review (PENDING_PAYMENT, no deadline) instead of expiring. After the deadline the order
    expires (if not already) and the proof is kept, flagged `late` for the operator.
    The same Meta media id twice (webhook retries) returns the first proof."""
    fresh = lock_order(order)
    if media_id:
        known = PaymentProof.objects.filter(order=fresh, media_id=media_id).first()
        if known:
            return known
    now = timezone.now()
    late = fresh.status == OrderStatus.EXPIRED
    if fresh.is_live:
        if fresh.expires_at is not None and fresh.expires_at <= now:
            expire_orders(order_ids=[fresh.pk], now=now)
            fresh.refresh_from_db()
            late = True
        else:
            _stop_clock(fresh, now)
    try:
        with transaction.atomic():
            proof = PaymentProof.objects.create(
                order=fresh, media_id=media_id, mime_type=mime_type, received_at=now, late=late
            )
    except IntegrityError:
        return PaymentProof.objects.get(order=fresh, media_id=media_id)
    if file is not None:
        proof.file.save(_filename(proof, getattr(file, "name", "") or ""), file, save=True)
        proof_received.send(sender=PaymentProof, proof=proof)
    sync_instance(order, fresh)
    return proof


@transaction.atomic
def store_proof_file(
    *, proof: PaymentProof, content: bytes, mime_type: str, filename: str
) -> PaymentProof:
    """Save the proof's file once it has been downloaded (it arrives after the message)."""
    fresh = PaymentProof.objects.select_for_update().get(pk=proof.pk)
    first_file = not fresh.file
    if fresh.file:
        fresh.file.delete(save=False)
    fresh.mime_type = mime_type or fresh.mime_type
    fresh.file.save(_filename(fresh, filename), ContentFile(content), save=False)
    fresh.save(update_fields=["file", "mime_type"])
    proof.file, proof.mime_type = fresh.file, fresh.mime_type
    if first_file:
        proof_received.send(sender=PaymentProof, proof=fresh)
    return fresh


@transaction.atomic
def reject_proof(*, proof: PaymentProof, by: Any = None, reason: str) -> Order:
    """The operator rejects a proof. A live order goes back to waiting for a proof with a fresh
    deadline (now + TTL) unless another proof still waits for review; the buyer is asked again
    through `order_status_changed` (old == new == PENDING_PAYMENT) and `proof_rejected`."""
    order = lock_order(proof.order_id)
    fresh = PaymentProof.objects.select_for_update().get(pk=proof.pk)
    if fresh.status == ProofStatus.REJECTED:
        return order
    if fresh.status != ProofStatus.PENDING:
        raise ProofAlreadyReviewed(proof_id=fresh.pk, status=fresh.status)
    now = timezone.now()
    actor = by if getattr(by, "pk", None) else None
    fresh.status = ProofStatus.REJECTED
    fresh.review_note = reason
    fresh.reviewed_by = actor
    fresh.reviewed_at = now
    fresh.save(update_fields=["status", "review_note", "reviewed_by", "reviewed_at"])
    proof.status, proof.review_note = fresh.status, fresh.review_note
    proof.reviewed_by, proof.reviewed_at = fresh.reviewed_by, fresh.reviewed_at
    others_waiting = (
        PaymentProof.objects.filter(order=order, status=ProofStatus.PENDING)
        .exclude(pk=fresh.pk)
        .exists()
    )
    if order.is_live and not others_waiting:
        deadline = now + order.raffle.ttl
        TicketNumber.objects.filter(reserved_by_order=order, status=TicketStatus.RESERVED).update(
            reserved_until=deadline
        )
        old = order.status
        order.status = OrderStatus.PENDING_PAYMENT
        order.expires_at = deadline
        order.save(update_fields=["status", "expires_at", "updated_at"])
        record_change(
            order=order,
            old=old,
            new=order.status,
            source=ChangeSource.OPERATOR,
            actor=actor,
            note=f"payment proof rejected: {reason}",
            at=now,
        )
    proof_rejected.send(sender=PaymentProof, proof=fresh, order=order, reason=reason)
    return order


def _stop_clock(order: Order, now) -> None:
    """A proof arrived in time: no deadline while it waits for review."""
    TicketNumber.objects.filter(reserved_by_order=order, status=TicketStatus.RESERVED).update(
        reserved_until=None
    )
    order.expires_at = None
    if order.status == OrderStatus.DRAFT:
        old = order.status
        order.status = OrderStatus.PENDING_PAYMENT
        order.save(update_fields=["status", "expires_at", "updated_at"])
        record_change(
            order=order,
            old=old,
            new=order.status,
            source=ChangeSource.BUYER,
            note="payment proof received",
            at=now,
        )
    else:
        order.save(update_fields=["expires_at", "updated_at"])


def _filename(proof: PaymentProof, name: str) -> str:
    base = name.rsplit("/", 1)[-1] or f"proof-{proof.pk}"
    return base
