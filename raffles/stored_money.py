"""Finding stored money that breaks reading: orders whose amounts don't fit their columns, and
raffles whose largest order couldn't record its total.

SQLite does not enforce a decimal column's declared size, so an order stored before the money
bounds may hold a total Django refuses to read: loading it raises, and with it every list that
includes it. These readers use raw SQL, which returns the stored value as it is, and then make
the same test as Django's decimal converter (`raffles.bounds.fits`). PostgreSQL enforces the
sizes, so there the orders' part finds nothing; the raffles' part applies to both.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from django.db import connections

from raffles import bounds
from raffles.errors import OrderTotalTooLarge
from raffles.models import Order, Raffle

# Rows whose amount is below this share of the column's largest value cannot be a problem;
# the SQL keeps only the others (with room for SQLite's floating-point rounding), Python
# decides exactly.
_CANDIDATE_SHARE = Decimal("0.9")


@dataclass(frozen=True)
class UnfitOrder:
    """An order at least one of whose amounts Django cannot read back."""

    id: int
    raffle_id: int
    status: str
    qty: int
    unit_price: Decimal
    total_amount: Decimal

    def describe(self) -> str:
        return (
            f"Order #{self.id} ({self.status}, raffle #{self.raffle_id}): {self.qty} x "
            f"{self.unit_price} = {self.total_amount}"
        )


@dataclass(frozen=True)
class UnfitRaffle:
    """A raffle whose price times its maximum per order is more than an order can record."""

    id: int
    title: str
    ticket_price: Decimal
    max_tickets_per_order: int
    refusal: OrderTotalTooLarge


def unfit_orders(*, using: str = "default", order_ids: list[int] | None = None) -> list[UnfitOrder]:
    """Orders whose unit price or total does not fit its column, by id (optionally only those
    of `order_ids`)."""
    connection = connections[using]
    table = Order._meta.db_table
    if table not in connection.introspection.table_names():
        return []  # `check` may run before the first migration
    unit, total = bounds.unit_price_field(), bounds.order_total_field()
    sql = (
        f"SELECT id, raffle_id, status, qty, {unit.column}, {total.column} FROM {table} "
        f"WHERE (ABS({total.column}) >= %s OR ABS({unit.column}) >= %s)"
    )
    params: list[Any] = [
        _sql_number(connection, bounds.largest_storable(total) * _CANDIDATE_SHARE),
        _sql_number(connection, bounds.largest_storable(unit) * _CANDIDATE_SHARE),
    ]
    if order_ids is not None:
        if not order_ids:
            return []
        sql += f" AND id IN ({', '.join(['%s'] * len(order_ids))})"
        params.extend(order_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY id", params)
        rows = cursor.fetchall()
    found = []
    for pk, raffle_id, status, qty, unit_price, total_amount in rows:
        unit_price = _as_decimal(unit_price, unit.decimal_places)
        total_amount = _as_decimal(total_amount, total.decimal_places)
        if not (bounds.fits(unit, unit_price) and bounds.fits(total, total_amount)):
            found.append(UnfitOrder(pk, raffle_id, status, qty, unit_price, total_amount))
    return found


def unfit_raffles(*, using: str = "default") -> list[UnfitRaffle]:
    """Raffles whose largest order (price times maximum per order) could not record its total:
    their buyers' large orders are refused with `order_total_too_large`."""
    connection = connections[using]
    table = Raffle._meta.db_table
    if table not in connection.introspection.table_names():
        return []
    sql = (
        f"SELECT id, title, ticket_price, max_tickets_per_order FROM {table} "
        "WHERE ticket_price * max_tickets_per_order >= %s ORDER BY id"
    )
    limit = bounds.order_total_max()
    with connection.cursor() as cursor:
        cursor.execute(sql, [_sql_number(connection, limit * _CANDIDATE_SHARE)])
        rows = cursor.fetchall()
    found = []
    for pk, title, price, per_order in rows:
        price = _as_decimal(price, bounds.ticket_price_field().decimal_places)
        try:
            bounds.check_order_total(unit_price=price, qty=per_order)
        except OrderTotalTooLarge as refusal:
            found.append(UnfitRaffle(pk, title, price, per_order, refusal))
    return found


def _sql_number(connection: Any, value: Decimal) -> Any:
    # SQLite would compare a Decimal parameter (sent as text) as text: numbers always sort
    # before text there. A float compares as a number; the share leaves room for its rounding.
    return float(value) if connection.vendor == "sqlite" else value


def _as_decimal(raw: Any, places: int) -> Decimal:
    """The stored value as Django's SQLite converter reads it (15 significant digits for a
    float, then rounded to the field's decimals), but without its size limit; exactly for
    PostgreSQL's Decimal and SQLite's integers and text."""
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, float):
        value = Context(prec=15).create_decimal_from_float(raw)
    else:
        value = Decimal(str(raw))
    return value.quantize(Decimal(1).scaleb(-places), context=Context(prec=40))
