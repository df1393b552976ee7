"""Finishing touches on the generated OpenAPI document, so generated clients get it right.

Ninja's output is correct JSON Schema but trips client generators (openapi-python-client,
openapi-typescript): an optional body as `anyOf [X, null]` crashes a Python client called
without a body, a request field with a `default` becomes required in TypeScript, and unused
schemas become dead types. Each step below says which problem it removes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from project.errors import CODE_FOR_STATUS
from project.idempotency import HEADER as IDEMPOTENCY_HEADER
from project.idempotency import NOT_STORED

REF_PREFIX = "#/components/schemas/"
SERVERS = [{"url": "/", "description": "The server that serves this document."}]
REPLAYED_HEADER = {
    "description": (
        "`true` when this is the stored answer to an earlier request with the same "
        f"`{IDEMPOTENCY_HEADER}` (the work was not done again); absent otherwise."
    ),
    "schema": {"type": "string", "enum": ["true"]},
}
# Codes the API answers with that no domain error class declares.
OTHER_CODES = (
    "validation_error",
    "invalid_value",
    "idempotency_key_reused",
    "idempotency_key_in_use",
    "error",
)


def error_codes() -> list[str]:
    """Every `code` an error body can carry: the domain errors' codes, the codes used for bare
    HTTP statuses, and the API's own."""
    from events.errors import EventsError
    from raffles.errors import RaffleError

    codes = set(CODE_FOR_STATUS.values()) | set(OTHER_CODES)
    for base in (RaffleError, EventsError):
        codes |= {cls.code for cls in _subclasses(base)}
    return sorted(codes)


def _subclasses(cls: type) -> list[type]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_subclasses(sub))
    return found


def polish(schema: dict[str, Any]) -> dict[str, Any]:
    schema = json.loads(json.dumps(schema))  # plain JSON: string status codes, own copy
    schema["servers"] = copy.deepcopy(SERVERS)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    request_schemas: set[str] = set()
    for operation in _operations(schema):
        _optional_body_as_object(operation)
        request_schemas |= _request_refs(operation)
        if _honours_idempotency_key(operation):
            _document_replayed_header(operation)
    for name in request_schemas:
        _defaults_into_descriptions(components.get(name, {}))
    components["ErrorOut"]["properties"]["code"]["enum"] = error_codes()
    _drop_unreferenced(schema)
    return schema


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        operation
        for path_item in schema.get("paths", {}).values()
        for method, operation in path_item.items()
        if method in {"get", "put", "post", "patch", "delete"}
    ]


def _optional_body_as_object(operation: dict[str, Any]) -> None:
    # `anyOf [X, null]` for an optional body: generators type the body as X-or-None and then
    # serialise their "unset" marker. An optional body is `required: false` with schema X.
    body = operation.get("requestBody")
    if not body:
        return
    for media in body.get("content", {}).values():
        variants = media.get("schema", {}).get("anyOf")
        if variants and {"type": "null"} in variants and len(variants) == 2:
            (media["schema"],) = [v for v in variants if v != {"type": "null"}]
            body["required"] = False


def _request_refs(operation: dict[str, Any]) -> set[str]:
    body = operation.get("requestBody") or {}
    refs: set[str] = set()
    for media in body.get("content", {}).values():
        refs |= _refs_in(media.get("schema", {}))  # a union body names each branch
    return refs


def _defaults_into_descriptions(component: dict[str, Any]) -> None:
    # openapi-typescript makes a property with a `default` required (it reads the default as
    # "always present", true of responses, not of requests). The server applies the default;
    # the description tells the reader what it is.
    for prop in component.get("properties", {}).values():
        if "default" in prop:
            default = prop.pop("default")
            note = f"Default: `{json.dumps(default)}`."
            prop["description"] = (
                f"{prop['description']} {note}" if prop.get("description") else note
            )


def _honours_idempotency_key(operation: dict[str, Any]) -> bool:
    return any(
        p.get("in") == "header" and p.get("name") == IDEMPOTENCY_HEADER
        for p in operation.get("parameters", [])
    )


def _document_replayed_header(operation: dict[str, Any]) -> None:
    # The middleware stores and replays every answer but server errors and NOT_STORED ones.
    for status, response in operation.get("responses", {}).items():
        if status.isdigit() and int(status) < 500 and int(status) not in NOT_STORED:
            response.setdefault("headers", {})["Idempotent-Replayed"] = copy.deepcopy(
                REPLAYED_HEADER
            )


def _drop_unreferenced(schema: dict[str, Any]) -> None:
    # Query-parameter schemas (PageParams, OrderFilters...) end up as components although the
    # parameters are inlined: generators would emit types nothing uses.
    components = schema["components"]["schemas"]
    outside = {k: v for k, v in schema.items() if k != "components"}
    reachable: set[str] = set()
    pending = _refs_in(outside)
    while pending:
        name = pending.pop()
        if name in reachable or name not in components:
            continue
        reachable.add(name)
        pending |= _refs_in(components[name])
    for name in set(components) - reachable:
        del components[name]


def _refs_in(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            found.add(ref.removeprefix(REF_PREFIX))
        for value in node.values():
            found |= _refs_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs_in(value)
    return found
