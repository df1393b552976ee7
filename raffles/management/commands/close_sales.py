"""Close the sales of raffles whose cut-off has passed (cron; safe to run twice at once)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from raffles.services.sales import close_due_sales


class Command(BaseCommand):
    help = (
        "Close sales of every raffle past its cut-off (draw_at minus sales_cutoff_minutes) and "
        "publish the SHA-256 of its sorted sold numbers."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        closed = close_due_sales()
        for raffle_id in closed:
            self.stdout.write(f"closed sales of raffle {raffle_id}")
        self.stdout.write(f"{len(closed)} raffle(s) closed.")
