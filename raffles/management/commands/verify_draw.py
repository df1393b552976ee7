"""Recompute a raffle's draw from its published values and say whether it matches."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from raffles.errors import RaffleError
from raffles.models import Raffle
from raffles.services.draw import verify_draw


class Command(BaseCommand):
    help = (
        "Check RAFFLE's draw: the seed against its commitment, the sold numbers against their "
        "published hash, and the winners recomputed. Exits non-zero on any mismatch."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("raffle", type=int, help="The raffle's id.")

    def handle(self, *args: Any, **options: Any) -> None:
        raffle = Raffle.objects.filter(pk=options["raffle"]).first()
        if raffle is None:
            raise CommandError(f"No raffle {options['raffle']}.")
        try:
            report = verify_draw(raffle=raffle)
        except RaffleError as error:
            raise CommandError(f"{error.code}: {error}") from error
        for what, ok, detail in report.checks:
            self.stdout.write(f"{'OK  ' if ok else 'FAIL'} {what}: {detail}")
        if not report.ok:
            raise CommandError("The draw does NOT match its published values.")
        self.stdout.write(self.style.SUCCESS("The draw matches its published values."))
