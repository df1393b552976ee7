"""The spec as client generators read it (openapi-python-client, openapi-typescript): every
point here broke a generated client once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from project.spec import error_codes

REPO = Path(__file__).resolve().parents[2]
SPEC = json.loads((REPO / "openapi" / "openapi.json").read_text())
SCHEMAS = SPEC["components"]["schemas"]
METHODS = {"get", "post", "put", "patch", "delete"}
OPERATIONS = {
    operation["operationId"]: operation
    for item in SPEC["paths"].values()
    for method, operation in item.items()
    if method in METHODS
}


def refs(node) -> set[str]:
    text = json.dumps(node)
    return set(re.findall(r'"#/components/schemas/([^"]+)"', text))


def test_the_server_is_relative_so_generated_clients_take_a_base_url():
    assert [server["url"] for server in SPEC["servers"]] == ["/"]


def test_every_component_schema_is_used():
    outside = {key: value for key, value in SPEC.items() if key != "components"}
    used = refs(outside)
    pending = set(used)
    while pending:
        pending = refs([SCHEMAS[name] for name in pending]) - used
        used |= pending

    assert set(SCHEMAS) == used
    assert not {"ContactFilters", "OrderFilters", "PageParams", "TicketFilters"} & set(SCHEMAS)


@pytest.mark.parametrize("operation_id", ["orders_confirm_payment", "orders_cancel"])
def test_optional_bodies_are_optional_objects_not_nullable(operation_id):
    body = OPERATIONS[operation_id]["requestBody"]

    assert body["required"] is False
    schema = body["content"]["application/json"]["schema"]
    assert set(schema) == {"$ref"}
    assert SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]["type"] == "object"


def test_creating_an_order_is_one_of_two_real_objects():
    body = OPERATIONS["orders_create"]["requestBody"]["content"]["application/json"]["schema"]

    branches = [SCHEMAS[ref] for ref in refs(body)]
    assert len(body["oneOf"]) == len(branches) == 2
    for branch in branches:
        assert branch["type"] == "object"
        assert branch["additionalProperties"] is False
    assert sorted(tuple(sorted(b["required"])) for b in branches) == [
        ("numbers", "raffle_id", "wa_id"),
        ("qty", "raffle_id", "wa_id"),
    ]


def test_request_bodies_forbid_unknown_keys_and_require_only_what_has_no_default():
    request_schemas = set()
    for operation in OPERATIONS.values():
        request_schemas |= refs(operation.get("requestBody", {}))

    assert {"RaffleIn", "RafflePatch", "ConfirmIn", "CancelIn", "SubscriptionIn"} <= request_schemas
    for name in request_schemas:
        schema = SCHEMAS[name]
        assert schema["additionalProperties"] is False, name
        for prop, definition in schema["properties"].items():
            assert "default" not in definition, (name, prop)
    assert sorted(SCHEMAS["RaffleIn"]["required"]) == ["max_number", "ticket_price", "title"]
    assert "required" not in SCHEMAS["CancelIn"]
    assert 'Default: `"USD"`' in SCHEMAS["RaffleIn"]["properties"]["currency"]["description"]


def test_error_codes_are_an_enum_of_every_code_the_server_uses():
    enum = SCHEMAS["ErrorOut"]["properties"]["code"]["enum"]

    assert enum == error_codes()
    assert {"price_locked", "tickets_taken", "not_found", "method_not_allowed"} <= set(enum)
    # Codes written out in the source (ApiError, error_body) are in it too.
    written = set()
    for folder in ("project", "raffles", "events", "whatsapp"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text()
            written |= set(re.findall(r'ApiError\(\s*\w+,\s*"([a-z_]+)"', text))
            written |= set(re.findall(r'error_body\(\s*"([a-z_]+)"', text))
    assert written
    assert written <= set(enum)


def test_operations_that_take_an_idempotency_key_document_the_replayed_header():
    takers = [
        (name, operation)
        for name, operation in OPERATIONS.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    ]

    assert {"orders_create", "orders_confirm_payment", "orders_cancel", "raffles_create"} <= {
        name for name, _ in takers
    }
    for name, operation in takers:
        for status, response in operation["responses"].items():
            documented = "Idempotent-Replayed" in response.get("headers", {})
            assert documented == (status not in {"401", "403", "429"}), (name, status)


def test_the_proof_download_is_binary_octet_stream_first():
    content = OPERATIONS["orders_proof_file"]["responses"]["200"]["content"]

    assert next(iter(content)) == "application/octet-stream"
    assert all(media["schema"]["format"] == "binary" for media in content.values())


def test_the_confirm_description_lists_every_status_and_its_outcome():
    text = OPERATIONS["orders_confirm_payment"]["description"]

    for status, outcome in [
        ("PENDING_PAYMENT", "confirmed"),
        ("PAID", "unchanged"),
        ("EXPIRED", "numbers_lost"),
        ("CANCELLED", "invalid_transition"),
        ("DRAFT", "order_not_pending"),
    ]:
        line = next(line for line in text.splitlines() if f"`{status}`" in line)
        assert outcome in line, (status, line)


def test_the_served_spec_is_the_committed_one(client):
    served = client.get("/api/v1/openapi.json")

    assert served.status_code == 200
    assert served.json() == SPEC
