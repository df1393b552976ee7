"""n8n's HTTP Request node, "Response Contains Next URL": it follows `next` and re-adds the
node's own query parameters to every URL it follows. The README's setup (status +
`updated_after` + `page_size=1`) must list every order exactly once, on both layers, and the
links must not grow page after page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

ORDERS = 130


@pytest.fixture
def pending_orders(make_raffle, make_order) -> list[int]:
    raffle = make_raffle(max_number=ORDERS + 20)
    return [make_order(raffle=raffle, numbers=[n]).pk for n in range(1, ORDERS + 1)]


def walk_like_n8n(client: ApiClient, path: str, params: dict[str, str]) -> tuple[list[int], int]:
    """The ids on every page, and the longest URL requested."""
    node_query = urlencode(params)
    url = f"{path}?{node_query}"
    ids: list[int] = []
    longest = 0
    for _ in range(ORDERS * 2):  # a loop that never ends fails instead of hanging
        longest = max(longest, len(url))
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [order["id"] for order in body["results"]]
        if body["next"] is None:
            return ids, longest
        url = f"{body['next']}&{node_query}"  # what n8n does with the node's parameters
    pytest.fail("the walk did not end")


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/orders", "/api/orders/"])
def test_an_n8n_walk_lists_every_pending_order_exactly_once(api, pending_orders, path):
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    params = {"status": "PENDING_PAYMENT", "updated_after": since, "page_size": "1"}

    ids, longest = walk_like_n8n(api, path, params)

    assert sorted(ids) == sorted(pending_orders)
    assert len(ids) == len(set(ids)) == ORDERS
    first = len(f"http://testserver{path}?{urlencode(params)}&page=2&{urlencode(params)}")
    assert longest <= first + 2  # page=99 vs page=2: links do not grow with the walk


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/orders"])
def test_next_and_previous_carry_each_parameter_once_with_its_last_value(api, make_order, path):
    for n in range(1, 4):
        make_order(numbers=[n])

    body = api.get(f"{path}?page_size=1&status=PAID&status=PENDING_PAYMENT&page=2").json()

    assert body["count"] == 3
    assert body["next"] == (f"http://testserver{path}?page_size=1&status=PENDING_PAYMENT&page=3")
    assert body["previous"] == (
        f"http://testserver{path}?page_size=1&status=PENDING_PAYMENT&page=1"
    )


WORKFLOW = Path(__file__).resolve().parents[2] / "openapi" / "n8n-example-workflow.json"


def _node(name: str) -> dict:
    nodes = json.loads(WORKFLOW.read_text())["nodes"]
    return next(node for node in nodes if node["name"] == name)


def test_the_example_workflow_pages_by_next_url_and_its_settings_walk_every_order(
    api, pending_orders
):
    node = _node("List pending-payment orders")["parameters"]
    pagination = node["options"]["pagination"]["pagination"]
    params = {p["name"]: p["value"] for p in node["queryParameters"]["parameters"]}
    # The node's values, its n8n expression evaluated, and one order a page to walk far.
    assert params["updated_after"].startswith("={{ $now.minus(")
    params["updated_after"] = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    params["page_size"] = "1"

    ids, _ = walk_like_n8n(api, node["url"].split("}}", 1)[1], params)

    assert pagination["paginationMode"] == "responseContainsNextURL"
    assert pagination["nextURL"] == "={{ $response.body.next }}"
    assert "maxRequests" not in pagination  # no silent cut after some pages
    assert sorted(ids) == sorted(pending_orders)


def test_the_example_confirm_step_sends_the_same_key_and_body_in_every_execution():
    confirm = _node("Confirm payment")["parameters"]
    key = next(h["value"] for h in confirm["headerParameters"]["parameters"])

    assert "$json.id" in key
    assert "$execution" not in key + confirm["jsonBody"]
    assert "$now" not in key + confirm["jsonBody"]
