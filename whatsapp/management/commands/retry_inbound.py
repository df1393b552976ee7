"""Re-run the inbound handler for messages it failed on, and re-drive failed media downloads."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from whatsapp.services.inbound import retry_inbound
from whatsapp.services.media import retry_failed_media


class Command(BaseCommand):
    help = "Hand FAILED inbound messages to the handler again (and --media: retry downloads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Only these message ids.")
        parser.add_argument("--limit", type=int, default=100)
        parser.add_argument("--media", action="store_true", help="Retry failed media downloads.")

    def handle(self, *args: object, **options: object) -> None:
        if options["media"]:
            count = retry_failed_media(limit=int(options["limit"]))
            self.stdout.write(f"enqueued {count} media downloads")
            return
        ids = options["ids"] or None
        try:
            result = retry_inbound(message_ids=ids, limit=int(options["limit"]))
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"processed {len(result.processed)}, still failing {len(result.failed)}")
        if result.failed:
            raise CommandError(f"still failing: {', '.join(map(str, result.failed))}")
