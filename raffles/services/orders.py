"""An order's life after reservation: submitting, confirming payment, cancelling, and orders
operators take through other channels (phone, in person)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from raffles.errors import (
    InvalidOrderRequest,
    InvalidTransition,
    NumbersLost,
    OrderExpired,
    OrderNotPending,
)
from raffles.models import (
    ChangeSource,
    Order,
    OrderStatus,
    PaymentProof,
    ProofStatus,
    Raffle,
    TicketNumber,
    TicketStatus,
)
from raffles.services import reservations
from raffles.services.buyers import buyer_with_wa_id
from raffles.services.history import lock_order, record_change, sync_instance
from raffles.services.proofs import attach_payment_proof
from raffles.services.sales import check_sales_open
from raffles.signals import raffle_sold_out
from whatsapp.models import Contact


@transaction.atomic
def submit_order(*, order: Order, source: ChangeSource | str = ChangeSource.BUYER) -> Order:
    """The buyer confirms the reservation: DRAFT -> PENDING_PAYMENT, same deadline."""
    fresh = lock_order(order)
    if fresh.status == OrderStatus.PENDING_PAYMENT:
        return sync_instance(order, fresh)
    if fresh.status == OrderStatus.EXPIRED or (
        fresh.status == OrderStatus.DRAFT
        and fresh.expires_at is not None
        and fresh.expires_at <= timezone.now()
    ):
        raise OrderExpired(order_id=fresh.pk)
    if fresh.status != OrderStatus.DRAFT:
        raise InvalidTransition(
            order_id=fresh.pk, status=fresh.status, target=OrderStatus.PENDING_PAYMENT
        )
    _move(fresh, OrderStatus.PENDING_PAYMENT, source=source)
    return sync_instance(order, fresh)


@transaction.atomic
def confirm_payment(
    *,
    order: Order,
    by: Any = None,
    note: str = "",
    source: ChangeSource | str = ChangeSource.OPERATOR,
    payment_proof_media_id: str = "",
) -> Order:
    """PENDING_PAYMENT -> PAID, its tickets SOLD. Confirming a PAID order returns it unchanged.

    An EXPIRED order is confirmed only if every one of its numbers is still available (they are
    re-taken atomically); otherwise `NumbersLost` names the numbers someone else holds now.
    `payment_proof_media_id` (the original n8n field) names the proof that was checked; a proof
    that never arrived through the webhook is recorded first.
    """
    if payment_proof_media_id and lock_order(order).status != OrderStatus.PAID:
        # The operator checked it: recorded even past the buyer's limit of proofs.
        attach_payment_proof(
            order=order, media_id=payment_proof_media_id, mime_type="", enforce_limit=False
        )
    fresh = lock_order(order)
    if fresh.status == OrderStatus.PAID:
        return sync_instance(order, fresh)
    if fresh.status == OrderStatus.DRAFT:
        raise OrderNotPending(order_id=fresh.pk, status=fresh.status)
    if fresh.status == OrderStatus.CANCELLED:
        raise InvalidTransition(order_id=fresh.pk, status=fresh.status, target=OrderStatus.PAID)
    now = timezone.now()
    if fresh.status == OrderStatus.EXPIRED:
        _retake_for_sale(fresh, now)
    else:
        # A live order still holds its tickets even past its deadline (a lazy expiry would have
        # marked it EXPIRED in the same transaction that took them).
        sold = TicketNumber.objects.filter(
            reserved_by_order=fresh, status=TicketStatus.RESERVED
        ).update(status=TicketStatus.SOLD, reserved_until=None)
        assert sold == fresh.qty, f"order {fresh.pk} held {sold} of its {fresh.qty} tickets"
    PaymentProof.objects.filter(
        order=fresh, status__in=[ProofStatus.PENDING, ProofStatus.RECEIVING]
    ).update(
        status=ProofStatus.ACCEPTED,
        reviewed_by=by if getattr(by, "pk", None) else None,
        reviewed_at=now,
    )
    fresh.confirmed_by = by if getattr(by, "pk", None) else None
    fresh.confirmed_at = now
    fresh.expires_at = None
    _move(fresh, OrderStatus.PAID, source=source, actor=by, note=note, at=now)
    _announce_if_sold_out(fresh.raffle)
    return sync_instance(order, fresh)


@transaction.atomic
def cancel_order(
    *,
    order: Order,
    by: Any = None,
    reason: str = "",
    source: ChangeSource | str = ChangeSource.OPERATOR,
) -> Order:
    """A live order is cancelled and its numbers released. Cancelling a CANCELLED order returns
    it unchanged; a PAID order cannot be cancelled (refunds are out of scope)."""
    fresh = lock_order(order)
    if fresh.status == OrderStatus.CANCELLED:
        return sync_instance(order, fresh)
    if not fresh.is_live:
        raise InvalidTransition(
            order_id=fresh.pk,
            status=fresh.status,
            target=OrderStatus.CANCELLED,
            reason="Refunds are not supported." if fresh.status == OrderStatus.PAID else "",
        )
    now = timezone.now()
    TicketNumber.objects.filter(reserved_by_order=fresh, status=TicketStatus.RESERVED).update(
        status=TicketStatus.AVAILABLE, reserved_by_order=None, reserved_until=None
    )
    fresh.cancelled_by = by if getattr(by, "pk", None) else None
    fresh.cancelled_at = now
    fresh.cancel_reason = reason
    _move(fresh, OrderStatus.CANCELLED, source=source, actor=by, note=reason, at=now)
    return sync_instance(order, fresh)


@transaction.atomic
def create_order_for_buyer(
    *,
    raffle: Raffle,
    contact: Contact,
    numbers: Sequence[int] | None = None,
    qty: int | None = None,
    by: Any = None,
) -> Order:
    """An order taken by an operator for another channel: the numbers are reserved under the
    same rules and the order starts PENDING_PAYMENT (source OPERATOR). Give `numbers` or `qty`."""
    if (numbers is None) == (qty is None):
        raise InvalidOrderRequest("Give either the numbers or a quantity, not both.")
    common = {
        "raffle": raffle,
        "contact": contact,
        "status": OrderStatus.PENDING_PAYMENT,
        "source": ChangeSource.OPERATOR,
        "actor": by,
    }
    if numbers is not None:
        return reservations._reserve_specific(numbers=numbers, **common)
    return reservations._reserve_random(qty=qty, **common)


@transaction.atomic
def create_order_for_wa_id(
    *,
    raffle: Raffle,
    wa_id: str,
    name: str = "",
    numbers: Sequence[int] | None = None,
    qty: int | None = None,
    by: Any = None,
) -> Order:
    """`create_order_for_buyer` for a buyer named by WhatsApp id (`buyer_with_wa_id`). One
    transaction: a refused order leaves no new buyer behind."""
    contact = buyer_with_wa_id(wa_id=wa_id, name=name)
    return create_order_for_buyer(raffle=raffle, contact=contact, numbers=numbers, qty=qty, by=by)


def _move(
    order: Order,
    new: str,
    *,
    source: ChangeSource | str,
    actor: Any = None,
    note: str = "",
    at=None,
) -> None:
    """Save a status change of a locked order, with its history row and signal."""
    at = at or timezone.now()
    old = order.status
    order.status = new
    order.updated_at = at
    order.save()
    record_change(order=order, old=old, new=new, source=source, actor=actor, note=note, at=at)


def _announce_if_sold_out(raffle: Raffle) -> None:
    """If this payment sold the last number, say so (two index probes, whatever the size).

    On PostgreSQL two payments selling the last numbers at once would each see the other's
    numbers still RESERVED and neither would say it: a per-raffle advisory lock, taken after
    every row lock (so it closes no cycle with them), makes the second check see the first."""
    if not raffle.tickets_ready:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext('raffle_sold_out'), %s)",
                [raffle.pk % 2**31],
            )
    unsold = TicketNumber.objects.filter(
        raffle_id=raffle.pk, status__in=[TicketStatus.AVAILABLE, TicketStatus.RESERVED]
    )
    if not unsold.exists():
        raffle_sold_out.send(sender=Raffle, raffle=raffle)


def _retake_for_sale(order: Order, now) -> None:
    """Sell an EXPIRED order's numbers again, all or none; not once sales are closed (the
    sold list is published and the draw is near or done)."""
    check_sales_open(raffle=Raffle.objects.get(pk=order.raffle_id))
    numbers = order.numbers
    reservations._expire_lapsed_holders(order.raffle, numbers, now)
    got = reservations._take_numbers(
        raffle_id=order.raffle_id,
        numbers=numbers,
        order=order,
        until=None,
        to_status=TicketStatus.SOLD,
    )
    if got != len(numbers):
        mine = set(
            TicketNumber.objects.filter(reserved_by_order=order).values_list("number", flat=True)
        )
        raise NumbersLost(order_id=order.pk, numbers=[n for n in numbers if n not in mine])
