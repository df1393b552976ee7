"""Request bodies are JSON objects, on both API layers.

Ninja hands a single body parameter whatever JSON it was sent, and pydantic then reads a string
or a list as if it were the schema's attributes (`"hello"` renamed a raffle once). Parsing here
refuses any body that is not an object before a schema sees it, with an error that says so.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser


class BodyNotObject(ValueError):
    """The body is valid JSON, but not an object."""


class BodyNotJson(ValueError):
    """The body is not JSON at all."""


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a dict; BodyNotJson or BodyNotObject otherwise."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyNotJson(str(exc)) from exc
    if not isinstance(data, dict):
        raise BodyNotObject(f"a JSON {type(data).__name__ if data is not None else 'null'}")
    return data


def body_error(exc: Exception) -> tuple[str, dict[str, Any]]:
    """(detail, one validation error item) for a body that failed `parse_json_object`."""
    if isinstance(exc, BodyNotObject):
        return "The request body must be a JSON object.", {
            "loc": ["body"],
            "msg": "expected a JSON object",
            "type": "dict_type",
        }
    return "The request body is not valid JSON.", {
        "loc": ["body"],
        "msg": "invalid JSON",
        "type": "json_invalid",
    }


class ObjectBodyParser(Parser):
    """Ninja's parser, for JSON objects only."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        return parse_json_object(request.body)
