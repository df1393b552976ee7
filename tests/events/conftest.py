"""Fixtures for the events tests: a verifying receiver on 127.0.0.1, a subscription to it, a
small raffle with buyers, and a way to let time pass without sleeping."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import F
from model_bakery import baker
from openapi_schema_validator import OAS31Validator

from events.models import DeliveryStatus, EventDelivery, EventSubscription
from events.services import delivery
from events.services.subscriptions import create_subscription
from events.types import SUBSCRIBABLE
from project.management.commands.export_openapi_schema import render_schema
from raffles import services
from raffles.models import Raffle
from tests.support.webhook_receiver import WebhookReceiver
from whatsapp.models import Contact

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
IMMEDIATE_TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def events_settings(settings):
    """Tasks are only recorded (tests call `deliver` / `send_due` themselves); short timeouts."""
    settings.TASKS = DUMMY_TASKS
    settings.EVENTS_CONNECT_TIMEOUT_SECONDS = 2.0
    settings.EVENTS_HTTP_TIMEOUT_SECONDS = 5.0
    settings.EVENTS_BASE_URL = "https://raffles.example.com"
    return settings


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def subscribe(db, receiver) -> Callable[..., EventSubscription]:
    def make(*event_types: str, url: str | None = None, **fields: Any) -> EventSubscription:
        sub = create_subscription(
            url=url or receiver.url, event_types=event_types or SUBSCRIBABLE, **fields
        )
        receiver.secret = sub.secret
        return sub

    return make


@pytest.fixture
def subscription(subscribe) -> EventSubscription:
    """A subscription to every event type, pointing at the receiver."""
    return subscribe()


@pytest.fixture
def raffle(db) -> Raffle:
    raffle = services.create_raffle(
        title="Spring raffle",
        ticket_price=Decimal("5.00"),
        min_number=0,
        max_number=9,
        is_active=True,
        max_tickets_per_order=10,
    )
    raffle.refresh_from_db()
    return raffle


@pytest.fixture
def make_buyer(db) -> Callable[[], Contact]:
    counter = iter(range(1, 1_000_000))

    def make() -> Contact:
        n = next(counter)
        return baker.make(Contact, wa_id=f"54911{n:08d}", profile_name=f"Buyer {n}")

    return make


@pytest.fixture
def buyer(make_buyer) -> Contact:
    return make_buyer()


def pass_time(delta: timedelta) -> None:
    """As if `delta` had passed: every stored deadline and start moves back by it (the clock
    itself stays real, so signatures carry the real time receivers check)."""
    EventDelivery.objects.filter(next_attempt_at__isnull=False).update(
        next_attempt_at=F("next_attempt_at") - delta
    )
    EventDelivery.objects.update(
        retry_until=F("retry_until") - delta, created_at=F("created_at") - delta
    )
    EventSubscription.objects.filter(paused_until__isnull=False).update(
        paused_until=F("paused_until") - delta
    )
    EventSubscription.objects.filter(failing_since__isnull=False).update(
        failing_since=F("failing_since") - delta
    )


def sweep_until_quiet(max_passes: int = 50) -> int:
    """Run sweeper passes until one attempts nothing; how many attempts were made."""
    total = 0
    for _ in range(max_passes):
        attempted = delivery.send_due()
        total += attempted
        if not attempted:
            return total
    raise AssertionError("the sweeper never went quiet")


def deliveries(**filters: Any) -> list[EventDelivery]:
    return list(EventDelivery.objects.filter(**filters).order_by("id"))


def pending_count() -> int:
    return EventDelivery.objects.filter(status=DeliveryStatus.PENDING).count()


@functools.cache
def _spec() -> dict[str, Any]:
    return json.loads(render_schema())


def assert_documented(body: dict[str, Any]) -> None:
    """The body matches the schema the OpenAPI document gives its event type (`webhooks`)."""
    spec = _spec()
    request = spec["webhooks"][body["type"]]["post"]["requestBody"]
    ref = request["content"]["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    schema = {**spec["components"]["schemas"][name], "components": spec["components"]}
    OAS31Validator(schema).validate(body)
