"""The n8n example workflow: importable shape (an id, a Webhook trigger, a branch per event type)
and its Code node's plain-JavaScript signature check, run under Node.js against real deliveries
signed by the server."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from events.services.delivery import body_of, signed_headers
from events.services.subscriptions import new_secret
from events.types import SUBSCRIBABLE, EventType
from tests.conftest import require

WORKFLOW = json.loads(
    (Path(__file__).resolve().parents[2] / "openapi" / "n8n-events-workflow.json").read_text()
)
NODES = {node["name"]: node for node in WORKFLOW["nodes"]}

# Runs the Code node the way n8n does: an async function with `this.helpers`, `$input`, `$env`
# and `$getWorkflowStaticData`, one case after another (static data is shared, as in n8n).
HARNESS = r"""
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const staticData = {};
(async () => {
  const results = [];
  for (const c of input.cases) {
    const context = { helpers: { getBinaryDataBuffer: async () => {
      if (!c.helper) throw new Error('no binary helper here');
      return Buffer.from(c.item.binary.data.data, 'base64');
    } } };
    const run = new Function('$input', '$env', '$getWorkflowStaticData',
      'return (async function () {\n' + input.code + '\n}).call(this);');
    const output = await run.call(context, { first: () => c.item },
      { RAFFLE_WEBHOOK_SECRET: c.secret }, () => staticData);
    results.push(output[0].json);
  }
  process.stdout.write(JSON.stringify(results));
})().catch((error) => { console.error(error); process.exit(1); });
"""


def node_binary() -> str | None:
    found = shutil.which("node")
    if found:
        return found
    try:  # Playwright (a dev dependency) ships a Node.js of its own
        from playwright._impl._driver import compute_driver_executable

        return str(compute_driver_executable()[0])
    except Exception:
        return None


def run_code_node(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = node_binary()
    require(node is not None, "Node.js (or Playwright's driver) runs the n8n Code node")
    code = NODES["Verify signature"]["parameters"]["jsCode"]
    done = subprocess.run(
        [node, "-e", HARNESS],
        input=json.dumps({"code": code, "cases": cases}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class FakeDelivery:
    """What `body_of` reads from a delivery row."""

    def __init__(self, event_type: str, message_id: str) -> None:
        self.event_type = event_type
        self.message_id = message_id
        self.occurred_at = timezone.now()


def signed_item(
    *, secret: str, data: Any, message_id: str = "msg_0001", raw: bool = True, **time: Any
) -> dict[str, Any]:
    """An n8n Webhook node item for one signed delivery, as the server makes it."""
    body = body_of(FakeDelivery("order.paid", message_id), data)
    at = timezone.now() + timedelta(**time)
    headers = signed_headers(secret=secret, message_id=message_id, body=body, at=at)
    item: dict[str, Any] = {"json": {"headers": headers, "body": json.loads(body)}}
    if raw:
        item["binary"] = {"data": {"data": base64.b64encode(body.encode()).decode()}}
    return item


DATA = {"id": 7, "buyer": {"name": "Añá Müller 🎟️"}, "numbers": [7, 8], "total_amount": "10.00"}


def test_the_workflow_has_an_id_a_webhook_trigger_and_a_branch_per_event_type():
    assert WORKFLOW["id"]
    trigger = NODES["Raffle event"]
    assert trigger["type"] == "n8n-nodes-base.webhook"
    assert trigger["parameters"]["httpMethod"] == "POST"
    assert trigger["parameters"]["options"]["rawBody"] is True
    assert NODES["Verify signature"]["type"] == "n8n-nodes-base.code"
    switch = NODES["By event type"]
    routed = [rule["outputKey"] for rule in switch["parameters"]["rules"]["values"]]
    assert set(SUBSCRIBABLE) | {EventType.TEST} <= set(routed)
    outputs = WORKFLOW["connections"]["By event type"]["main"]
    assert len(outputs) == len(routed) + 1  # and a fallback for types added later
    for source, targets in WORKFLOW["connections"].items():
        assert source in NODES
        assert all(t["node"] in NODES for group in targets["main"] for t in group)


def test_the_code_node_accepts_what_the_server_signs_and_refuses_everything_else():
    secret, other = new_secret(), new_secret()
    genuine = signed_item(secret=secret, data=DATA, message_id="msg_a")
    tampered = signed_item(secret=secret, data=DATA, message_id="msg_b")
    tampered["binary"]["data"]["data"] = base64.b64encode(
        base64.b64decode(tampered["binary"]["data"]["data"]).replace(b"10.00", b"99.00")
    ).decode()
    unsigned = signed_item(secret=secret, data=DATA, message_id="msg_c")
    del unsigned["json"]["headers"]["webhook-signature"]

    results = run_code_node(
        [
            {"secret": secret, "item": genuine, "helper": True},
            {"secret": other, "item": signed_item(secret=secret, data=DATA, message_id="msg_d")},
            {"secret": secret, "item": tampered},
            {"secret": secret, "item": signed_item(secret=secret, data=DATA, minutes=-10)},
            {"secret": secret, "item": unsigned},
        ]
    )

    assert [r["valid"] for r in results] == [True, False, False, False, False]
    assert results[0]["type"] == "order.paid"
    assert results[0]["data"] == DATA
    assert "wrong secret" in results[1]["reason"]
    assert "body was changed" in results[2]["reason"]
    assert "5 minutes" in results[3]["reason"]
    assert "missing" in results[4]["reason"]


def test_without_the_raw_body_the_parsed_body_printed_back_verifies_too():
    secret = new_secret()

    (result,) = run_code_node(
        [{"secret": secret, "item": signed_item(secret=secret, data=DATA, raw=False)}]
    )

    assert result["valid"], result["reason"]


def test_the_code_node_flags_a_webhook_id_it_has_seen_as_a_duplicate():
    secret = new_secret()
    first = signed_item(secret=secret, data=DATA, message_id="msg_same")
    retry = signed_item(secret=secret, data=DATA, message_id="msg_same")

    results = run_code_node([{"secret": secret, "item": first}, {"secret": secret, "item": retry}])

    assert [(r["valid"], r["duplicate"]) for r in results] == [(True, False), (True, True)]


@pytest.mark.django_db
def test_a_real_delivery_verifies_in_the_code_node(subscription, receiver, raffle, buyer):
    from events.models import EventDelivery
    from events.services import delivery
    from raffles import services

    order = services.create_order_for_buyer(raffle=raffle, contact=buyer, numbers=[1])
    services.confirm_payment(order=order)
    delivery.send_due()
    received = next(r for r in receiver.requests if r.json["type"] == "order.paid")
    item = {
        "json": {"headers": received.headers, "body": received.json},
        "binary": {"data": {"data": base64.b64encode(received.body).decode()}},
    }

    (result,) = run_code_node([{"secret": subscription.secret, "item": item, "helper": True}])

    assert result["valid"], result["reason"]
    assert result["data"]["id"] == order.pk
    assert EventDelivery.objects.filter(status="delivered").exists()
