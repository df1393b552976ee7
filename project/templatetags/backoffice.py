"""Template filters for the back office's own pages: money said the way the bot and CSV say it."""

from __future__ import annotations

from decimal import Decimal

from django import template

from raffles.formatting import money as format_money

register = template.Library()


@register.filter
def money(amount: Decimal | int | str | None, currency: str) -> str:
    """`{{ order.total_amount|money:order.raffle.currency }}` -> "15.000,00 ARS" in Spanish."""
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency)
