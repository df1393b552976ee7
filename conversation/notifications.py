"""Telling buyers about changes they did not make: operator decisions and expiries.

Receivers of the raffles signals (connected in `ConversationConfig.ready`). They run inside the
transaction that made the change, so the message is queued only if the change commits. Changes
the buyer made in the chat were already answered there and are not repeated. A receiver never
breaks the operator's action: its work runs in a savepoint and a failure is logged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from conversation import notices, replies
from conversation.answering import answering
from conversation.models import Conversation, ConversationState
from conversation.services import conversation_for
from project.id_sets import AnyOf
from whatsapp.notices import Notice
from whatsapp.outgoing import OutgoingMessage

logger = logging.getLogger(__name__)

__all__ = [
    "on_order_status_changed",
    "on_orders_expired",
    "on_proof_rejected",
]

# States in which the buyer is not in the middle of something else: a notification may move
# them to where the news leaves them.
_IDLE = {ConversationState.MENU, ConversationState.DONE}


def _isolated(receiver: Callable[..., None]) -> Callable[..., None]:
    """Run a receiver in a savepoint; a bug here must not undo the operator's change."""

    @functools.wraps(receiver)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            with transaction.atomic():
                receiver(*args, **kwargs)
        except Exception:
            logger.exception("buyer notification failed (%s)", receiver.__name__)

    return wrapper


def _about(conversation: Conversation, order: Any) -> bool:
    return conversation.context.get("order_id") == order.pk


def _tell(
    order: Any,
    message: OutgoingMessage | Notice,
    *,
    state: ConversationState,
    context: dict[str, Any],
    always_move: bool = False,
) -> None:
    """Queue `message` to the order's buyer and move their conversation if it concerns this
    order (or they are idle, or `always_move`)."""
    from whatsapp.services.outbox import queue_message

    contact = order.contact
    conversation = conversation_for(contact=contact, lock=True)
    if always_move or _about(conversation, order) or conversation.state in _IDLE:
        conversation.state = state
        conversation.context = context
        conversation.save(update_fields=["state", "context", "updated_at"])
    queue_message(contact=contact, message=message)


@_isolated
def on_order_status_changed(
    sender: Any,
    *,
    order: Any,
    old: str | None,
    new: str,
    source: str,
    note: str = "",
    **kwargs: Any,
) -> None:
    from raffles.models import ChangeSource, OrderStatus

    # The buyer's own changes were answered in the chat; a new order taken by an operator for
    # another channel is not announced; a rejected proof (old == new) has its own signal.
    if source == ChangeSource.BUYER or old is None or old == new:
        return
    if answering() == order.contact_id:
        return
    if new == OrderStatus.PAID:
        _tell(
            order,
            notices.payment_confirmed(order=order),
            state=ConversationState.DONE,
            context={"order_id": order.pk, "raffle_id": order.raffle_id},
        )
    elif new == OrderStatus.CANCELLED:
        _tell(
            order,
            notices.order_cancelled(order=order, reason=order.cancel_reason or note),
            state=ConversationState.MENU,
            context={},
        )


@_isolated
def on_proof_rejected(
    sender: Any, *, proof: Any, order: Any, reason: str, problem: str = "", **kwargs: Any
) -> None:
    if answering() == order.contact_id:
        return
    context = {"order_id": order.pk, "raffle_id": order.raffle_id}
    if problem:
        # Rejected without an operator: the file could not be used. Said in the buyer's words
        # (never the English note), and the deadline keeps running.
        if order.is_live:
            _tell(
                order,
                notices.proof_file_refused(order=order, problem=problem),
                state=ConversationState.DONE
                if order.is_under_review
                else ConversationState.WAIT_PROOF,
                context=context,
            )
        else:
            _tell(
                order,
                notices.proof_rejected_closed(
                    order=order, reason=replies.proof_file_problem(problem)
                ),
                state=ConversationState.MENU,
                context={},
            )
        return
    if order.is_live:
        _tell(
            order,
            notices.proof_rejected(order=order, reason=reason),
            state=ConversationState.WAIT_PROOF,
            context={"order_id": order.pk, "raffle_id": order.raffle_id},
        )
    else:
        _tell(
            order,
            notices.proof_rejected_closed(order=order, reason=reason),
            state=ConversationState.MENU,
            context={},
        )


@_isolated
def on_orders_expired(
    sender: Any,
    *,
    orders: Sequence[Any] = (),
    order_ids: Sequence[int] | None = None,
    **kwargs: Any,
) -> None:
    """Each buyer is told their reservation expired. The wording names the raffle, not the
    numbers, so a sweep of thousands of orders is one INSERT per raffle (the outbox writes
    each distinct message set-based) and no Order instance is loaded."""
    from raffles.models import Order, Raffle
    from whatsapp.services.outbox import broadcast

    ids = list(order_ids) if order_ids is not None else [order.pk for order in orders]
    if not ids:
        return
    # The ids travel as one parameter each time (a sweep passes 5,000): see project.id_sets.
    rows = list(
        Order.objects.filter(pk__any_of=ids)
        .exclude(contact_id=answering() or 0)
        .values_list("pk", "raffle_id", "contact_id")
    )
    if not rows:
        return
    buyers_by_raffle: dict[int, list[int]] = {}
    for _, raffle_id, contact_id in rows:
        buyers_by_raffle.setdefault(raffle_id, []).append(contact_id)
    for raffle in Raffle.objects.filter(pk__in=buyers_by_raffle):
        notice = notices.reservation_expired(raffle=raffle)
        broadcast(messages=[(contact_id, notice) for contact_id in buyers_by_raffle[raffle.pk]])
    # Conversations still about an expired order go back to the menu: one UPDATE, no rows read
    # and locked first (this may run inside another buyer's reservation).
    about_order = Cast(KeyTextTransform("order_id", "context"), BigIntegerField())
    Conversation.objects.filter(
        AnyOf(about_order, [pk for pk, _, _ in rows]),
        contact_id__any_of=list({contact_id for _, _, contact_id in rows}),
    ).exclude(state=ConversationState.DONE).update(
        state=ConversationState.MENU, context={}, updated_at=timezone.now()
    )
