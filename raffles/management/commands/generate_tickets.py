"""Create the missing numbers of a raffle's range (idempotent; safe to re-run after a crash)."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from raffles.errors import RaffleError
from raffles.models import Raffle
from raffles.services.generation import generate_tickets


class Command(BaseCommand):
    help = "Generate the missing ticket numbers of a raffle (refuses to drop taken numbers)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("raffle_id", type=int)

    def handle(self, *args: Any, raffle_id: int, **options: Any) -> None:
        raffle = Raffle.objects.filter(pk=raffle_id).first()
        if raffle is None:
            raise CommandError(f"No raffle with id {raffle_id}.")
        started = time.monotonic()
        show_bar = self.stdout.isatty() and options.get("verbosity", 1) > 0
        try:
            result = generate_tickets(raffle=raffle, progress=self._bar if show_bar else None)
        except RaffleError as err:
            raise CommandError(f"{err.code}: {err}") from err
        if show_bar:
            self.stdout.write("")
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Raffle {raffle.pk}: {result.created:,} numbers created, {result.deleted:,} removed, "
            f"{result.total:,} in range, ready={result.ready} ({elapsed:.1f}s)."
        )

    def _bar(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        sys.stdout.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * done // max(total, 1):3d}% "
            f"{done:,}/{total:,}"
        )
        sys.stdout.flush()
