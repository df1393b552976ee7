"""Field types shared by the API schemas, so both layers print values the same way.

Money is a decimal string ("12.50"), never a float. Datetimes are ISO 8601 with an explicit
UTC offset ("2026-11-22T02:30:00.123456+00:00").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    WithJsonSchema,
)


def _datetime_str(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


Timestamp = Annotated[
    datetime,
    PlainSerializer(_datetime_str, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

MONEY_PATTERN = r"^\d{1,10}(\.\d{1,2})?$"
MONEY_SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": MONEY_PATTERN,
    "examples": ["10.00"],
}


def _money_string(value: object) -> object:
    # A JSON number would be a float on the way in: money arrives as a decimal string only.
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not re.fullmatch(MONEY_PATTERN, value):
        raise ValueError('money is a decimal string such as "10.00" (at most 2 decimals)')
    return Decimal(value)


Money = Annotated[
    Decimal,
    PlainSerializer(str, return_type=str, when_used="always"),
    WithJsonSchema(MONEY_SCHEMA),
]
"""An amount in a response: a decimal string."""

MoneyIn = Annotated[
    Decimal, Strict(False), BeforeValidator(_money_string), WithJsonSchema(MONEY_SCHEMA)
]
"""An amount in a request: a non-negative decimal string with at most 2 decimals."""

# Database ids: bounded so that an absurd id is a 422 from validation, not a database overflow.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]


def _iso_only(value: object) -> object:
    # Pydantic would read "0.5" or 1700000000 as Unix time; the API speaks ISO 8601 only.
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("expected an ISO 8601 datetime, e.g. 2026-11-22T10:00:00+00:00")
    return value


def _utc(value: datetime) -> datetime:
    # Without an offset it means UTC, the time zone everything is stored in. Any offset is
    # converted here: PostgreSQL refuses offsets beyond +/-15:59 that ISO 8601 allows.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


IsoDatetime = Annotated[datetime, Strict(False), BeforeValidator(_iso_only), AfterValidator(_utc)]
"""An input datetime: ISO 8601 only; without an offset it means UTC."""


def _json_integer(value: object) -> object:
    # JSON Schema counts 7.0 as an integer; `true` and "7" are not.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("expected an integer")
        return int(value)
    return value


def json_int(*, ge: int, le: int) -> Any:
    """An integer in a JSON body, as JSON Schema defines one, within [ge, le].

    The bounds sit inside the validator so the spec shows them as minimum/maximum.
    """
    return Annotated[int, Strict(False), Field(ge=ge, le=le), BeforeValidator(_json_integer)]


# Request bodies are JSON: `false` is not 0 and `"5"` is not 5. (Query strings stay lax: every
# value there is text.)
STRICT_BODY = ConfigDict(strict=True)
