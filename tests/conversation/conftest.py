"""Fixtures for the bot: settings for the real pipeline, raffles, and a webhook chat driver."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import TestCase

APP_SECRET = "conversation-test-secret"
PHONE_NUMBER_ID = "106540352242922"
WEBHOOK_URL = "/whatsapp/webhook/"
_numbers = itertools.count(1)
# What a downloaded proof looks like: the magic bytes are what the services judge by.
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 a photo of a transfer"
PDF_BYTES = b"%PDF-1.4\n% a bank statement\n"


@pytest.fixture
def bot_settings(settings, tmp_path):
    """The real pipeline: signed webhook -> conversation handler -> outbox (not delivered)."""
    from whatsapp.services import inbound

    settings.WHATSAPP_APP_SECRET = APP_SECRET
    settings.WHATSAPP_PHONE_NUMBER_ID = PHONE_NUMBER_ID
    settings.WHATSAPP_ACCESS_TOKEN = ""
    settings.WHATSAPP_INBOUND_HANDLER = "conversation.handler.handle_inbound"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
    }
    settings.LANGUAGE_CODE = "en"
    inbound._import_handler.cache_clear()
    yield settings
    inbound._import_handler.cache_clear()


def make_raffle(**overrides):
    from raffles.services import create_raffle

    values = {
        "title": "Big Car Raffle",
        "ticket_price": Decimal("5.00"),
        "currency": "USD",
        "min_number": 0,
        "max_number": 99,
        "is_active": True,
        "max_tickets_per_order": 10,
        "payment_instructions": "Transfer to Bank 123-456.",
    }
    values.update(overrides)
    return create_raffle(**values)


def advance_deadlines(minutes: int, **orders) -> None:
    """The clock runs for the orders matching `orders` (all of them if empty): each running
    deadline, and its tickets' hold, moves `minutes` closer. The services read the real clock,
    so tests move the deadlines instead."""
    from raffles.models import Order, TicketNumber

    for order in Order.objects.filter(expires_at__isnull=False, **orders):
        deadline = order.expires_at - timedelta(minutes=minutes)
        Order.objects.filter(pk=order.pk).update(expires_at=deadline)
        TicketNumber.objects.filter(reserved_by_order=order, reserved_until__isnull=False).update(
            reserved_until=deadline
        )


@pytest.fixture
def raffle(db, bot_settings):
    return make_raffle()


def play_board_worker(callbacks) -> None:
    """Run the board requests a turn made on commit, as the task worker would (the test's
    transaction never commits, and the other on-commit work is not this harness's business)."""
    from conversation import board

    for callback in callbacks:
        if getattr(callback, "func", None) is board._enqueue_board:
            board.send_board_now(**callback.keywords)


class WebhookChat:
    """One buyer talking through signed webhook POSTs; answers are read from the outbox."""

    def __init__(self, client, wa_id: str, name: str = "Ana") -> None:
        self.client = client
        self.wa_id = wa_id
        self.name = name
        self.last_choices: list[tuple[str, str, bool]] = []

    # sending
    def _post(self, payload) -> str:
        from conversation.render import render_payload
        from tests.support.signing import signed_post
        from whatsapp.models import InboundMessage, InboundState, OutboundMessage

        before = OutboundMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with TestCase.captureOnCommitCallbacks() as callbacks:
            response = signed_post(self.client, payload)
        assert response.status_code == 200, response.content
        play_board_worker(callbacks)
        message_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        stored = InboundMessage.objects.get(wa_message_id=message_id)
        assert stored.state == InboundState.PROCESSED, stored.error
        replies = list(
            OutboundMessage.objects.filter(pk__gt=before, contact__wa_id=self.wa_id)
            .exclude(kind="read_receipt")
            .order_by("pk")
        )
        # One message per turn: the bot never bursts several messages at a buyer. The one
        # exception is the board picture, which comes right before the reply.
        pictures = [r for r in replies if r.kind == "image"]
        replies = [r for r in replies if r.kind != "image"]
        assert len(replies) == 1 and len(pictures) <= 1, [r.payload for r in replies]
        text, choices = render_payload(replies[0].payload)
        self.last_choices = choices
        shown = [render_payload(p.payload)[0] or "" for p in pictures]
        return "\n".join([*shown, text or ""])

    def say(self, text: str) -> str:
        from whatsapp.simulator import text_message_payload

        return self._post(text_message_payload(self.wa_id, text, name=self.name))

    def tap(self, reply_id: str, title: str, *, is_row: bool) -> str:
        from whatsapp.simulator import button_reply_payload, list_reply_payload

        builder = list_reply_payload if is_row else button_reply_payload
        return self._post(builder(self.wa_id, reply_id, title[:20], name=self.name))

    def media(self, kind: str, *, content: bytes | None = None) -> str:
        """Send a photo or a PDF. If the bot asks for the file, it is downloaded at once
        (`content`, by default a real JPEG or PDF), as the transport would after the answer;
        `content=b""` leaves the download pending."""
        from whatsapp.models import InboundMessage, MediaStatus
        from whatsapp.services.media import store_downloaded_media
        from whatsapp.simulator import document_payload, image_payload

        media_id = f"media-{next(_numbers)}"
        if kind == "image":
            payload = image_payload(self.wa_id, media_id=media_id, name=self.name)
        else:
            payload = document_payload(self.wa_id, media_id=media_id, name=self.name)
        answer = self._post(payload)
        if content is None:
            content = JPEG_BYTES if kind == "image" else PDF_BYTES
        message = InboundMessage.objects.get(media_id=media_id)
        if content and message.media_status == MediaStatus.PENDING:
            store_downloaded_media(message=message, content=content)
        return answer

    def other(self, kind: str) -> str:
        from whatsapp.simulator import message_payload

        bodies = {
            "sticker": {"type": "sticker", "sticker": {"id": "9", "mime_type": "image/webp"}},
            "location": {"type": "location", "location": {"latitude": -34.6, "longitude": -58.4}},
            "reaction": {"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "+"}},
            "audio": {"type": "audio", "audio": {"id": "7", "mime_type": "audio/ogg"}},
            "unsupported": {"type": "unsupported", "errors": [{"code": 131051}]},
        }
        return self._post(message_payload(self.wa_id, bodies[kind], name=self.name))

    def advance(self, minutes: int) -> None:
        """The buyer's clock runs: every running deadline of theirs moves `minutes` closer."""
        advance_deadlines(minutes, contact__wa_id=self.wa_id)

    # reading
    def state(self) -> str:
        from conversation.models import Conversation

        return Conversation.objects.get(contact__wa_id=self.wa_id).state

    def context(self) -> dict:
        from conversation.models import Conversation

        return Conversation.objects.get(contact__wa_id=self.wa_id).context

    def order(self):
        from raffles.models import Order

        return (
            Order.objects.filter(contact__wa_id=self.wa_id).order_by("-created_at", "-pk").first()
        )

    def order_status(self) -> str | None:
        order = self.order()
        return order.status if order else None

    def contact(self):
        from whatsapp.models import Contact

        return Contact.objects.get(wa_id=self.wa_id)

    def outbox(self) -> list[str]:
        """Every visible message queued for this buyer, oldest first, as text."""
        from conversation.render import render_payload
        from whatsapp.models import OutboundMessage

        rows = OutboundMessage.objects.filter(contact__wa_id=self.wa_id).order_by("pk")
        return [text for text, _ in map(render_payload, (r.payload for r in rows)) if text]


@pytest.fixture
def chat(client, bot_settings, db):
    return WebhookChat(client, "5491100000001")


@pytest.fixture
def other_chat(client, bot_settings, db):
    return WebhookChat(client, "5491100000002", name="Beto")
