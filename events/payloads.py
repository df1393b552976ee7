"""Building an event's `data`: the object as the API returns it, through the API's own schemas.

Links inside (a proof's `download_url`) are absolute when `EVENTS_BASE_URL` names the server's
public address; without it they are paths on the server.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from events import types
from raffles.draw_schemas import DrawOut, draw_output
from raffles.models import Order, PaymentProof, Raffle
from raffles.schemas import OrderOut, ProofOut, RaffleOut
from raffles.selectors import with_details

__all__ = ["SubjectGone", "build_data", "build_many"]


class SubjectGone(Exception):
    """What the event is about no longer exists, so its data cannot be built."""


class _PublicAddress:
    """Stands in for the request the API schemas build absolute links from."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def build_absolute_uri(self, path: str) -> str:
        return f"{self.base_url}{path}"


def _context() -> dict[str, Any]:
    base = settings.EVENTS_BASE_URL
    return {"request": _PublicAddress(base)} if base else {}


def build_data(*, event_type: str, subject_id: int) -> dict[str, Any]:
    """The `data` of an event of `event_type` about `subject_id`, as JSON-ready values."""
    subject = types.SUBJECTS[event_type]
    if subject == types.ORDER:
        return order_data(_order(subject_id))
    if subject == types.PROOF:
        return proof_data(subject_id, with_reason=event_type == types.EventType.PROOF_REJECTED)
    if subject == types.RAFFLE:
        raffle = Raffle.objects.filter(pk=subject_id).first()
        if raffle is None:
            raise SubjectGone(f"raffle {subject_id} no longer exists")
        return RaffleOut.from_orm(raffle).model_dump(mode="json")
    if subject == types.DRAW:
        return draw_data(subject_id)
    return {
        "subscription_id": subject_id,
        "message": "A test event from Raffle Backoffice: if its signature verifies, all is well.",
    }


def build_many(*, event_type: str, subject_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The data of many events of one type, by subject id (subjects that are gone are left
    out). Orders load in a few queries for the lot, as a page of the API does."""
    if types.SUBJECTS[event_type] == types.ORDER:
        orders = Order.objects.select_related("raffle", "contact").filter(pk__in=subject_ids)
        return {order.pk: order_data(order) for order in with_details(orders)}
    built = {}
    for subject_id in subject_ids:
        try:
            built[subject_id] = build_data(event_type=event_type, subject_id=subject_id)
        except SubjectGone:
            continue
    return built


def _order(order_id: int) -> Order:
    order = Order.objects.select_related("raffle", "contact").filter(pk=order_id).first()
    if order is None:
        raise SubjectGone(f"order {order_id} no longer exists")
    return with_details([order])[0]


def order_data(order: Order) -> dict[str, Any]:
    """`OrderOut` as the API prints it (numbers and proofs preloaded by `with_details`)."""
    return OrderOut.from_orm(order, context=_context()).model_dump(mode="json")


def draw_data(raffle_id: int) -> dict[str, Any]:
    """`{"raffle": RaffleOut, "draw": DrawOut}`: the raffle and its result with the proof."""
    raffle = Raffle.objects.filter(pk=raffle_id).first()
    if raffle is None:
        raise SubjectGone(f"raffle {raffle_id} no longer exists")
    return {
        "raffle": RaffleOut.from_orm(raffle).model_dump(mode="json"),
        "draw": DrawOut.model_validate(draw_output(raffle)).model_dump(mode="json"),
    }


def proof_data(proof_id: int, *, with_reason: bool) -> dict[str, Any]:
    proof = PaymentProof.objects.filter(pk=proof_id).first()
    if proof is None:
        raise SubjectGone(f"payment proof {proof_id} no longer exists")
    data = {
        "proof": ProofOut.from_orm(proof, context=_context()).model_dump(mode="json"),
        "order": order_data(_order(proof.order_id)),
    }
    if with_reason:
        data["reason"] = proof.review_note
    return data
