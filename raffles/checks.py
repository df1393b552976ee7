"""`manage.py check --database default`: stored orders whose money Django cannot read back
(they break every order list) and raffles whose largest order cannot record its total.

Tagged `database`, so it runs only when a database is named (and on `manage.py migrate`), not
on every command.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register

from raffles import bounds
from raffles.stored_money import unfit_orders, unfit_raffles

# Enough to act on; the repair command lists them all.
_LISTED = 20


@register(Tags.database)
def stored_money(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Any]:
    messages: list[CheckMessage] = []
    for alias in databases or []:
        messages += _orders(alias) + _raffles(alias)
    return messages


def _orders(alias: str) -> list[CheckMessage]:
    orders = unfit_orders(using=alias)
    limit = bounds.order_total_max()
    hint = (
        "List them with `manage.py repair_order_money`; `manage.py repair_order_money --cancel` "
        "cancels them with an audited reason and releases their numbers."
    )
    messages: list[CheckMessage] = [
        Error(
            f"{order.describe()} does not fit its column (an order's total holds at most "
            f"{limit}): every order list that includes it fails.",
            hint=hint,
            id="raffles.E001",
        )
        for order in orders[:_LISTED]
    ]
    if len(orders) > _LISTED:
        messages.append(
            Error(
                f"... and {len(orders) - _LISTED} more such orders.", hint=hint, id="raffles.E001"
            )
        )
    return messages


def _raffles(alias: str) -> list[CheckMessage]:
    return [
        Warning(
            f"Raffle #{raffle.id} ({raffle.title!r}): {raffle.refusal} Larger orders are refused "
            "with `order_total_too_large`.",
            hint=(
                f"Lower its price (at most {bounds.ticket_price_max()}) or its maximum per order "
                f"(at most {raffle.refusal.max_qty} at this price)."
            ),
            id="raffles.W001",
        )
        for raffle in unfit_raffles(using=alias)
    ]
