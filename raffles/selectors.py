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
    # The bot asks this on every message, and building SQL costs the ORM more than running it
    # costs the database. A buyer holds at most one live order per raffle, so the deadline
    # and the newest-first order are applied here (order_by() drops the model's default
    # ordering too). No join: most messages come from buyers with no live order, and the
    # raffle of one that exists is loaded when it is asked for.
    now = timezone.now()
    live = [
        order for order in orders.order_by() if order.expires_at is None or order.expires_at > now
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
