"""Talk to the bot from a terminal, through the same pipeline as a real WhatsApp message.

Each line becomes a signed Meta webhook payload handed to `receive_webhook`; the replies the bot
queued are read back from the outbox and printed with their buttons and list rows numbered.
Typing a number taps that button or row. `/help` lists the other shortcuts (files, operator
actions, moving the clock).
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any, TextIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from conversation.board import sending_boards_inline
from whatsapp.rendering import render_payload

SHORTCUTS = """\
  <text>            send a text message
  <n>               tap button / list row number n of the last reply; when the last reply
                    had no buttons, or its buttons are amounts (1, 2, 5), n is sent as typed
  /image, /pdf      send a photo or a PDF (a payment proof)
  /junk             send a "PDF" that is really text (the bot refuses it as a proof)
  /sticker, /location, /reaction   send other kinds of messages
  /confirm [note]   operator: confirm payment of your newest pending order
  /reject [reason]  operator: reject its newest payment proof
  /cancel [reason]  operator: cancel your live order
  /expire           the clock runs out: your live reservation expires now
  /remind           run the deadline reminder now
  /quit             leave (Ctrl-D works too)"""

_LOCAL_SECRET = "chat-local-secret"
# How often a waiting terminal looks for messages an operator's action queued.
POLL_SECONDS = 1.0
# What a buyer's photo and PDF look like to the services (they judge files by their first bytes).
SAMPLE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 a photo of a transfer"
SAMPLE_PDF = b"%PDF-1.4\n% a bank statement\n"


class Command(BaseCommand):
    help = "Chat with the bot in the terminal, as a WhatsApp buyer (same pipeline as the webhook)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--as", dest="wa_id", default="5491100000000", help="buyer's WA id")
        parser.add_argument("--name", default="Terminal Buyer", help="buyer's profile name")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="create an active demo raffle (00-99) first if none is active",
        )

    def handle(self, *args: Any, wa_id: str, name: str, demo: bool, **options: Any) -> None:
        from raffles import selectors

        self._migrate_if_needed()
        secret = settings.WHATSAPP_APP_SECRET or _LOCAL_SECRET
        with override_settings(WHATSAPP_APP_SECRET=secret):
            if demo:
                self._demo_raffle()
            if not selectors.active_raffles().exists():
                self.stdout.write("No raffle is active: the bot will say so (--demo creates one).")
            if settings.WHATSAPP_ACCESS_TOKEN and settings.WHATSAPP_PHONE_NUMBER_ID:
                self.stdout.write(
                    "Note: WhatsApp credentials are configured; a running task worker would try "
                    f"to deliver these replies to {wa_id}."
                )
            # No task worker here: the board picture is sent as soon as the turn commits.
            with sending_boards_inline():
                Session(wa_id=wa_id, name=name, secret=secret, out=self.stdout).loop(sys.stdin)

    def _migrate_if_needed(self) -> None:
        """A fresh checkout has an empty database: bring it up to date, as `serve` does."""
        from django.core.management import call_command
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            self.stdout.write("Applying database migrations first (as `serve` does)...")
            call_command("migrate", verbosity=0, interactive=False)

    def _demo_raffle(self) -> None:
        from raffles import selectors
        from raffles.services import create_raffle

        if selectors.active_raffles().exists():
            return
        create_raffle(
            title="Demo raffle",
            ticket_price=Decimal("5.00"),
            currency="USD",
            min_number=0,
            max_number=99,
            is_active=True,
            max_tickets_per_order=5,
            payment_instructions="Transfer to Demo Bank, account 0001-2345, ref. your order.",
        )
        self.stdout.write("Created an active demo raffle (00-99, 5.00 USD).")


class Session:
    """One terminal buyer: sends payloads, prints what the bot queued for them."""

    def __init__(self, *, wa_id: str, name: str, secret: str, out: Any) -> None:
        self.wa_id = wa_id
        self.name = name
        self.secret = secret
        self.out = out
        self.choices: list[tuple[str, str, bool]] = []
        self.seen = self._last_outbound_id()
        self.counter = 0
        # Messages for another business number are stored but never answered.
        self.extra = (
            {"phone_number_id": settings.WHATSAPP_PHONE_NUMBER_ID}
            if settings.WHATSAPP_PHONE_NUMBER_ID
            else {}
        )

    def loop(self, stdin: TextIO) -> None:
        self.out.write(f"Chatting as {self.wa_id}. Say hi; /help for shortcuts, /quit to leave.")
        interactive = stdin.isatty()
        while True:
            if interactive:
                self.out.write("you> ", ending="")
                self.out.flush()
                self._wait_for_input(stdin)
            line = stdin.readline()
            if not line:
                break
            text = line.rstrip("\n")
            if not text.strip():
                continue
            if not interactive:
                self.out.write(f"you> {text}")
            if text.strip() in ("/quit", "/exit"):
                break
            try:
                self.handle_line(text.strip())
            except CommandError as error:
                self.out.write(f"  ! {error}")
            self.print_replies()

    def _wait_for_input(self, stdin: TextIO) -> None:
        """While the buyer thinks, show what operators do meanwhile (a payment confirmed in the
        admin, a proof rejected) as it happens, not after the buyer's next message."""
        import select

        while not select.select([stdin], [], [], POLL_SECONDS)[0]:
            if self.print_replies(interrupting=True):
                self.out.write("you> ", ending="")
                self.out.flush()

    # --- input ---------------------------------------------------------------------------------
    def handle_line(self, text: str) -> None:
        from whatsapp import simulator

        if text == "/help":
            self.out.write(SHORTCUTS)
            return
        if text.startswith("/"):
            self.operator(text)
            return
        # A typed number taps that button or row, except when the choices are numbers
        # themselves (how many tickets): then "3" means three, as the buyer typed it.
        numeric_choices = any(title.isdigit() for _, title, _ in self.choices)
        if (
            text.isdigit()
            and not numeric_choices
            and self.choices
            and 1 <= int(text) <= len(self.choices)
        ):
            reply_id, title, is_row = self.choices[int(text) - 1]
            builder = simulator.list_reply_payload if is_row else simulator.button_reply_payload
            self.post(builder(self.wa_id, reply_id, title, name=self.name, **self.extra))
            return
        self.post(simulator.text_message_payload(self.wa_id, text, name=self.name, **self.extra))

    def operator(self, text: str) -> None:
        from whatsapp import simulator

        command, _, rest = text.partition(" ")
        self.counter += 1
        if command == "/image":
            media_id = f"chat-img-{self._stamp()}"
            self.post(
                simulator.image_payload(self.wa_id, media_id=media_id, name=self.name, **self.extra)
            )
            self.file_arrives(media_id, SAMPLE_JPEG)
        elif command in ("/pdf", "/junk"):
            media_id = f"chat-pdf-{self._stamp()}"
            self.post(
                simulator.document_payload(
                    self.wa_id, media_id=media_id, name=self.name, **self.extra
                )
            )
            self.file_arrives(media_id, SAMPLE_PDF if command == "/pdf" else b"just text")
        elif command == "/sticker":
            self.post(self._other({"type": "sticker", "sticker": {"id": "1", "animated": False}}))
        elif command == "/location":
            self.post(
                self._other({"type": "location", "location": {"latitude": 1, "longitude": 2}})
            )
        elif command == "/reaction":
            self.post(
                self._other(
                    {
                        "type": "reaction",
                        "reaction": {"message_id": "wamid.x", "emoji": "\U0001f44d"},
                    }
                )
            )
        elif command in ("/confirm", "/reject", "/cancel", "/expire"):
            self.operator_action(command, rest.strip())
        elif command == "/remind":
            from conversation.reminders import remind_pending_orders

            self.out.write(f"  (operator) {remind_pending_orders()} reminder(s) queued")
        else:
            raise CommandError(f"unknown shortcut {command}; /help lists them")

    def operator_action(self, command: str, note: str) -> None:
        from datetime import timedelta

        from django.utils import timezone

        from raffles import services
        from raffles.errors import RaffleError
        from raffles.models import LIVE_STATUSES, Order, OrderStatus, ProofStatus, TicketNumber
        from whatsapp.models import Contact

        contact = Contact.objects.filter(wa_id=self.wa_id).first()
        orders = Order.objects.filter(contact=contact).order_by("-created_at", "-pk")
        try:
            if command == "/confirm":
                order = orders.filter(status__in=[*LIVE_STATUSES, OrderStatus.EXPIRED]).first()
                if order is None:
                    raise CommandError("no order to confirm")
                services.confirm_payment(order=order, note=note)
            elif command == "/cancel":
                order = orders.filter(status__in=LIVE_STATUSES).first()
                if order is None:
                    raise CommandError("no live order to cancel")
                services.cancel_order(order=order, reason=note or "Cancelled by the operator")
            elif command == "/reject":
                order = orders.filter(proofs__status=ProofStatus.PENDING).first()
                if order is None:
                    raise CommandError("no payment proof waiting for review")
                proof = order.proofs.filter(status=ProofStatus.PENDING).first()
                services.reject_proof(proof=proof, reason=note or "The image is not readable")
            else:
                order = orders.filter(status__in=LIVE_STATUSES, expires_at__isnull=False).first()
                if order is None:
                    raise CommandError("no reservation with a running clock")
                past = timezone.now() - timedelta(seconds=1)
                Order.objects.filter(pk=order.pk).update(expires_at=past)
                TicketNumber.objects.filter(reserved_by_order=order).update(reserved_until=past)
                services.expire_due()
        except RaffleError as error:
            raise CommandError(str(error)) from error
        self.out.write(f"  (operator) {command[1:]} order #{order.pk}")

    def file_arrives(self, media_id: str, content: bytes) -> None:
        """Without credentials there is no Graph API to download from: the file the buyer sent
        arrives now, judged and stored exactly as a real download (if the bot asked for it)."""
        from whatsapp.models import InboundMessage, MediaStatus
        from whatsapp.services.media import store_downloaded_media

        if settings.WHATSAPP_ACCESS_TOKEN:
            return  # the real download runs in the task worker
        message = InboundMessage.objects.filter(media_id=media_id).first()
        # SKIPPED: local mode marks the download impossible at once; this is the file instead.
        if message is not None and message.media_status in (
            MediaStatus.PENDING,
            MediaStatus.SKIPPED,
        ):
            store_downloaded_media(message=message, content=content)

    # --- transport -----------------------------------------------------------------------------
    def _stamp(self) -> str:
        import time

        return f"{int(time.time() * 1000)}-{self.counter}"

    def _other(self, body: dict[str, Any]) -> dict[str, Any]:
        from whatsapp import simulator

        return simulator.message_payload(self.wa_id, body, name=self.name, **self.extra)

    def post(self, payload: dict[str, Any]) -> None:
        from whatsapp import simulator

        result = simulator.deliver(payload, secret=self.secret)
        if not result.accepted or result.failed:
            self.out.write(f"  ! webhook: {result.summary()}")

    def _last_outbound_id(self) -> int:
        from whatsapp.models import OutboundMessage

        last = OutboundMessage.objects.order_by("-pk").values_list("pk", flat=True).first()
        return last or 0

    def print_replies(self, *, interrupting: bool = False) -> bool:
        """Print the bot's messages not shown yet; True if there were any."""
        from whatsapp.models import OutboundMessage

        rows = list(
            OutboundMessage.objects.filter(contact__wa_id=self.wa_id, pk__gt=self.seen).order_by(
                "pk"
            )
        )
        if interrupting and rows:
            self.out.write("")  # off the waiting prompt's line
        shown = False
        for row in rows:
            self.seen = max(self.seen, row.pk)
            rendered, choices = render_payload(row.payload)
            if rendered is None:
                continue  # read receipts and other non-visible rows
            # A number typed after a plain text is a number, not a tap on an older button.
            self.choices = choices
            self.out.write("bot> " + rendered.replace("\n", "\n     "))
            shown = True
        return shown
