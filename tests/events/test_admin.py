"""The back office: subscriptions with their secret shown once, a delivery log per subscription,
"send again", "send a test event", and disabled receivers on the landing page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from events.models import DeliveryStatus, EventDelivery, EventSubscription
from events.services import delivery
from events.services.subscriptions import disable_subscription
from raffles import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pass-word-1")
    client.force_login(user)
    return user


def change_url(sub: EventSubscription) -> str:
    return reverse("admin:events_eventsubscription_change", args=[sub.pk])


def test_adding_a_subscription_shows_its_secret_once(client, operator, receiver):
    response = client.post(
        reverse("admin:events_eventsubscription_add"),
        {
            "url": receiver.url,
            "description": "Cashier sheet",
            "event_types": ["order.paid", "proof.received"],
            "active": "on",
        },
    )

    sub = EventSubscription.objects.get()
    assert response.status_code == 200
    assert sub.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert sub.event_types == ["order.paid", "proof.received"]
    later = client.get(change_url(sub)).content.decode()
    assert sub.secret not in later
    assert sub.secret[:10] in later  # the hint, to tell secrets apart


def test_the_admin_refuses_a_receiver_that_is_not_http(client, operator):
    response = client.post(
        reverse("admin:events_eventsubscription_add"),
        {"url": "file:///etc/passwd", "event_types": ["order.paid"], "active": "on"},
    )

    assert response.status_code == 200
    assert "only http:// and https:// URLs are allowed" in response.content.decode()
    assert EventSubscription.objects.count() == 0


def test_send_a_test_event_queues_one_for_that_receiver(client, operator, subscription, receiver):
    response = client.post(
        reverse("admin:events_eventsubscription_send_test", args=[subscription.pk])
    )

    assert response.status_code == 302
    (test,) = EventDelivery.objects.all()
    assert test.event_type == "webhook.test"
    delivery.deliver(delivery_id=test.pk)
    assert receiver.requests[0].verified


def test_the_change_page_shows_the_delivery_log_with_code_answer_and_duration(
    client, operator, subscribe, receiver, raffle, buyer
):
    sub = subscribe("order.reserved")
    services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    receiver.answer_next(1, status=502, body=b"Bad gateway from the proxy")
    delivery.deliver(delivery_id=EventDelivery.objects.get().pk)

    html = client.get(change_url(sub)).content.decode()

    log = html[html.index('id="delivery-log"') :]
    assert "order.reserved" in log
    assert "502" in log
    assert "Bad gateway from the proxy" in log
    assert re.search(r"<td>\d+</td><td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>", log)  # ms, next
    assert 'id="send-test-event"' in html


def test_send_again_requeues_failed_events_with_the_same_webhook_id(
    client, operator, subscribe, receiver, raffle, buyer
):
    subscribe("order.reserved")
    services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    row = EventDelivery.objects.get()
    EventDelivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.FAILED)

    response = client.post(
        reverse("admin:events_eventdelivery_changelist"),
        {"action": "send_again", "_selected_action": [row.pk]},
    )
    delivery.send_due()

    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DELIVERED
    assert receiver.requests[0].webhook_id == row.message_id


def test_the_send_again_button_on_one_event(client, operator, subscribe, raffle, buyer):
    subscribe("order.reserved")
    services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    row = EventDelivery.objects.get()
    EventDelivery.objects.filter(pk=row.pk).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None
    )
    page = client.get(reverse("admin:events_eventdelivery_change", args=[row.pk]))

    client.post(reverse("admin:events_eventdelivery_send_again", args=[row.pk]))

    assert 'id="send-again"' in page.content.decode()
    row.refresh_from_db()
    assert row.status == DeliveryStatus.PENDING and row.next_attempt_at is not None


def test_an_operator_without_the_permission_cannot_send_test_events(
    client, django_user_model, subscription
):
    cashier = django_user_model.objects.create_user("cashier", is_staff=True)
    cashier.user_permissions.add(Permission.objects.get(codename="view_eventsubscription"))
    client.force_login(cashier)

    response = client.post(
        reverse("admin:events_eventsubscription_send_test", args=[subscription.pk])
    )

    assert response.status_code == 403
    assert EventDelivery.objects.count() == 0


def test_a_disabled_receiver_is_on_the_landing_page(client, operator, subscription):
    from django.utils import timezone

    disable_subscription(
        subscription_id=subscription.pk, reason="the receiver answered 410 Gone", now=timezone.now()
    )

    html = client.get(reverse("admin:index")).content.decode()

    card = html[html.index('id="webhook-receivers"') :]
    assert "the receiver answered 410 Gone" in card
    assert change_url(subscription) in card


def test_healthy_receivers_leave_the_landing_page_quiet(client, operator, subscription):
    html = client.get(reverse("admin:index")).content.decode()

    assert "Every receiver answers." in html
