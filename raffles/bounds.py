"""The money bounds of raffles and orders, read back from the model fields that declare them.

`raffles.models` states each bound once: the largest ticket price and order size as validators
on `Raffle`'s fields, the largest total as the size of `Order.total_amount`'s column. The API
schemas (and so the committed spec), the admin and the services' guards read them here. The
models are looked up in the app registry, not imported: `Raffle.clean` calls back into
`check_order_total`, and the two modules must not import each other.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.apps import apps
from django.core.validators import MaxValueValidator
from django.db import models

from raffles.errors import OrderTotalTooLarge


def _field(model: str, name: str) -> models.Field:
    return apps.get_model("raffles", model)._meta.get_field(name)


def largest_storable(field: models.DecimalField) -> Decimal:
    """The largest amount the field's column holds: 99...9.99 for `max_digits`/`decimal_places`."""
    cent = Decimal(1).scaleb(-field.decimal_places)
    return Decimal(10) ** (field.max_digits - field.decimal_places) - cent


def fits(field: models.DecimalField, value: Decimal) -> bool:
    """Django can read `value` back from the field's column: rounded to the field's decimals it
    has at most `max_digits` digits (the test Django's own decimal converter makes)."""
    cent = Decimal(1).scaleb(-field.decimal_places)
    try:
        value.quantize(cent, context=field.context)
    except InvalidOperation:
        return False
    return True


def max_value(field: models.Field) -> Decimal | int:
    """The limit of the field's `MaxValueValidator`."""
    for validator in field.validators:
        if isinstance(validator, MaxValueValidator):
            return validator.limit_value
    raise LookupError(f"{field} declares no MaxValueValidator")


def ticket_price_field() -> models.DecimalField:
    return _field("Raffle", "ticket_price")


def ticket_price_max() -> Decimal:
    """The highest price a raffle may be set to."""
    return Decimal(max_value(ticket_price_field()))


def tickets_per_order_max() -> int:
    """The highest `max_tickets_per_order` a raffle may be set to."""
    return int(max_value(_field("Raffle", "max_tickets_per_order")))


def order_total_field() -> models.DecimalField:
    return _field("Order", "total_amount")


def unit_price_field() -> models.DecimalField:
    return _field("Order", "unit_price")


def order_total_max() -> Decimal:
    """The largest total an order can record."""
    return largest_storable(order_total_field())


def check_order_total(*, unit_price: Decimal, qty: int) -> None:
    """Refuse (`OrderTotalTooLarge`) an order of `qty` numbers at `unit_price` whose total
    would not fit `Order.total_amount`. Also used for a raffle's price times its maximum per
    order, the largest order it allows."""
    limit = order_total_max()
    if Decimal(unit_price) * qty > limit:
        raise OrderTotalTooLarge(unit_price=Decimal(unit_price), qty=qty, limit=limit)
