"""Reserving numbers for a buyer: the only place tickets leave AVAILABLE for a new order.

The database decides who gets a number: every take is a conditional UPDATE (`... WHERE status =
AVAILABLE`) whose row count is checked, so two buyers can never hold the same number. Lock
order is fixed: orders (by id) before tickets (by number).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from raffles import limits
from raffles.bounds import check_order_total
from raffles.errors import (
    DuplicateNumbers,
    InvalidQuantity,
    LiveOrderExists,
    NotEnoughAvailable,
    NumbersOutOfRange,
    RaffleInactive,
    SoldOut,
    TicketsTaken,
    TooManyLiveOrders,
    TooManyNumbersHeld,
)
from raffles.models import (
    LIVE_STATUSES,
    ChangeSource,
    Order,
    OrderStatus,
    OrderTicket,
    Raffle,
    TicketNumber,
    TicketStatus,
)
from raffles.services.expiry import expire_due, expire_orders
from raffles.services.history import record_change
from whatsapp.models import Contact

# How many random candidate numbers are probed per wanted number before walking the index.
_CANDIDATES_PER_PICK = 8


@transaction.atomic
def reserve_specific(*, raffle: Raffle, numbers: Sequence[int], contact: Contact) -> Order:
    """A DRAFT order holding exactly `numbers` until now + TTL, or nothing at all
    (`TicketsTaken` names every number that was not available)."""
    return _reserve_specific(raffle=raffle, numbers=numbers, contact=contact)


@transaction.atomic
def reserve_random(*, raffle: Raffle, qty: int, contact: Contact) -> Order:
    """A DRAFT order holding `qty` numbers chosen at random among the available ones."""
    return _reserve_random(raffle=raffle, qty=qty, contact=contact)


def _reserve_specific(
    *,
    raffle: Raffle,
    numbers: Sequence[int],
    contact: Contact,
    status: str = OrderStatus.DRAFT,
    source: str = ChangeSource.BUYER,
    actor: Any = None,
) -> Order:
    raffle = _current(raffle)
    wanted = _validated_numbers(raffle, numbers)
    now = timezone.now()
    _check_buyer_limits(raffle, contact, qty=len(wanted), now=now)
    # Orders whose lapsed holds block these numbers expire together with the buyer's own
    # lapsed order, in one ascending lock pass (two passes could deadlock with a buyer
    # doing the same the other way round).
    order = _open_order(
        raffle,
        contact,
        qty=len(wanted),
        status=status,
        now=now,
        also_expire=_lapsed_holders(raffle, wanted, now),
    )
    taken = _take_numbers(raffle_id=raffle.pk, numbers=wanted, order=order, until=order.expires_at)
    if taken != len(wanted):
        held = set(_held_numbers(order))
        raise TicketsTaken(numbers=[n for n in wanted if n not in held])
    _remember_tickets(order)
    record_change(order=order, old=None, new=order.status, source=source, actor=actor, at=now)
    return order


def _reserve_random(
    *,
    raffle: Raffle,
    qty: int,
    contact: Contact,
    status: str = OrderStatus.DRAFT,
    source: str = ChangeSource.BUYER,
    actor: Any = None,
) -> Order:
    raffle = _current(raffle)
    _validate_qty(raffle, qty)
    now = timezone.now()
    _check_buyer_limits(raffle, contact, qty=qty, now=now)
    order = _open_order(raffle, contact, qty=qty, status=status, now=now)
    held = _take_random(raffle, order, qty)
    if held < qty:
        # Only lapsed reservations might be left: expire them here (lazily) and try again.
        expire_due(now=now, raffle_id=raffle.pk)
        held += _take_random(raffle, order, qty - held)
    if held < qty:
        available = TicketNumber.objects.filter(
            raffle=raffle, status=TicketStatus.AVAILABLE
        ).count()
        if available == 0 and held == 0:
            raise SoldOut(raffle_id=raffle.pk)
        raise NotEnoughAvailable(requested=qty, available=available + held)
    _remember_tickets(order)
    record_change(order=order, old=None, new=order.status, source=source, actor=actor, at=now)
    return order


# --- the one place a ticket is taken ---------------------------------------------------------


def _take_numbers(
    *,
    raffle_id: int,
    numbers: Sequence[int],
    order: Order,
    until: datetime | None,
    to_status: str = TicketStatus.RESERVED,
    locked: bool = False,
) -> int:
    """Give `order` those of `numbers` that are AVAILABLE; return how many it got.

    The `WHERE status = AVAILABLE` is what makes double selling impossible: of two racing
    transactions the database lets only one match each row. On PostgreSQL the rows are first
    locked in number order so two overlapping requests cannot deadlock.
    """
    available = TicketNumber.objects.filter(
        raffle_id=raffle_id, number__in=list(numbers), status=TicketStatus.AVAILABLE
    )
    if not locked and connection.features.has_select_for_update:
        list(available.order_by("number").select_for_update().values_list("pk", flat=True))
    return available.update(status=to_status, reserved_by_order=order, reserved_until=until)


# --- helpers ---------------------------------------------------------------------------------


def _current(raffle: Raffle) -> Raffle:
    """The raffle as stored now (an operator may have closed it since the caller loaded it).

    On PostgreSQL the row is read FOR KEY SHARE, the lock the order's foreign key takes anyway,
    only earlier: buyers do not wait for each other, but a change of price or currency (which
    locks the row FOR UPDATE, see `update_raffle`) waits for this order and then sees it, or
    this read waits for the change and the order takes the new price. (SQLite runs one writer
    at a time, so the read is already current for the whole transaction.)"""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Raffle._meta.db_table)
        found = list(
            Raffle.objects.raw(f"SELECT * FROM {table} WHERE id = %s FOR KEY SHARE", [raffle.pk])
        )
        if not found:
            raise Raffle.DoesNotExist
        fresh = found[0]
    else:
        fresh = Raffle.objects.get(pk=raffle.pk)
    if not fresh.is_active:
        raise RaffleInactive(raffle_id=fresh.pk)
    return fresh


def _check_buyer_limits(raffle: Raffle, contact: Contact, *, qty: int, now: datetime) -> None:
    """The limits one buyer runs into (settings, see `raffles.limits`): orders in progress
    across raffles, and unpaid numbers held in this raffle.

    The buyer's row is locked first, so two requests of the same buyer (two API calls, or a
    chat and an operator) are counted one after the other; a lapsed order counts for nothing.
    """
    if connection.features.has_select_for_update:
        list(
            Contact.objects.select_for_update(no_key=True)
            .filter(pk=contact.pk)
            .values_list("pk", flat=True)
        )
    live = list(
        Order.objects.filter(contact=contact, status__in=LIVE_STATUSES)
        .exclude(expires_at__lte=now)
        .values_list("pk", "raffle_id")
    )
    if any(raffle_id == raffle.pk for _, raffle_id in live):
        return  # one live order per buyer and raffle: `LiveOrderExists` says what to do
    most_live = limits.live_orders_per_contact()
    if len(live) >= most_live:
        raise TooManyLiveOrders(
            contact_id=contact.pk, limit=most_live, order_ids=sorted(pk for pk, _ in live)
        )
    # With no live order here, what the buyer would hold in this raffle is this order.
    most_held = limits.numbers_held_per_raffle()
    if qty > most_held:
        raise TooManyNumbersHeld(raffle_id=raffle.pk, limit=most_held, requested=qty)


def _validate_qty(raffle: Raffle, qty: int) -> None:
    if (
        not isinstance(qty, int)
        or isinstance(qty, bool)
        or not 1 <= qty <= (raffle.max_tickets_per_order)
    ):
        raise InvalidQuantity(qty=qty, minimum=1, maximum=raffle.max_tickets_per_order)
    # A raffle stored before the money bounds may allow orders whose total cannot be recorded.
    check_order_total(unit_price=raffle.ticket_price, qty=qty)


def _validated_numbers(raffle: Raffle, numbers: Sequence[int]) -> list[int]:
    wanted = [int(n) for n in numbers]
    _validate_qty(raffle, len(wanted))
    seen: set[int] = set()
    repeated = sorted({n for n in wanted if n in seen or seen.add(n)})
    if repeated:
        raise DuplicateNumbers(numbers=repeated)
    outside = sorted(n for n in wanted if not raffle.min_number <= n <= raffle.max_number)
    if outside:
        raise NumbersOutOfRange(
            numbers=outside, minimum=raffle.min_number, maximum=raffle.max_number
        )
    return sorted(wanted)


def _open_order(
    raffle: Raffle,
    contact: Contact,
    *,
    qty: int,
    status: str,
    now,
    also_expire: set[int] | frozenset[int] = frozenset(),
) -> Order:
    """Create the order, after expiring `also_expire` (lazily). The partial unique index (one
    live order per buyer and raffle) settles two racing requests; on a conflict with the
    buyer's own lapsed order, that order expires too and the insert is retried once."""
    to_expire = set(also_expire)
    for attempt in range(2):
        created = _create_order(raffle, contact, qty=qty, status=status, now=now)
        if created is not None:
            if to_expire:
                expire_orders(order_ids=to_expire, now=now)
            return created
        existing = (
            Order.objects.filter(raffle=raffle, contact=contact, status__in=LIVE_STATUSES)
            .values_list("pk", "expires_at")
            .first()
        )
        if existing is not None:
            pk, expires_at = existing
            if expires_at is None or expires_at > now or attempt:
                raise LiveOrderExists(order_id=pk)
            to_expire.add(pk)
        expire_orders(order_ids=to_expire, now=now)
        to_expire = set()
    raise LiveOrderExists(order_id=existing[0] if existing else 0)


def _create_order(raffle: Raffle, contact: Contact, *, qty: int, status: str, now) -> Order | None:
    try:
        with transaction.atomic():
            return Order.objects.create(
                raffle=raffle,
                contact=contact,
                qty=qty,
                unit_price=raffle.ticket_price,
                currency=raffle.currency,
                total_amount=raffle.ticket_price * qty,
                status=status,
                expires_at=now + raffle.ttl,
            )
    except IntegrityError:
        return None


def _lapsed_holders(raffle: Raffle, numbers: Sequence[int], now: datetime) -> set[int]:
    """Orders whose lapsed reservations hold any of `numbers`."""
    return set(
        TicketNumber.objects.filter(
            raffle=raffle,
            number__in=list(numbers),
            status=TicketStatus.RESERVED,
            reserved_until__lte=now,
        ).values_list("reserved_by_order_id", flat=True)
    )


def _expire_lapsed_holders(raffle: Raffle, numbers: Sequence[int], now: datetime) -> None:
    """Lazy expiry: orders whose lapsed reservations hold any of `numbers` expire now, in the
    caller's transaction, so their numbers can be taken."""
    holder_ids = _lapsed_holders(raffle, numbers, now)
    if holder_ids:
        expire_orders(order_ids=holder_ids, now=now)


def _take_random(raffle: Raffle, order: Order, qty: int) -> int:
    """Take up to `qty` random AVAILABLE numbers for `order`; return how many it got.

    On PostgreSQL racing buyers first pick with SKIP LOCKED, so they spread out instead of
    queueing. Skipped rows may belong to a buyer who is about to give up, so a buyer left short
    drops its partial picks (savepoint) and walks the index in number order, waiting for locks:
    the answer "not enough available" is then exact, and waiting in number order cannot
    deadlock (the SKIP LOCKED phase never waits).
    """
    if qty <= 0:
        return 0
    if not connection.features.has_select_for_update_skip_locked:
        # SQLite: one writer at a time, nothing is skipped, the first answer is exact.
        return _take_random_skipping_locked(raffle, order, qty)
    try:
        with transaction.atomic():
            held = _take_random_skipping_locked(raffle, order, qty)
            if held < qty:
                raise _LeftShort
            return held
    except _LeftShort:
        pass  # the savepoint rolled back: our partial picks (and their locks) are gone
    held = 0
    while held < qty:
        rows = list(
            TicketNumber.objects.filter(raffle=raffle, status=TicketStatus.AVAILABLE)
            .order_by("number")
            .select_for_update()
            .values_list("number", flat=True)[: qty - held]
        )
        if not rows:
            break
        held += _take_numbers(
            raffle_id=raffle.pk, numbers=rows, order=order, until=order.expires_at, locked=True
        )
    return held


class _LeftShort(Exception):
    pass


def _take_random_skipping_locked(raffle: Raffle, order: Order, qty: int) -> int:
    held = 0
    for _attempt in range(4):
        picks = pick_available(raffle, qty - held, lock=True)
        if not picks:
            break
        held += _take_numbers(
            raffle_id=raffle.pk, numbers=picks, order=order, until=order.expires_at, locked=True
        )
        if held >= qty:
            break
    return held


def pick_available(raffle: Raffle, k: int, *, lock: bool = False) -> list[int]:
    """Up to `k` random AVAILABLE numbers, without ever sorting the raffle by random().

    First probe random candidate numbers (cheap while the raffle is mostly available), then
    walk the index from a random starting number, wrapping around. With `lock` on PostgreSQL
    the chosen rows (and only those) are locked with SKIP LOCKED, so racing buyers pick
    different numbers instead of queueing behind each other.
    """
    if k <= 0:
        return []
    lo, hi = raffle.min_number, raffle.max_number
    available = TicketNumber.objects.filter(raffle=raffle, status=TicketStatus.AVAILABLE)
    skip_locked = lock and connection.features.has_select_for_update_skip_locked

    def numbers(qs, limit: int | None = None) -> list[int]:
        qs = qs.values_list("number", flat=True)
        if skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        return list(qs[:limit] if limit else qs)

    sample = random.sample(range(lo, hi + 1), min(hi - lo + 1, k * _CANDIDATES_PER_PICK))
    found = list(available.filter(number__in=sample).values_list("number", flat=True))
    random.shuffle(found)
    picked = found[:k]
    if skip_locked and picked:
        # Lock only what we mean to take; rows another buyer holds are skipped.
        picked = numbers(available.filter(number__in=picked).order_by("number"))
    if len(picked) < k:
        start = random.randint(lo, hi)
        rest = available.exclude(number__in=list(picked))
        picked = picked + numbers(
            rest.filter(number__gte=start).order_by("number"), k - len(picked)
        )
        if len(picked) < k:
            picked = picked + numbers(
                rest.filter(number__lt=start).exclude(number__in=picked).order_by("number"),
                k - len(picked),
            )
    return picked


def _held_numbers(order: Order) -> list[int]:
    return list(
        TicketNumber.objects.filter(reserved_by_order=order)
        .order_by("number")
        .values_list("number", flat=True)
    )


def _remember_tickets(order: Order) -> None:
    """Keep which tickets the order holds, for history after they are released."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {OrderTicket._meta.db_table} (order_id, ticket_id) "
            f"SELECT reserved_by_order_id, id FROM {TicketNumber._meta.db_table} "
            "WHERE reserved_by_order_id = %s",
            [order.pk],
        )
