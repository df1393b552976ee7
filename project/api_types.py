"""Field types shared by the API schemas, so both layers print values the same way.

Money is a decimal string ("12.50"), never a float. Datetimes are ISO 8601 with an explicit
UTC offset ("2026-11-22T02:30:00.123456+00:00").
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer, WithJsonSchema


def _datetime_str(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


Timestamp = Annotated[
    datetime,
    PlainSerializer(_datetime_str, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

Money = Annotated[
    Decimal,
    PlainSerializer(str, return_type=str, when_used="always"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "decimal",
            "pattern": r"^\d{1,10}(\.\d{1,2})?$",
            "examples": ["10.00"],
        }
    ),
]

# Database ids: bounded so that an absurd id is a 422 from validation, not a database overflow.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]
