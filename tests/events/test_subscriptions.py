"""Subscriptions: a Standard Webhooks secret each, receivers reachable over http(s) only, and
turning them on and off."""

from __future__ import annotations

import base64

import pytest
from standardwebhooks import Webhook

from events.errors import InvalidTargetUrl, UnknownEventTypes
from events.models import DeliveryStatus, EventDelivery
from events.services.subscriptions import (
    create_subscription,
    update_subscription,
    validate_event_types,
    validate_target_url,
)
from raffles import services
from tests.events.conftest import deliveries

pytestmark = pytest.mark.django_db


def test_each_subscription_gets_its_own_32_byte_whsec_secret():
    first = create_subscription(url="https://a.example/h", event_types=["order.paid"])
    second = create_subscription(url="https://a.example/h", event_types=["order.paid"])

    assert first.secret != second.secret
    assert first.secret.startswith("whsec_")
    assert len(base64.b64decode(first.secret.removeprefix("whsec_"))) == 32
    assert Webhook(first.secret).sign("msg_1", first.created_at, "{}").startswith("v1,")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://internal:70/",
        "http://",
        "https://user@n8n.example/hook",
        "http://n8n.example/with space",
        "http://n8n.example/\x00",
        "http://bad\udcff.example/",
        "https://" + "a" * 2000 + ".example/",
    ],
)
def test_only_plain_http_and_https_receivers_are_accepted(url):
    with pytest.raises(InvalidTargetUrl):
        validate_target_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://n8n.example.com/webhook/6f1c",
        "http://n8n:5678/webhook/raffles",
        "http://127.0.0.1:5678/webhook-test/x?source=raffles",
        "HTTPS://N8N.EXAMPLE/hook",
    ],
)
def test_receivers_on_the_same_network_or_the_internet_are_accepted(url):
    assert validate_target_url(f"  {url} ") == url


def test_event_types_are_kept_once_each_in_catalogue_order():
    assert validate_event_types(["order.paid", "order.reserved", "order.paid"]) == [
        "order.reserved",
        "order.paid",
    ]
    with pytest.raises(UnknownEventTypes) as error:
        validate_event_types(["order.paid", "raffle.won"])
    assert error.value.event_types == ["raffle.won"]
    with pytest.raises(UnknownEventTypes):
        validate_event_types([])


def test_turning_a_subscription_off_fails_its_waiting_events(raffle, buyer):
    sub = create_subscription(url="http://127.0.0.1:9/h", event_types=["order.reserved"])
    services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    update_subscription(subscription=sub, changes={"active": False})

    (row,) = deliveries()
    assert row.status == DeliveryStatus.FAILED
    assert "turned off by an operator" in row.last_error
    assert not sub.active


def test_turning_a_disabled_subscription_on_forgets_why_it_was_disabled():
    sub = create_subscription(url="http://127.0.0.1:9/h", event_types=["order.paid"], active=False)
    type(sub).objects.filter(pk=sub.pk).update(
        disabled_reason="the receiver answered 410 Gone", consecutive_failures=7
    )
    sub.refresh_from_db()

    update_subscription(subscription=sub, changes={"active": True})

    sub.refresh_from_db()
    assert sub.active
    assert (sub.disabled_reason, sub.consecutive_failures, sub.disabled_at) == ("", 0, None)
    assert EventDelivery.objects.count() == 0
