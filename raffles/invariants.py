"""Checks of the rules the inventory must never break, run by the tests and the load harness.

`inventory_violations()` returns human-readable violations (empty when all is well);
`assert_inventory_consistent()` raises AssertionError listing them. Every check is one
set-based query, so it stays quick on a large raffle.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q

from raffles.models import (
    LIVE_STATUSES,
    Order,
    OrderStatus,
    OrderTicket,
    PaymentProof,
    ProofStatus,
    Raffle,
    TicketNumber,
    TicketStatus,
)

_LIMIT = 20  # examples per violation kind, enough to debug


def inventory_violations(raffle: Raffle | int | None = None) -> list[str]:
    raffle_id = raffle.pk if isinstance(raffle, Raffle) else raffle
    tickets = TicketNumber.objects.all()
    orders = Order.objects.all()
    if raffle_id is not None:
        tickets = tickets.filter(raffle_id=raffle_id)
        orders = orders.filter(raffle_id=raffle_id)
    problems: list[str] = []

    def report(kind: str, rows) -> None:
        rows = list(rows[:_LIMIT])
        if rows:
            problems.append(f"{kind}: {rows}")

    # A RESERVED ticket is held by a live order of its raffle; a SOLD one by a PAID order.
    report(
        "RESERVED ticket not held by a live order of its raffle",
        tickets.filter(status=TicketStatus.RESERVED)
        .exclude(
            reserved_by_order__status__in=LIVE_STATUSES,
            reserved_by_order__raffle_id=F("raffle_id"),
        )
        .values_list("raffle_id", "number", "reserved_by_order_id"),
    )
    report(
        "SOLD ticket not held by a PAID order of its raffle",
        tickets.filter(status=TicketStatus.SOLD)
        .exclude(
            reserved_by_order__status=OrderStatus.PAID,
            reserved_by_order__raffle_id=F("raffle_id"),
        )
        .values_list("raffle_id", "number", "reserved_by_order_id"),
    )
    report(
        "AVAILABLE ticket still points at an order",
        tickets.filter(status=TicketStatus.AVAILABLE)
        .filter(Q(reserved_by_order__isnull=False) | Q(reserved_until__isnull=False))
        .values_list("raffle_id", "number"),
    )
    # Exactly one live/PAID order lists each RESERVED/SOLD ticket (and it is the holder).
    holding = OrderTicket.objects.filter(
        order__status__in=[*LIVE_STATUSES, OrderStatus.PAID], ticket__in=tickets
    )
    report(
        "ticket listed by more than one live or PAID order",
        holding.values("ticket__raffle_id", "ticket__number")
        .annotate(n=Count("order_id"))
        .filter(n__gt=1)
        .values_list("ticket__raffle_id", "ticket__number", "n"),
    )
    report(
        "ticket listed by a live or PAID order that does not hold it",
        holding.exclude(ticket__reserved_by_order_id=F("order_id")).values_list(
            "order_id", "ticket__number"
        ),
    )
    # Each live/PAID order holds exactly qty tickets, in the right status, with its deadline.
    active = orders.filter(status__in=[*LIVE_STATUSES, OrderStatus.PAID])
    report(
        "live or PAID order does not hold exactly qty tickets",
        active.annotate(
            held=Count("held_tickets", distinct=True), listed=Count("order_tickets", distinct=True)
        )
        .exclude(held=F("qty"), listed=F("qty"))
        .values_list("pk", "qty", "held", "listed"),
    )
    live_held = tickets.filter(reserved_by_order__status__in=LIVE_STATUSES)
    report(
        "live order's ticket is not RESERVED",
        live_held.exclude(status=TicketStatus.RESERVED).values_list("number", "status"),
    )
    report(
        "RESERVED ticket's reserved_until differs from its order's deadline",
        live_held.exclude(reserved_until__isnull=True, reserved_by_order__expires_at__isnull=True)
        .exclude(reserved_until=F("reserved_by_order__expires_at"))
        .values_list("number", "reserved_until", "reserved_by_order__expires_at"),
    )
    report(
        "dead order (CANCELLED/EXPIRED) still holds tickets",
        tickets.filter(
            reserved_by_order__status__in=[OrderStatus.CANCELLED, OrderStatus.EXPIRED]
        ).values_list("reserved_by_order_id", "number"),
    )
    # "Under review" is one rule (`Order.is_under_review`): a live order has no deadline
    # exactly when a proof it received in time waits for an operator.
    proof_waiting = Exists(
        PaymentProof.objects.filter(order=OuterRef("pk"), status=ProofStatus.PENDING)
    )
    live = orders.filter(status__in=LIVE_STATUSES)
    report(
        "live order under review (no deadline) without a proof waiting",
        live.under_review().exclude(proof_waiting).values_list("pk", "status"),
    )
    report(
        "live order with a proof waiting still has a deadline (its clock was not stopped)",
        live.filter(proof_waiting, expires_at__isnull=False).values_list("pk", "expires_at"),
    )
    report(
        "live order under review without the time its clock stopped",
        live.under_review().filter(clock_stopped_at__isnull=True).values_list("pk"),
    )
    report(
        "DRAFT order without a deadline",
        orders.filter(status=OrderStatus.DRAFT, expires_at__isnull=True).values_list("pk"),
    )
    # Money: the total is the unit price times the quantity, to the cent.
    report(
        "total_amount differs from unit_price x qty",
        [
            (pk, str(total), str(unit), qty)
            for pk, total, unit, qty in orders.values_list(
                "pk", "total_amount", "unit_price", "qty"
            ).iterator()
            if Decimal(total) != Decimal(unit) * qty
        ],
    )
    # Counts add up: every number of a complete raffle exists once and has one status.
    raffles = Raffle.objects.filter(tickets_ready=True)
    if raffle_id is not None:
        raffles = raffles.filter(pk=raffle_id)
    for r in raffles:
        counts = dict(
            TicketNumber.objects.filter(raffle=r)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        if sum(counts.values()) != r.size:
            problems.append(f"raffle {r.pk}: {counts} do not add up to {r.size} numbers")
        reserved_for = sum(
            orders.filter(raffle=r, status__in=LIVE_STATUSES).values_list("qty", flat=True)
        )
        sold_for = sum(
            orders.filter(raffle=r, status=OrderStatus.PAID).values_list("qty", flat=True)
        )
        if counts.get(TicketStatus.RESERVED, 0) != reserved_for:
            problems.append(
                f"raffle {r.pk}: {counts.get(TicketStatus.RESERVED, 0)} RESERVED tickets but "
                f"live orders hold {reserved_for}"
            )
        if counts.get(TicketStatus.SOLD, 0) != sold_for:
            problems.append(
                f"raffle {r.pk}: {counts.get(TicketStatus.SOLD, 0)} SOLD tickets but PAID "
                f"orders bought {sold_for}"
            )
    return problems


def assert_inventory_consistent(raffle: Raffle | int | None = None) -> None:
    problems = inventory_violations(raffle)
    assert not problems, "inventory invariants broken:\n" + "\n".join(problems)
