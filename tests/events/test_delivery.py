"""Delivery: every POST verifies with the `standardwebhooks` library at a real receiver on
127.0.0.1; failures are retried with backoff under the same webhook-id; 410 and long failure
disable the subscription; a receiver that is down loses no event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from events.models import DeliveryAttempt, DeliveryStatus, EventDelivery, EventSubscription
from events.services import delivery, recording
from events.services.delivery import _backoff
from project.dashboard import build_dashboard
from raffles import services
from tests.events.conftest import (
    assert_documented,
    deliveries,
    pass_time,
    pending_count,
    sweep_until_quiet,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order(subscribe, raffle, buyer):
    """One `order.paid` event waiting for its first attempt."""
    subscribe("order.paid")
    order = services.create_order_for_buyer(raffle=raffle, contact=buyer, numbers=[1, 2])
    services.confirm_payment(order=order)
    return order


def the_row() -> EventDelivery:
    (row,) = deliveries()
    return row


def test_an_event_reaches_the_receiver_signed_and_verified_by_the_reference_library(
    paid_order, receiver, admin_user
):
    row = the_row()

    delivery.deliver(delivery_id=row.pk)

    (received,) = receiver.requests
    assert received.verified, received.error
    assert received.headers["webhook-id"] == row.message_id
    assert received.headers["webhook-signature"].startswith("v1,")
    assert received.headers["content-type"] == "application/json"
    body = received.json
    assert list(body) == ["type", "timestamp", "data"]
    assert body["type"] == "order.paid"
    assert_documented(body)
    token = Token.objects.create(user=admin_user)
    api = Client(headers={"Authorization": f"Bearer {token.key}"})
    assert body["data"] == api.get(f"/api/v1/orders/{paid_order.pk}").json()
    row.refresh_from_db()
    assert (row.status, row.last_status_code, row.attempts) == (DeliveryStatus.DELIVERED, 200, 1)


def test_the_delivery_log_keeps_code_answer_duration_and_next_attempt(paid_order, receiver):
    receiver.answer_next(1, status=503, body=b"n8n is restarting" + b"." * 5000)

    delivery.deliver(delivery_id=the_row().pk)

    (attempt,) = DeliveryAttempt.objects.all()
    assert attempt.status_code == 503
    assert attempt.response_excerpt.startswith("n8n is restarting")
    assert len(attempt.response_excerpt) == 500  # only the start of a long answer
    assert attempt.duration_ms >= 0
    assert attempt.next_attempt_at is not None and attempt.next_attempt_at > attempt.at
    assert attempt.error == "HTTP 503"


def test_a_failed_delivery_is_retried_with_the_same_webhook_id_until_it_is_answered_2xx(
    paid_order, receiver
):
    receiver.answer_next(2, status=500)
    row = the_row()

    delivery.deliver(delivery_id=row.pk)
    assert delivery.send_due() == 0  # not due yet: it waits for its backoff
    for _ in range(2):
        pass_time(timedelta(hours=2))
        sweep_until_quiet()

    assert [r.status for r in receiver.requests] == [500, 500, 200]
    assert {r.webhook_id for r in receiver.requests} == {row.message_id}
    assert all(r.verified for r in receiver.requests)
    assert len({r.body for r in receiver.requests}) == 1  # the same body every time
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 3)
    codes = list(DeliveryAttempt.objects.order_by("number").values_list("status_code", flat=True))
    assert codes == [500, 500, 200]


def test_retries_back_off_exponentially_with_jitter_up_to_the_cap(settings):
    settings.EVENTS_RETRY_BASE_SECONDS = 5
    settings.EVENTS_RETRY_MAX_SECONDS = 3600

    for attempt, ceiling in [(1, 5), (2, 10), (3, 20), (8, 640), (12, 3600), (60, 3600)]:
        waits = {_backoff(attempt).total_seconds() for _ in range(50)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits), (attempt, waits)
        assert len(waits) > 1  # jitter: receivers are not hit in lockstep


def test_about_three_days_of_retries_then_the_event_fails(paid_order, receiver, settings):
    settings.EVENTS_DISABLE_AFTER_HOURS = 1000  # this test is about the event, not the receiver
    receiver.answer_next(1000, status=502)
    row = the_row()
    assert row.retry_until - row.created_at == timedelta(hours=72)

    attempts = 0
    while the_row().status == DeliveryStatus.PENDING and attempts < 200:
        pass_time(timedelta(hours=1, minutes=1))
        attempts += sweep_until_quiet()

    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED
    assert "gave up after" in row.last_error
    assert 20 <= row.attempts <= 80  # backoff, not a retry every pass
    assert {r.webhook_id for r in receiver.requests} == {row.message_id}


def test_a_410_answer_disables_the_subscription_and_fails_its_waiting_events(
    paid_order, receiver, raffle, make_buyer
):
    other = services.create_order_for_buyer(raffle=raffle, contact=make_buyer(), numbers=[5])
    services.confirm_payment(order=other)
    first, second = deliveries()
    receiver.answer_next(1, status=410)

    delivery.deliver(delivery_id=first.pk)

    subscription = EventSubscription.objects.get()
    assert not subscription.active
    assert "410" in subscription.disabled_reason
    assert subscription.disabled_at is not None
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == DeliveryStatus.FAILED
    assert sweep_until_quiet() == 0
    assert len(receiver.requests) == 1
    assert build_dashboard().receivers_disabled == [subscription]


def test_a_receiver_failing_longer_than_the_limit_is_disabled_and_shown_on_the_dashboard(
    paid_order, receiver, settings
):
    settings.EVENTS_DISABLE_AFTER_HOURS = 6
    receiver.answer_next(1000, status=500)

    delivery.deliver(delivery_id=the_row().pk)
    subscription = EventSubscription.objects.get()
    assert subscription.failing_since is not None and subscription.active
    assert build_dashboard().receivers_failing == [subscription]
    for _ in range(8):
        pass_time(timedelta(hours=1, minutes=1))
        sweep_until_quiet()

    subscription.refresh_from_db()
    assert not subscription.active
    assert "no 2xx answer for 6 hours" in subscription.disabled_reason
    board = build_dashboard()
    assert board.receivers_disabled == [subscription]
    assert board.receivers_failing == []


def test_a_success_clears_the_failure_streak(paid_order, receiver):
    receiver.answer_next(1, status=500)
    delivery.deliver(delivery_id=the_row().pk)
    pass_time(timedelta(minutes=5))

    sweep_until_quiet()

    subscription = EventSubscription.objects.get()
    assert (subscription.failing_since, subscription.consecutive_failures) == (None, 0)
    assert subscription.last_success_at is not None


def test_a_receiver_down_for_a_while_loses_no_event_and_gets_each_once_when_back(
    subscribe, raffle, make_buyer, receiver
):
    subscribe("order.reserved", "order.paid")
    receiver.stop()
    for n in range(10):
        order = services.create_order_for_buyer(raffle=raffle, contact=make_buyer(), numbers=[n])
        services.confirm_payment(order=order)
    recorded = {row.message_id for row in deliveries()}
    assert len(recorded) == 20

    for _ in range(6):  # an hour or two of outage
        sweep_until_quiet()
        pass_time(timedelta(minutes=20))
    refused = len(EventSubscription.objects.get().deliveries.filter(attempts__gt=0))
    receiver.start()
    pass_time(timedelta(hours=1))
    sweep_until_quiet()

    assert refused < 20  # while it was down, a probe knocked, not every event
    assert pending_count() == 0
    assert {row.status for row in deliveries()} == {DeliveryStatus.DELIVERED}
    got = [r.webhook_id for r in receiver.accepted()]
    assert sorted(got) == sorted(recorded)  # every event, each once
    assert receiver.unverified() == []


def test_while_a_receiver_fails_one_event_probes_it_and_the_rest_wait(
    subscribe, raffle, make_buyer, receiver
):
    subscribe("order.reserved")
    receiver.answer_next(1000, status=503)
    for n in range(5):
        services.reserve_specific(raffle=raffle, numbers=[n], contact=make_buyer())

    attempted = delivery.send_due()

    assert attempted == 1
    assert len(receiver.requests) == 1
    assert pending_count() == 5


def test_the_first_2xx_after_an_outage_makes_every_waiting_event_due_at_once(
    subscribe, raffle, make_buyer, receiver
):
    subscribe("order.reserved")
    for n in range(3):
        services.reserve_specific(raffle=raffle, numbers=[n], contact=make_buyer())
    receiver.answer_next(3, status=500)
    for row in deliveries():  # each fails once and backs off on its own
        EventSubscription.objects.update(paused_until=None)
        delivery.deliver(delivery_id=row.pk)
    probe = deliveries()[0]
    EventDelivery.objects.filter(pk=probe.pk).update(next_attempt_at=timezone.now())
    EventSubscription.objects.update(paused_until=None)

    delivery.deliver(delivery_id=probe.pk)  # the receiver answers again

    assert EventDelivery.objects.filter(next_attempt_at__gt=timezone.now()).count() == 0
    assert sweep_until_quiet() == 2
    assert {row.status for row in deliveries()} == {DeliveryStatus.DELIVERED}


def test_a_redirect_is_not_followed(paid_order, receiver):
    receiver.answer_next(1, status=307)

    delivery.deliver(delivery_id=the_row().pk)

    assert len(receiver.requests) == 1
    row = the_row()
    assert (row.status, row.last_status_code) == (DeliveryStatus.PENDING, 307)


def test_an_unreachable_receiver_is_an_error_in_the_log_not_a_crash(subscribe, raffle, buyer):
    subscribe("order.reserved", url="http://127.0.0.1:9/nothing-listens-here")
    services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    delivery.deliver(delivery_id=the_row().pk)

    (attempt,) = DeliveryAttempt.objects.all()
    assert attempt.status_code is None
    assert "ConnectError" in attempt.error
    assert the_row().status == DeliveryStatus.PENDING


def test_two_workers_never_claim_the_same_row(paid_order):
    row = the_row()
    stale = the_row()
    now = timezone.now()

    assert delivery._claim(row, now) is True
    assert delivery._claim(stale, now) is False


def test_an_attempt_that_lost_its_lease_does_not_write_its_outcome(paid_order):
    row = the_row()
    delivery._claim(row, timezone.now())
    EventDelivery.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)  # taken over

    assert delivery._finish(row, status=DeliveryStatus.DELIVERED) is False
    assert the_row().status == DeliveryStatus.SENDING


def test_a_row_stuck_in_sending_is_taken_over_after_its_lease(paid_order, receiver):
    row = the_row()
    delivery._claim(row, timezone.now())  # a worker claimed it and died

    assert delivery.send_due() == 0
    pass_time(timedelta(minutes=2))
    assert delivery.send_due() == 1

    assert the_row().status == DeliveryStatus.DELIVERED
    assert len(receiver.accepted()) == 1


def test_sending_again_keeps_the_webhook_id_and_a_fresh_retry_window(paid_order, receiver):
    row = the_row()
    delivery.deliver(delivery_id=row.pk)
    pass_time(timedelta(days=10))

    assert delivery.send_again(delivery_ids=[row.pk]) == 1
    sweep_until_quiet()

    first, second = receiver.requests
    assert first.webhook_id == second.webhook_id == row.message_id
    assert first.body == second.body
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DELIVERED
    assert row.retry_until > timezone.now()


def test_a_test_event_goes_to_that_receiver_alone_and_verifies(subscribe, receiver):
    subscribe("order.paid", url="http://127.0.0.1:9/other")
    subscription = subscribe("order.paid")  # the receiver verifies with this one's secret

    test = recording.record_test(subscription=subscription)
    delivery.deliver(delivery_id=test.pk)

    (received,) = receiver.requests
    assert received.verified
    assert received.json["type"] == "webhook.test"
    assert received.json["data"]["subscription_id"] == subscription.pk
    assert EventDelivery.objects.count() == 1


def test_the_delivery_task_runs_after_the_change_commits(
    subscribe, raffle, buyer, receiver, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    subscribe("order.reserved")

    with django_capture_on_commit_callbacks(execute=True):
        services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
        assert receiver.requests == []  # nothing leaves before the commit

    assert [e["type"] for e in receiver.events()] == ["order.reserved"]
    assert the_row().status == DeliveryStatus.DELIVERED


def test_an_expiry_sweep_is_drained_by_one_task_after_commit(
    subscribe, raffle, make_buyer, receiver, settings, django_capture_on_commit_callbacks
):
    orders = [
        services.reserve_specific(raffle=raffle, numbers=[n], contact=make_buyer())
        for n in range(4)
    ]
    subscribe("order.expired")
    past = timezone.now() - timedelta(minutes=1)
    from raffles.models import Order, TicketNumber

    Order.objects.filter(pk__in=[o.pk for o in orders]).update(expires_at=past)
    TicketNumber.objects.filter(reserved_by_order__in=orders).update(reserved_until=past)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

    with django_capture_on_commit_callbacks(execute=True):
        services.expire_due()

    assert sorted(e["data"]["id"] for e in receiver.events()) == sorted(o.pk for o in orders)
