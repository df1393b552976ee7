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

# The common part of every money field in the spec; each adds the pattern of its own bounds.
MONEY_SCHEMA = {"type": "string", "format": "decimal", "examples": ["10.00"]}


def money_pattern(*, integer_digits: int, decimal_places: int) -> str:
    """A non-negative decimal string with at most that many digits on each side."""
    return rf"^\d{{1,{integer_digits}}}(\.\d{{1,{decimal_places}}})?$"


def _money_string(value: object, pattern: str) -> object:
    # A JSON number would be a float on the way in: money arrives as a decimal string only.
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise ValueError(
            'money is a decimal string such as "10.00" (at most 2 decimals), within its bounds'
        )
    return Decimal(value)


def _money_text(value: Decimal) -> str:
    # Fixed-point always: str() would print a Decimal such as 1E+2 in exponent notation,
    # which no money pattern allows.
    return format(value, "f")


def money_out(*, max_digits: int, decimal_places: int, description: str = "") -> Any:
    """An amount in a response, read from a column of `max_digits`/`decimal_places`: the spec's
    pattern allows every value the column can hold, so no stored amount fails it."""
    pattern = money_pattern(
        integer_digits=max_digits - decimal_places, decimal_places=decimal_places
    )
    schema = {**MONEY_SCHEMA, "pattern": pattern}
    if description:
        schema["description"] = description
    return Annotated[
        Decimal,
        PlainSerializer(_money_text, return_type=str, when_used="always"),
        WithJsonSchema(schema),
    ]


def money_in(*, maximum: Decimal, decimal_places: int, description: str = "") -> Any:
    """An amount in a request: a non-negative decimal string of at most `decimal_places`
    decimals and at most `maximum`. The pattern allows as many integer digits as `maximum` has;
    a larger value with as many digits is refused by the validator (422 like the pattern)."""
    integer_digits = len(str(int(maximum)))
    pattern = money_pattern(integer_digits=integer_digits, decimal_places=decimal_places)

    def at_most(value: Decimal) -> Decimal:
        if value > maximum:
            raise ValueError(f"must be at most {maximum}")
        return value

    schema = {**MONEY_SCHEMA, "pattern": pattern}
    schema["description"] = description or f"At most {maximum}."
    return Annotated[
        Decimal,
        Strict(False),
        BeforeValidator(lambda value: _money_string(value, pattern)),
        AfterValidator(at_most),
        WithJsonSchema(schema),
    ]


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


# Request bodies are JSON: `false` is not 0 and `"5"` is not 5 (query strings stay lax: every
# value there is text), and a key the body does not know is a 422, as an unknown query parameter
# is: a misspelt field silently ignored would look like success to an integrator.
STRICT_BODY = ConfigDict(strict=True, extra="forbid")
