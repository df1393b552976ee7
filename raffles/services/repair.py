"""Repairing orders whose money Django cannot read back (stored on SQLite before the money
bounds): they are cancelled with an audited reason, their numbers released.

Such an order cannot be loaded, so its amounts are first set to zero with a plain UPDATE (which
reads nothing back); the order then loads and is cancelled by `cancel_order`, like any other,
with the original amounts in the reason and the history. An order that no longer holds numbers
(EXPIRED, CANCELLED) keeps its status and gets a history row saying what changed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from raffles import bounds
from raffles.errors import InvalidTransition
from raffles.models import ChangeSource, Order, OrderEvent, OrderStatus
from raffles.services.orders import cancel_order
from raffles.stored_money import UnfitOrder, unfit_orders

REASON = "Cancelled: its total is more than one order can hold."


@transaction.atomic
def cancel_unfit_order(*, order_id: int, by: Any = None, reason: str = REASON) -> Order | None:
    """Cancel order `order_id` if its money does not fit its columns (None if it fits, so a
    second run changes nothing). A PAID order is refused (`InvalidTransition`): money was taken
    for it, so an operator decides by hand."""
    found = unfit_orders(order_ids=[order_id])
    if not found:
        return None
    unfit = found[0]
    if unfit.status == OrderStatus.PAID:
        raise InvalidTransition(
            order_id=order_id,
            status=unfit.status,
            target=OrderStatus.CANCELLED,
            reason="It is PAID; repair it by hand.",
        )
    now = timezone.now()
    # The one write that must not read the row: after it the order loads like any other.
    Order.objects.filter(pk=order_id).update(
        unit_price=Decimal("0"), total_amount=Decimal("0"), updated_at=now
    )
    note = f"{reason} {_was(unfit)}"
    order = Order.objects.get(pk=order_id)
    if order.is_live:
        return cancel_order(order=order, by=by, reason=note, source=ChangeSource.SYSTEM)
    OrderEvent.objects.create(
        order=order,
        from_status=order.status,
        to_status=order.status,
        at=now,
        source=ChangeSource.SYSTEM,
        actor=by if getattr(by, "pk", None) else None,
        note=note,
    )
    return order


def _was(unfit: UnfitOrder) -> str:
    return (
        f"It was {unfit.qty} x {_amount_text(unfit.unit_price)} = "
        f"{_amount_text(unfit.total_amount)} (an order's total holds at most "
        f"{bounds.order_total_max()}); its amounts are now 0."
    )


def _amount_text(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.01")), "f")
