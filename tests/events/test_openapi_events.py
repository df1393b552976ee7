"""The committed OpenAPI document describes every event receivers get, with a valid example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from events.types import EventType
from tests.events.conftest import assert_documented

SPEC = json.loads((Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text())


@pytest.mark.parametrize("event_type", EventType.values)
def test_every_event_type_is_documented_with_an_example_that_matches_its_schema(event_type):
    operation = SPEC["webhooks"][event_type]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]

    assert example["type"] == event_type
    assert operation["description"]
    assert_documented(example)


def test_the_signature_headers_and_the_answers_are_documented():
    operation = SPEC["webhooks"]["order.paid"]["post"]

    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert set(operation["responses"]) == {"2XX", "410", "default"}


def test_the_document_says_order_between_events_is_not_promised():
    overview = next(t for t in SPEC["tags"] if t["name"] == "events")["description"]

    assert "order in which events arrive is not promised" in overview
    assert "webhooks" in SPEC["info"]["description"]


def test_an_order_event_carries_the_same_schema_the_orders_api_returns():
    paid = SPEC["components"]["schemas"]["OrderPaidEvent"]
    get_order = SPEC["paths"]["/api/v1/orders/{order_id}"]["get"]["responses"]["200"]

    assert paid["properties"]["data"] == get_order["content"]["application/json"]["schema"]
