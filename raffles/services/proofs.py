"""Payment proofs: receiving them, receiving their files, and rejecting them.

A proof is kept as soon as the buyer sends it (RECEIVING), but only its file can stop the
order's clock: once the file is stored and recognised by its content as a JPEG, PNG, WebP or PDF
the proof waits for review (PENDING) and, if the order's deadline has not passed, the order has
no deadline until an operator decides. While the file is on its way the deadline may move back
by a short grace (`PROOF_DOWNLOAD_GRACE_MINUTES`), once per proof. A file that cannot be had (not
a proof's type, too large, its download given up) rejects that proof automatically, and the
deadline keeps running. An operator's rejection gives the buyer a fresh deadline; the number of
proofs one order accepts (`PAYMENT_PROOFS_PER_ORDER`) bounds how often.
"""

from __future__ import annotations

import enum
import unicodedata
from datetime import datetime
from typing import Any

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from raffles import limits
from raffles.errors import ProofAlreadyReviewed, TooManyProofs
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

__all__ = [
    "ProofFileProblem",
    "attach_payment_proof",
    "recognise_proof_file",
    "refuse_proof_file",
    "reject_proof",
    "store_proof_file",
]

# (magic prefix, extension, mime type); WebP is RIFF....WEBP, checked separately.
_SIGNATURES = (
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"%PDF-", "pdf", "application/pdf"),
)
_FILENAME_MAX = PaymentProof._meta.get_field("original_filename").max_length


class ProofFileProblem(enum.StrEnum):
    """Why a proof's file could not be used (the bot words each for the buyer)."""

    NOT_A_PROOF_FILE = "not_a_proof_file"  # not a JPEG, PNG, WebP or PDF
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"  # the download was refused or failed for good

    @property
    def note(self) -> str:
        """For the operator, in the proof's review note."""
        return {
            ProofFileProblem.NOT_A_PROOF_FILE: "the file is not a JPEG, PNG, WebP or PDF",
            ProofFileProblem.TOO_LARGE: "the file is larger than the download limit",
            ProofFileProblem.UNAVAILABLE: "the file could not be downloaded",
        }[self]


def recognise_proof_file(content: bytes) -> tuple[str, str] | None:
    """(extension, mime type) of a file a proof can be, judged by its content only."""
    for magic, extension, mime in _SIGNATURES:
        if content.startswith(magic):
            return extension, mime
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp", "image/webp"
    return None


@transaction.atomic
def attach_payment_proof(
    *,
    order: Order,
    media_id: str,
    mime_type: str,
    file: File | None = None,
    filename: str = "",
    enforce_limit: bool = True,
) -> PaymentProof:
    """Keep a proof the buyer sent, waiting for its file (or with it, when `file` is given).

    A proof on a DRAFT submits the order (the buyer wants to pay). Before the deadline the
    deadline may move back by the download grace; after it the order expires (if not already)
    and the proof is kept, flagged `late`, for the operator. The same Meta media id twice
    (webhook retries) returns the first proof. Past `PAYMENT_PROOFS_PER_ORDER` proofs the order
    refuses more (`TooManyProofs`), unless an operator records one (`enforce_limit=False`).
    """
    fresh = lock_order(order)
    if media_id:
        known = PaymentProof.objects.filter(order=fresh, media_id=media_id).first()
        if known:
            return known
    if enforce_limit:
        limit = limits.proofs_per_order()
        if PaymentProof.objects.filter(order=fresh).count() >= limit:
            raise TooManyProofs(order_id=fresh.pk, limit=limit)
    now = timezone.now()
    late = fresh.status == OrderStatus.EXPIRED
    if fresh.is_live and fresh.expires_at is not None and fresh.expires_at <= now:
        expire_orders(order_ids=[fresh.pk], now=now)
        fresh.refresh_from_db()
        late = True
    if fresh.status == OrderStatus.DRAFT:
        _move(fresh, OrderStatus.PENDING_PAYMENT, note="payment proof received", at=now)
    if fresh.is_live and not fresh.is_under_review:
        _grant_download_grace(fresh, now)
    try:
        with transaction.atomic():
            proof = PaymentProof.objects.create(
                order=fresh,
                media_id=media_id,
                mime_type=mime_type[:100],
                original_filename=_as_data(filename),
                received_at=now,
                late=late,
                status=ProofStatus.RECEIVING,
            )
    except IntegrityError:
        return PaymentProof.objects.get(order=fresh, media_id=media_id)
    sync_instance(order, fresh)
    if file is not None:
        file.seek(0)
        content = file.read()
        proof = store_proof_file(
            proof=proof, content=content, filename=filename or getattr(file, "name", "") or ""
        )
        order.refresh_from_db()
    return proof


@transaction.atomic
def store_proof_file(
    *, proof: PaymentProof, content: bytes, filename: str = "", mime_type: str = ""
) -> PaymentProof:
    """The proof's file has been downloaded: keep it if its content is a proof's type.

    It is stored as `proof-<id>.<ext>`, the extension and mime type taken from the content
    (`mime_type`, what the sender claimed, is not trusted for either); the buyer's filename is
    kept only as data. A proof still waiting for its file then waits
    for review, and stops the clock of a live order whose deadline has not passed (one whose
    deadline has passed expires now, the proof flagged `late`). Content of any other type
    rejects the proof automatically (`refuse_proof_file`).
    """
    kind = recognise_proof_file(content)
    if kind is None:
        return refuse_proof_file(proof=proof, problem=ProofFileProblem.NOT_A_PROOF_FILE)
    extension, mime = kind
    order = lock_order(proof.order_id)
    fresh = PaymentProof.objects.select_for_update().get(pk=proof.pk)
    replaced = fresh.file.name if fresh.file else ""
    fresh.file.save(f"proof-{fresh.pk}.{extension}", ContentFile(content), save=False)
    fresh.mime_type = mime
    if filename:
        fresh.original_filename = _as_data(filename)
    now = timezone.now()
    if fresh.status == ProofStatus.RECEIVING:
        fresh.status = ProofStatus.PENDING
        if order.is_live and not order.is_under_review:
            if order.expires_at is not None and order.expires_at <= now:
                expire_orders(order_ids=[order.pk], now=now)
                fresh.late = True
            else:
                _stop_clock(order, now)
    fresh.save(update_fields=["file", "mime_type", "original_filename", "status", "late"])
    if replaced and replaced != fresh.file.name:
        storage, name = fresh.file.storage, replaced
        transaction.on_commit(lambda: storage.delete(name))
    _copy_proof(fresh, proof)
    if not replaced:
        # The proof can be looked at now (events: `proof.received`), once per proof.
        proof_received.send(sender=PaymentProof, proof=fresh)
    return fresh


@transaction.atomic
def refuse_proof_file(*, proof: PaymentProof, problem: ProofFileProblem | str) -> PaymentProof:
    """The proof's file cannot be used: the proof is rejected without an operator.

    Only a proof still waiting for its file is affected. The order's deadline keeps running
    (nothing stopped it); the buyer is told why through `proof_rejected` (with `problem`).
    """
    problem = ProofFileProblem(problem)
    order = lock_order(proof.order_id)
    fresh = PaymentProof.objects.select_for_update().get(pk=proof.pk)
    if fresh.status != ProofStatus.RECEIVING:
        _copy_proof(fresh, proof)
        return fresh
    now = timezone.now()
    note = f"rejected automatically: {problem.note}"
    fresh.status = ProofStatus.REJECTED
    fresh.review_note = note
    fresh.reviewed_at = now
    fresh.save(update_fields=["status", "review_note", "reviewed_at"])
    _copy_proof(fresh, proof)
    if order.is_live:
        record_change(
            order=order,
            old=order.status,
            new=order.status,
            source=ChangeSource.SYSTEM,
            note=f"payment proof #{fresh.pk} {note}",
            at=now,
        )
    proof_rejected.send(
        sender=PaymentProof, proof=fresh, order=order, reason=note, problem=problem.value
    )
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
    if fresh.status not in (ProofStatus.PENDING, ProofStatus.RECEIVING):
        raise ProofAlreadyReviewed(proof_id=fresh.pk, status=fresh.status)
    now = timezone.now()
    actor = by if getattr(by, "pk", None) else None
    fresh.status = ProofStatus.REJECTED
    fresh.review_note = reason
    fresh.reviewed_by = actor
    fresh.reviewed_at = now
    fresh.save(update_fields=["status", "review_note", "reviewed_by", "reviewed_at"])
    _copy_proof(fresh, proof)
    others_waiting = (
        PaymentProof.objects.filter(order=order, status=ProofStatus.PENDING)
        .exclude(pk=fresh.pk)
        .exists()
    )
    if order.is_live and not others_waiting:
        deadline = now + order.raffle.ttl
        _set_deadline(order, deadline)
        old = order.status
        order.status = OrderStatus.PENDING_PAYMENT
        order.clock_stopped_at = None
        order.save(update_fields=["status", "expires_at", "clock_stopped_at", "updated_at"])
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


def _grant_download_grace(order: Order, now: datetime) -> None:
    """A proof arrived in time and its file is on its way: the deadline is at least `now` plus
    the grace, so a download that takes a moment does not cost the buyer their numbers."""
    grace = limits.download_grace()
    if not grace or order.expires_at is None or order.expires_at >= now + grace:
        return
    _set_deadline(order, now + grace)
    order.save(update_fields=["expires_at", "updated_at"])


def _stop_clock(order: Order, now: datetime) -> None:
    """A proof's file arrived in time: no deadline while it waits for review."""
    _set_deadline(order, None)
    order.clock_stopped_at = now
    order.save(update_fields=["expires_at", "clock_stopped_at", "updated_at"])


def _set_deadline(order: Order, deadline: datetime | None) -> None:
    """The order's deadline and its tickets' holds move together (they must always agree)."""
    TicketNumber.objects.filter(reserved_by_order=order, status=TicketStatus.RESERVED).update(
        reserved_until=deadline
    )
    order.expires_at = deadline


def _move(order: Order, new: str, *, note: str, at: datetime) -> None:
    old = order.status
    order.status = new
    order.save(update_fields=["status", "updated_at"])
    record_change(order=order, old=old, new=new, source=ChangeSource.BUYER, note=note, at=at)


def _as_data(filename: str) -> str:
    """The buyer's filename as a harmless label: its last path part, no control characters,
    clipped to the column. Whatever it was, storing never fails because of it."""
    name = str(filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = " ".join(name.split())
    return name[:_FILENAME_MAX]


def _copy_proof(fresh: PaymentProof, target: PaymentProof) -> None:
    """The caller's instance tells the same story as the row."""
    if target is not fresh:
        for field in PaymentProof._meta.concrete_fields:
            setattr(target, field.attname, getattr(fresh, field.attname))
