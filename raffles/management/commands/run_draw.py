"""Run a raffle's draw from the shell: the same service as the admin and the API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from raffles.errors import RaffleError
from raffles.models import ChangeSource, Raffle
from raffles.services.draw import run_draw


class Command(BaseCommand):
    help = (
        "Draw RAFFLE (its id). A lottery raffle takes the published results in order "
        "(--result 4507 --result 1270); refused while orders wait for payment unless "
        "--cancel-unpaid. Running it again prints the same result."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("raffle", type=int, help="The raffle's id.")
        parser.add_argument(
            "--result",
            action="append",
            default=[],
            dest="results",
            help="A published lottery result, one per prize in order (repeat the option).",
        )
        parser.add_argument(
            "--cancel-unpaid",
            action="store_true",
            help="Cancel the orders still waiting for payment (their buyers are told).",
        )
        parser.add_argument("--by", help="Username recorded as who ran the draw.")

    def handle(self, *args: Any, **options: Any) -> None:
        raffle = Raffle.objects.filter(pk=options["raffle"]).first()
        if raffle is None:
            raise CommandError(f"No raffle {options['raffle']}.")
        by = None
        if options.get("by"):
            by = get_user_model().objects.filter(username=options["by"]).first()
            if by is None:
                raise CommandError(f"No user {options['by']!r}.")
        try:
            draw = run_draw(
                raffle=raffle,
                lottery_results=options["results"],
                cancel_unpaid=options["cancel_unpaid"],
                by=by,
                source=ChangeSource.OPERATOR,
            )
        except RaffleError as error:
            raise CommandError(f"{error.code}: {error}") from error
        self.stdout.write(f"Raffle {raffle.pk} {raffle.title!r} drawn at {draw.drawn_at}.")
        if draw.seed:
            self.stdout.write(f"seed {draw.seed} (commitment {draw.seed_commitment})")
        self.stdout.write(f"sold numbers {draw.sold_count}, sha256 {draw.sold_sha256}")
        for entry in draw.results:
            who = f"order #{entry['order_id']}" if entry["order_id"] else "the house keeps it"
            result = f" (result {entry['lottery_result']})" if entry["lottery_result"] else ""
            self.stdout.write(
                f"{entry['position']}. {entry['title']}: {entry['number'] or '-'}{result}, {who}"
            )
