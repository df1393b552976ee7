"""Remind buyers a few minutes before their payment deadline (periodic, every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from conversation.reminders import remind_pending_orders


class Command(BaseCommand):
    help = "Queue one deadline reminder per pending order without a payment proof."

    def handle(self, *args: Any, **options: Any) -> None:
        sent = remind_pending_orders()
        if options["verbosity"] >= 1:
            self.stdout.write(f"{sent} reminder(s) queued")
