"""Fetching the one row a unique lookup names."""

from __future__ import annotations

from typing import Any

from django.db import models


def one_or_none[M: models.Model](
    queryset: models.QuerySet[M] | models.Manager[M], **lookups: Any
) -> M | None:
    """The row matching a unique lookup (a pk, a unique column), or None.

    `filter(...).first()` says the same but sorts by the model's default ordering (or the pk)
    before taking the row; on the bot's per-message lookups that ORDER BY costs the ORM more
    than the query costs the database. `get()` has none.
    """
    try:
        return queryset.get(**lookups)
    except queryset.model.DoesNotExist:
        return None
