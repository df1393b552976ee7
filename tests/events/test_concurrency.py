"""Workers and sweepers racing on the same due events never send one twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from events.models import DeliveryStatus, EventDelivery
from events.services.delivery import deliver, send_due
from raffles import services
from raffles.models import Order, TicketNumber

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(workers: list[Callable[[], object]]) -> list[BaseException]:
    """Start all at once (a barrier), each on its own database connection."""
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # surfaced by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@pytest.fixture
def expired_events(subscribe, raffle, make_buyer) -> list[int]:
    """Ten orders expired by one sweep: ten `order.expired` events waiting to be sent."""
    subscribe("order.expired")
    orders = [
        services.reserve_specific(raffle=raffle, numbers=[n], contact=make_buyer())
        for n in range(10)
    ]
    past = timezone.now() - timedelta(minutes=1)
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(expires_at=past)
    TicketNumber.objects.filter(reserved_by_order__in=orders).update(reserved_until=past)
    services.expire_due()
    return list(EventDelivery.objects.values_list("pk", flat=True))


def test_racing_sweepers_send_each_event_exactly_once(expired_events, receiver, settings):
    settings.EVENTS_SEND_CONCURRENCY = 2

    errors = run_together([lambda: send_due(limit=100) for _ in range(3)])

    assert errors == []
    received = Counter(r.webhook_id for r in receiver.accepted())
    assert len(received) == len(expired_events)
    assert set(received.values()) == {1}
    assert receiver.unverified() == []
    rows = EventDelivery.objects.all()
    assert {r.status for r in rows} == {DeliveryStatus.DELIVERED}
    assert {r.attempts for r in rows} == {1}


def test_workers_and_a_sweeper_racing_on_one_event_send_it_once(expired_events, receiver):
    first = expired_events[0]

    work = [lambda: deliver(delivery_id=first) for _ in range(5)]
    errors = run_together([*work, lambda: send_due(limit=1)])

    assert errors == []
    assert [r.webhook_id for r in receiver.accepted()].count(
        EventDelivery.objects.get(pk=first).message_id
    ) == 1


def test_the_periodic_commands_send_due_events_and_prune_old_ones(expired_events, receiver):
    call_command("send_due_events", verbosity=0)
    assert EventDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 10
    old = expired_events[:4]
    EventDelivery.objects.filter(pk__in=old).update(updated_at=timezone.now() - timedelta(days=31))
    EventDelivery.objects.filter(pk=expired_events[4]).update(
        status=DeliveryStatus.PENDING, updated_at=timezone.now() - timedelta(days=90)
    )

    call_command("prune_event_deliveries", verbosity=0)

    left = set(EventDelivery.objects.values_list("pk", flat=True))
    assert left == set(expired_events) - set(old)  # a pending event is kept, however old


def test_two_payments_selling_the_last_numbers_at_once_announce_sold_out_once(
    subscribe, raffle, make_buyer
):
    subscribe("raffle.sold_out")
    halves = [
        services.create_order_for_buyer(raffle=raffle, contact=make_buyer(), qty=5)
        for _ in range(2)
    ]

    errors = run_together([lambda o=o: services.confirm_payment(order=o) for o in halves])

    assert errors == []
    assert EventDelivery.objects.filter(event_type="raffle.sold_out").count() == 1


def test_the_sweeper_and_the_pruning_run_periodically(settings):
    periodic = dict(settings.PERIODIC_COMMANDS)

    assert periodic["send_due_events"] <= 10
    assert "prune_event_deliveries" in periodic
