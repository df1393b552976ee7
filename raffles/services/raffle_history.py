"""Recording raffle changes: the raffle's history row (who, what, before, after) and a log line,
in one place, inside the transaction of the change."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.utils import timezone

from raffles.models import ChangeSource, Raffle, RaffleChange, RaffleEvent

__all__ = ["field_values", "record_raffle_change", "what_changed"]

logger = logging.getLogger(__name__)


def field_values(raffle: Raffle, names: Iterable[str]) -> dict[str, Any]:
    """The raffle's values of `names`, as JSON can keep them (decimals and times as text)."""
    return {name: _plain(getattr(raffle, name)) for name in names}


def what_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`{"field": {"before": old, "after": new}}` for every field whose value differs."""
    return {
        name: {"before": before.get(name), "after": value}
        for name, value in after.items()
        if before.get(name) != value
    }


def record_raffle_change(
    *,
    raffle: Raffle,
    change: RaffleChange,
    changes: Mapping[str, Mapping[str, Any]] | None = None,
    source: ChangeSource | str = ChangeSource.OPERATOR,
    actor: Any = None,
    note: str = "",
) -> RaffleEvent:
    """Write the raffle's history row and log the change (inside the caller's transaction)."""
    actor = actor if getattr(actor, "pk", None) else None
    event = RaffleEvent.objects.create(
        raffle=raffle,
        raffle_pk=raffle.pk,
        raffle_title=raffle.title,
        change=change,
        changes=dict(changes or {}),
        at=timezone.now(),
        source=source,
        actor=actor,
        note=note,
    )
    logger.info(
        "raffle #%s %r %s by %s%s%s",
        raffle.pk,
        raffle.title,
        RaffleChange(change).label.lower(),
        getattr(actor, "username", None) or ChangeSource(source).label.lower(),
        f": {_describe(event.changes)}" if event.changes else "",
        f" ({note})" if note else "",
    )
    return event


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _describe(changes: Mapping[str, Mapping[str, Any]]) -> str:
    return ", ".join(
        f"{name} {_short(values.get('before'))} -> {_short(values.get('after'))}"
        for name, values in changes.items()
    )


def _short(value: Any, limit: int = 40) -> str:
    """A value for a log line: long texts (descriptions, bank details) cut, in full in the row."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
