"""List orders whose money Django cannot read back (they break every order list) and, with
`--cancel`, cancel them with an audited reason, releasing their numbers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from raffles import bounds
from raffles.errors import RaffleError
from raffles.services.repair import REASON, cancel_unfit_order
from raffles.stored_money import unfit_orders


class Command(BaseCommand):
    help = (
        "List orders whose unit price or total does not fit its column; --cancel cancels them "
        "(numbers released, amounts set to 0, the original amounts kept in the reason)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--cancel", action="store_true", help="Cancel the orders listed (default: only list)."
        )
        parser.add_argument(
            "--reason", default=REASON, help="Kept with each order and told to its buyer."
        )

    def handle(self, *args: Any, cancel: bool = False, reason: str = REASON, **options: Any):
        orders = unfit_orders()
        limit = bounds.order_total_max()
        if not orders:
            self.stdout.write("No order holds money that does not fit its column.")
            return
        self.stdout.write(
            f"{len(orders)} order(s) hold money that does not fit (a total holds at most {limit}):"
        )
        for order in orders:
            self.stdout.write(f"  {order.describe()}")
        if not cancel:
            self.stdout.write("Run again with --cancel to cancel them.")
            return
        refused = []
        for order in orders:
            try:
                cancel_unfit_order(order_id=order.id, reason=reason)
            except RaffleError as error:
                refused.append(f"order #{order.id}: {error}")
            else:
                self.stdout.write(f"repaired order #{order.id}")
        self.stdout.write(f"{len(orders) - len(refused)} order(s) repaired.")
        if refused:
            raise CommandError("Not repaired: " + "; ".join(refused))
