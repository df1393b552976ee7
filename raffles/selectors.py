"""Read-only queries other apps use: which raffles sell, a buyer's orders, number suggestions."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from raffles.models import LIVE_STATUSES, Order, Raffle
from whatsapp.models import Contact


def active_raffles() -> QuerySet[Raffle]:
    return Raffle.objects.filter(is_active=True).order_by("draw_at", "pk")


def live_order_for(contact: Contact, raffle: Raffle | None = None) -> Order | None:
    """The buyer's DRAFT/PENDING_PAYMENT order whose deadline has not passed (or that waits for
    proof review), newest first; a lapsed one is as good as expired."""
    orders = Order.objects.filter(contact_id=contact.pk, status__in=LIVE_STATUSES)
    if raffle is not None:
        orders = orders.filter(raffle=raffle)
    # A buyer holds at most one live order per raffle, so the deadline and the newest-first
    # order are applied here rather than in SQL (order_by() drops the model's default
    # ordering too): the bot asks this on every message, and building the OR and the ORDER
    # BY costs the ORM more than the query costs the database.
    now = timezone.now()
    live = [
        order
        for order in orders.select_related("raffle").order_by()
        if order.expires_at is None or order.expires_at > now
    ]
    return max(live, key=lambda order: (order.created_at, order.pk), default=None)


def orders_of(contact: Contact) -> QuerySet[Order]:
    return (
        Order.objects.filter(contact=contact)
        .select_related("raffle")
        .order_by("-created_at", "-pk")
    )


def sample_available(raffle: Raffle, k: int = 3) -> list[int]:
    """Up to `k` random available numbers to suggest to a buyer, ascending. Nothing is held."""
    from raffles.services.reservations import pick_available

    return sorted(pick_available(raffle, k))
