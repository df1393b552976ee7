"""Read-only queries of the inventory, for the API, the admin and the bot: which raffles sell,
a buyer's orders, orders as the API shows them, counts and number suggestions. Nothing here
changes a row; every change is a service (`raffles.services`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from project.prepared import Prepared
from raffles.models import (
    LIVE_STATUSES,
    Order,
    OrderStatus,
    OrderTicket,
    PaymentProof,
    Raffle,
    TicketNumber,
    TicketStatus,
)
from raffles.services.availability import availability
from raffles.services.reservations import pick_available
from whatsapp.models import Contact

__all__ = [
    "active_raffle_list",
    "active_raffles",
    "availability_data",
    "filter_orders",
    "live_order_for",
    "orders_for_output",
    "orders_of",
    "pending_orders_due",
    "raffle_or_none",
    "raffles_newest_first",
    "sample_available",
    "ticket_counts",
    "tickets_of",
    "with_details",
]


# --- what buyers see ---------------------------------------------------------------------------
def active_raffles() -> QuerySet[Raffle]:
    return Raffle.objects.filter(is_active=True).order_by("draw_at", "pk")


# The bot asks these on every message, inside the webhook's write transaction, where building
# the SQL would cost the ORM far more than running it costs the database (project.prepared).
_active_raffles = Prepared(active_raffles)
_live_orders = Prepared(
    lambda contact_id: Order.objects.filter(
        contact_id=contact_id, status__in=LIVE_STATUSES
    ).order_by(),
    int,
)
_live_orders_in = Prepared(
    lambda contact_id, raffle_id: Order.objects.filter(
        contact_id=contact_id, raffle_id=raffle_id, status__in=LIVE_STATUSES
    ).order_by(),
    int,
    int,
)
_raffle_by_pk = Prepared(lambda pk: Raffle.objects.filter(pk=pk), int)


def raffle_or_none(raffle_id: int) -> Raffle | None:
    """The raffle a conversation's context names (it may have been deleted since)."""
    return _raffle_by_pk.one(raffle_id)


def active_raffle_list() -> list[Raffle]:
    """`active_raffles()`, fetched (the bot's menu on every message)."""
    return _active_raffles()


def live_order_for(contact: Contact, raffle: Raffle | None = None) -> Order | None:
    """The buyer's DRAFT/PENDING_PAYMENT order whose deadline has not passed (or that waits for
    proof review), newest first; a lapsed one is as good as expired."""
    # A buyer holds at most one live order per raffle, so the deadline and the newest-first
    # order are applied here. No join: most messages come from buyers with no live order, and
    # the raffle of one that exists is loaded when it is asked for.
    orders = _live_orders(contact.pk) if raffle is None else _live_orders_in(contact.pk, raffle.pk)
    now = timezone.now()
    live = [order for order in orders if order.expires_at is None or order.expires_at > now]
    return max(live, key=lambda order: (order.created_at, order.pk), default=None)


def orders_of(contact: Contact) -> QuerySet[Order]:
    return (
        Order.objects.filter(contact=contact)
        .select_related("raffle")
        .prefetch_related("raffle__prizes")  # "My tickets" shows drawn raffles' results
        .order_by("-created_at", "-pk")
    )


def sales_are_closed(raffle: Raffle, *, now: dt.datetime | None = None) -> bool:
    """Whether buyers should see the raffle as closed (for showing it; the reservation
    services decide on the database's clock, see `raffles.services.sales`)."""
    if raffle.sales_closed_at is not None or raffle.drawn_at is not None:
        return True
    close_at = raffle.sales_close_at
    return close_at is not None and close_at <= (now or timezone.now())


def sample_available(raffle: Raffle, k: int = 3) -> list[int]:
    """Up to `k` random available numbers to suggest to a buyer, ascending. Nothing is held."""
    return sorted(pick_available(raffle, k))


def pending_orders_due(*, after: dt.datetime, until: dt.datetime) -> QuerySet[Order]:
    """PENDING_PAYMENT orders whose deadline falls in (`after`, `until`], soonest first, with
    their raffle and buyer. An order under review has no deadline, so it is never among them."""
    return (
        Order.objects.filter(
            status=OrderStatus.PENDING_PAYMENT, expires_at__gt=after, expires_at__lte=until
        )
        .select_related("raffle", "contact")
        .order_by("expires_at", "pk")
    )


# --- what operators and n8n see ----------------------------------------------------------------
def raffles_newest_first(*, is_active: bool | None = None) -> QuerySet[Raffle]:
    raffles = Raffle.objects.order_by("-id")
    if is_active is not None:
        raffles = raffles.filter(is_active=is_active)
    return raffles


def tickets_of(
    raffle: Raffle,
    *,
    status: str | None = None,
    number_min: int | None = None,
    number_max: int | None = None,
) -> QuerySet[TicketNumber]:
    """The raffle's tickets in number order, narrowed by status and a number range."""
    tickets = TicketNumber.objects.filter(raffle=raffle).order_by("number")
    if status:
        tickets = tickets.filter(status=status)
    if number_min is not None:
        tickets = tickets.filter(number__gte=number_min)
    if number_max is not None:
        tickets = tickets.filter(number__lte=number_max)
    return tickets


def ticket_counts(raffle_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Tickets per status of each raffle, `{raffle_id: {status: n}}`, in one grouped query.

    Counted as `availability` counts them: a reservation whose deadline has passed blocks no
    buyer, so its number is AVAILABLE even before the sweep releases it."""
    lapsed = Q(status=TicketStatus.RESERVED, reserved_until__lte=timezone.now())
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        TicketNumber.objects.filter(raffle_id__in=list(raffle_ids))
        .annotate(
            shown=Case(
                When(lapsed, then=Value(TicketStatus.AVAILABLE.value)),
                default=F("status"),
                output_field=CharField(),
            )
        )
        .values("raffle_id", "shown")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        statuses = counts[row["raffle_id"]]
        statuses[row["shown"]] = statuses.get(row["shown"], 0) + row["n"]
    return dict(counts)


def availability_data(raffle: Raffle) -> dict[str, Any]:
    """The raffle's availability in the shape of `AvailabilityOut`, as plain dicts: a large
    raffle can have thousands of ranges, and pydantic validates dicts of integers in its core
    far faster than it builds (or walks) a model object per range."""
    result = availability(raffle=raffle)
    return {
        "raffle_id": raffle.pk,
        "total": raffle.size,
        "counts": {status: result.counts.get(status, 0) for status in TicketStatus.values},
        "available_ranges": [
            {"first": first, "last": last} for first, last in result.available_ranges
        ],
    }


def orders_for_output() -> QuerySet[Order]:
    """Orders with the raffle and buyer `OrderOut` reads; see `with_details` for the rest."""
    return Order.objects.select_related("raffle", "contact")


def with_details(orders: Sequence[Order]) -> list[Order]:
    """Load the numbers and proofs of a page of orders in two queries.

    Cheaper than prefetch_related for a page of 50: numbers come as plain (order, number) rows
    instead of OrderTicket and TicketNumber objects. `OrderOut` reads `api_numbers` and
    `api_proofs` when they are set.
    """
    orders = list(orders)
    ids = [order.pk for order in orders]
    numbers: dict[int, list[int]] = defaultdict(list)
    for order_id, number in OrderTicket.objects.filter(order_id__in=ids).values_list(
        "order_id", "ticket__number"
    ):
        numbers[order_id].append(number)
    proofs: dict[int, list[PaymentProof]] = defaultdict(list)
    for proof in PaymentProof.objects.filter(order_id__in=ids).order_by("-received_at", "-id"):
        proofs[proof.order_id].append(proof)
    for order in orders:
        order.api_numbers = sorted(numbers[order.pk])  # type: ignore[attr-defined]
        order.api_proofs = proofs[order.pk]  # type: ignore[attr-defined]
    return orders


def filter_orders(
    orders: QuerySet[Order],
    *,
    status: str | None = None,
    raffle: int | None = None,
    contact: int | None = None,
    has_proof: bool | None = None,
    created_after: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
    updated_after: dt.datetime | None = None,
    updated_before: dt.datetime | None = None,
) -> QuerySet[Order]:
    """`orders` narrowed by the API's order filters (raffle and contact are ids)."""
    if status:
        orders = orders.filter(status=status)
    if raffle is not None:
        orders = orders.filter(raffle_id=raffle)
    if contact is not None:
        orders = orders.filter(contact_id=contact)
    if has_proof is not None:
        with_proof = Exists(PaymentProof.objects.filter(order=OuterRef("pk")))
        orders = orders.filter(with_proof if has_proof else ~with_proof)
    if created_after:
        orders = orders.filter(created_at__gte=created_after)
    if created_before:
        orders = orders.filter(created_at__lt=created_before)
    if updated_after:
        orders = orders.filter(updated_at__gte=updated_after)
    if updated_before:
        orders = orders.filter(updated_at__lt=updated_before)
    return orders
