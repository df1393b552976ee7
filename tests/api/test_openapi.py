"""The spec is a product: valid OpenAPI 3, committed, readable operation ids, no drift."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openapi_spec_validator import validate

from project.management.commands.export_openapi_schema import render_schema

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "openapi" / "openapi.json"
WORKFLOW = REPO / "openapi" / "n8n-example-workflow.json"
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(render_schema())


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_the_spec_is_valid_openapi_3(spec):
    validate(spec)

    assert spec["openapi"].startswith("3.")


def test_the_committed_spec_is_what_the_code_generates():
    assert COMMITTED.read_text(encoding="utf-8") == render_schema(), (
        "openapi/openapi.json is stale: run `uv run manage.py export_openapi_schema`"
    )


def test_the_drift_check_fails_with_a_clear_message_on_a_stale_file(tmp_path):
    stale = tmp_path / "openapi.json"
    stale.write_text('{"openapi": "3.1.0"}\n')

    with pytest.raises(CommandError, match="out of date"):
        call_command("export_openapi_schema", "--check", "--output", str(stale))


def test_the_export_writes_sorted_indented_json_that_then_passes_the_check(tmp_path):
    out = tmp_path / "spec.json"

    call_command("export_openapi_schema", "--output", str(out))
    call_command("export_openapi_schema", "--check", "--output", str(out))

    text = out.read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_every_operation_has_a_readable_id_summary_description_and_one_tag(spec):
    seen = set()
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        assert re.fullmatch(r"[a-z]+_[a-z_]+", operation["operationId"]), where
        assert operation["operationId"] not in seen, where
        seen.add(operation["operationId"])
        assert operation.get("summary"), where
        assert operation.get("description"), where
        assert len(operation.get("tags", [])) == 1, where


def test_every_operation_needs_the_token_and_documents_the_error_body(spec):
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        assert operation.get("security"), where
        for status in ("401", "403", "422"):
            body = operation["responses"][status]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ErrorOut"}, where


def test_posts_document_the_idempotency_key_header(spec):
    for path, method, operation in operations(spec):
        if method == "post":
            names = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
            assert ("header", "Idempotency-Key") in names, path


def test_the_operation_ids_n8n_workflows_rely_on_exist(spec):
    ids = {operation["operationId"] for _, _, operation in operations(spec)}

    assert {
        "raffles_list",
        "raffles_create",
        "raffles_get",
        "raffles_update",
        "raffles_delete",
        "raffles_availability",
        "raffles_tickets",
        "orders_list",
        "orders_create",
        "orders_get",
        "orders_confirm_payment",
        "orders_cancel",
        "orders_proof_file",
        "contacts_list",
        "contacts_get",
    } <= ids


def test_the_example_workflow_calls_paths_of_the_spec_with_header_auth(spec):
    workflow = json.loads(WORKFLOW.read_text())
    requests = [n for n in workflow["nodes"] if n["type"] == "n8n-nodes-base.httpRequest"]
    names = {n["name"] for n in workflow["nodes"]}

    called = set()
    for node in requests:
        assert node["parameters"]["genericAuthType"] == "httpHeaderAuth"
        path = node["parameters"]["url"].split("}}", 1)[1]
        path = re.sub(r"\{\{[^}]*\}\}", "{order_id}", path.removeprefix("/api/v1"))
        called.add((node["parameters"]["method"].lower(), path))
    for source, targets in workflow["connections"].items():
        assert source in names
        assert all(t["node"] in names for group in targets["main"] for t in group)

    spec_ops = {(method, path.removeprefix("/api/v1")) for path, method, _ in operations(spec)}
    assert called <= spec_ops
    assert ("post", "/orders/{order_id}/confirm-payment") in called
