"""Deliver due events to webhook receivers: one sweeper pass (serve runs it every few seconds).

Safe to run concurrently with task workers and other sweepers: every row is claimed atomically.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from events.services.delivery import send_due


class Command(BaseCommand):
    help = "One pass of the events sweeper: attempt every due event delivery (up to --limit)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=500, help="Most rows this pass (500).")

    def handle(self, *args: Any, limit: int = 500, **options: Any) -> None:
        attempted = send_due(limit=limit)
        if options.get("verbosity", 1) >= 1:
            self.stdout.write(f"attempted {attempted} due event delivery(ies)")
