"""The one JSON representation shared with the Ninja API: dump the Ninja response schema."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from rest_framework import serializers


def dump(schema: type[Schema], obj: Any, request: Any = None) -> dict[str, Any]:
    """`obj` as the Ninja API prints it (`schema` validated from the object, JSON mode)."""
    http_request = getattr(request, "_request", request)
    return schema.model_validate(obj, context={"request": http_request}).model_dump(mode="json")


class SchemaSerializer(serializers.BaseSerializer):
    """A read-only DRF serializer that renders through a Ninja schema."""

    schema: type[Schema]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return dump(self.schema, instance, self.context.get("request"))


def schema_serializer(schema: type[Schema]) -> type[SchemaSerializer]:
    return type(f"{schema.__name__}Serializer", (SchemaSerializer,), {"schema": schema})
