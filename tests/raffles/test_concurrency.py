"""Real concurrency: threads with their own database connections race for the same numbers,
on the file-based SQLite test database and on PostgreSQL, then the invariants are checked.
The last test shows the harness would catch a race if the conditional update were missing."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from model_bakery import baker

from raffles import errors
from raffles.invariants import assert_inventory_consistent, inventory_violations
from raffles.models import LIVE_STATUSES, Order, OrderEvent, OrderStatus, TicketNumber, TicketStatus
from raffles.services import (
    cancel_order,
    confirm_payment,
    expire_due,
    reservations,
    reserve_random,
    reserve_specific,
    submit_order,
)
from tests.raffles.conftest import make_raffle
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def race(workers: list[Callable[[], object]]) -> tuple[list[object], list[BaseException]]:
    """Run every worker in its own thread and connection, released at the same instant.
    Returns what they returned (domain errors count as results) and unexpected exceptions."""
    start = threading.Barrier(len(workers))
    results: list[object] = []
    crashes: list[BaseException] = []
    lock = threading.Lock()

    def run(work: Callable[[], object]) -> None:
        try:
            start.wait()
            try:
                outcome = work()
            except errors.RaffleError as err:
                outcome = err
            with lock:
                results.append(outcome)
        except BaseException as exc:
            with lock:
                crashes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, crashes


def buyers(n: int) -> list[Contact]:
    return [baker.make(Contact, wa_id=f"race{i}") for i in range(n)]


def test_buyers_racing_for_overlapping_numbers_never_share_one():
    raffle = make_raffle(max_number=19)
    contacts = buyers(THREADS)
    rng = random.Random(7)
    wanted = {c.pk: sorted(rng.sample(range(8), 3)) for c in contacts}

    results, crashes = race(
        [
            lambda c=c: reserve_specific(raffle=raffle, numbers=wanted[c.pk], contact=c)
            for c in contacts
        ]
    )

    assert not crashes, crashes
    orders = [r for r in results if isinstance(r, Order)]
    refusals = [r for r in results if isinstance(r, errors.TicketsTaken)]
    assert orders and len(orders) + len(refusals) == THREADS
    held = [n for o in orders for n in o.numbers]
    assert len(held) == len(set(held))
    for refusal in refusals:
        assert set(refusal.numbers) & set(held) == set(refusal.numbers)
    assert_inventory_consistent(raffle)


def test_buyers_racing_for_random_numbers_get_distinct_ones_until_none_are_left():
    raffle = make_raffle(max_number=14)  # 15 numbers, 8 buyers x 3 wanted
    contacts = buyers(THREADS)

    results, crashes = race(
        [lambda c=c: reserve_random(raffle=raffle, qty=3, contact=c) for c in contacts]
    )

    assert not crashes, crashes
    orders = [r for r in results if isinstance(r, Order)]
    assert len(orders) == 5
    assert all(
        isinstance(r, errors.NotEnoughAvailable | errors.SoldOut)
        for r in results
        if r not in orders
    )
    held = [n for o in orders for n in o.numbers]
    assert sorted(held) == list(range(15))
    assert_inventory_consistent(raffle)


def test_a_mixed_crowd_of_buyers_operators_and_the_sweeper_keeps_the_inventory_whole():
    raffle = make_raffle(max_number=29, max_tickets_per_order=4)
    contacts = buyers(THREADS)

    def buyer_journey(contact: Contact, seed: int) -> object:
        rng = random.Random(seed)
        for _ in range(4):
            try:
                if rng.random() < 0.5:
                    order = reserve_random(raffle=raffle, qty=rng.randint(1, 4), contact=contact)
                else:
                    numbers = rng.sample(range(30), rng.randint(1, 4))
                    order = reserve_specific(raffle=raffle, numbers=numbers, contact=contact)
                order = submit_order(order=order)
                if rng.random() < 0.3:
                    # The buyer walks away: deadline in the past (one atomic step).
                    with transaction.atomic():
                        past = timezone.now() - timedelta(seconds=1)
                        Order.objects.filter(pk=order.pk, status__in=LIVE_STATUSES).update(
                            expires_at=past
                        )
                        TicketNumber.objects.filter(
                            reserved_by_order=order, status=TicketStatus.RESERVED
                        ).update(reserved_until=past)
                elif rng.random() < 0.5:
                    confirm_payment(order=order)
                else:
                    cancel_order(order=order)
            except errors.RaffleError:
                pass
        return None

    def sweeper() -> object:
        for _ in range(5):
            expire_due()
        return None

    workers = [lambda c=c, i=i: buyer_journey(c, i) for i, c in enumerate(contacts)]
    _results, crashes = race([*workers, sweeper])

    assert not crashes, crashes
    assert_inventory_consistent(raffle)


def test_two_sweepers_at_once_expire_each_order_exactly_once():
    raffle = make_raffle(max_number=59)
    contacts = buyers(30)
    for i, contact in enumerate(contacts):
        reserve_specific(raffle=raffle, numbers=[2 * i, 2 * i + 1], contact=contact)
    past = timezone.now() - timedelta(minutes=1)
    Order.objects.update(expires_at=past)
    TicketNumber.objects.filter(status=TicketStatus.RESERVED).update(reserved_until=past)

    results, crashes = race([lambda: expire_due(batch_size=7) for _ in range(2)])

    assert not crashes, crashes
    assert sum(r.count for r in results) == 30
    assert Order.objects.filter(status=OrderStatus.EXPIRED).count() == 30
    assert OrderEvent.objects.filter(to_status=OrderStatus.EXPIRED).count() == 30
    assert_inventory_consistent(raffle)


def test_the_harness_catches_a_race_when_the_conditional_update_is_disabled(monkeypatch):
    raffle = make_raffle(max_number=19)
    contacts = buyers(THREADS)

    def unconditional_take(*, raffle_id, numbers, order, until, to_status="RESERVED", **_):
        # The bug the real code guards against: no `WHERE status = AVAILABLE`.
        return TicketNumber.objects.filter(raffle_id=raffle_id, number__in=list(numbers)).update(
            status=to_status, reserved_by_order=order, reserved_until=until
        )

    monkeypatch.setattr(reservations, "_take_numbers", unconditional_take)

    _results, crashes = race(
        [
            lambda c=c: reserve_specific(raffle=raffle, numbers=[1, 2, 3], contact=c)
            for c in contacts
        ]
    )

    assert not crashes, crashes
    problems = inventory_violations(raffle)
    assert any("more than one live or PAID order" in p for p in problems), problems
    with pytest.raises(AssertionError):
        assert_inventory_consistent(raffle)


def test_the_file_based_sqlite_database_is_shared_by_the_threads():
    if connection.vendor == "sqlite":
        assert not connection.is_in_memory_db()
