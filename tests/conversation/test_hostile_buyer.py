"""A hostile buyer (then five of them) tries to freeze a 00-99 raffle on its launch night with
junk files, repeated rejections and many orders, through the real pipeline (signed webhooks,
the bot, the raffles services). Nothing they do keeps a number off sale past its deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from project.dashboard import build_dashboard
from raffles.invariants import assert_inventory_consistent
from raffles.models import Order, PaymentProof, ProofStatus, TicketStatus
from raffles.services import expire_due, reject_proof
from tests.conversation.conftest import WebhookChat, advance_deadlines, make_raffle
from tests.conversation.transcripts import run

pytestmark = pytest.mark.django_db

TTL = 30
GRACE = 5
PROOFS = 3
HELD = 10
JUNK = [
    b"not a receipt, just text named receipt.jpg",
    b"MZ\x90\x00 an executable with an image's name",
    b"<svg onload=alert(1)>",
]
LOOKS_FINE = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 a photo of a cat"


@pytest.fixture
def launch_night(bot_settings):
    bot_settings.RESERVATION_TTL_MINUTES = TTL
    bot_settings.PROOF_DOWNLOAD_GRACE_MINUTES = GRACE
    bot_settings.PAYMENT_PROOFS_PER_ORDER = PROOFS
    bot_settings.NUMBERS_HELD_PER_CONTACT_PER_RAFFLE = HELD
    bot_settings.LIVE_ORDERS_PER_CONTACT = 2
    return make_raffle(title="Launch night", max_number=99, max_tickets_per_order=100)


def hold(chat: WebhookChat, qty: int) -> Order:
    run(
        chat,
        [
            ("menu", "", None),
            ("#2", "How many numbers", "ASK_QTY"),
            (str(qty), "Reserved for you", "CONFIRM_RESERVATION"),
            ("#1", "Send a photo or PDF", "WAIT_PROOF", "PENDING_PAYMENT"),
        ],
    )
    return chat.order()


def held(raffle) -> int:
    return raffle.tickets.exclude(status=TicketStatus.AVAILABLE).count()


def the_clock_runs(minutes: int) -> None:
    """Time passes for everybody, and the periodic sweep runs."""
    advance_deadlines(minutes)
    expire_due()


def all_back_on_sale(raffle) -> bool:
    return raffle.tickets.filter(status=TicketStatus.AVAILABLE).count() == 100


def test_one_buyer_cannot_keep_numbers_past_their_deadlines(client, launch_night):
    raffle = launch_night
    chat = WebhookChat(client, "5491100000666", name="Mallory")

    # The whole raffle in one order: the site's cap answers first.
    run(chat, [("hi", "", "CHOOSE_MODE"), ("#2", "(1-10)", "ASK_QTY")])
    run(chat, [("100", "between 1 and 10", "ASK_QTY")])
    assert held(raffle) == 0

    # Junk files: each is refused by its content, the buyer is told why, the clock runs on.
    order = hold(chat, HELD)
    deadline = order.expires_at
    for junk in JUNK:
        chat.media("image", content=junk)
        order.refresh_from_db()
        assert order.expires_at is not None and order.expires_at <= deadline + timedelta(
            minutes=GRACE
        )
        assert "it is not a photo (JPEG, PNG or WebP) or a PDF" in chat.outbox()[-1]
    assert set(order.proofs.values_list("status", flat=True)) == {ProofStatus.REJECTED}
    answer = chat.media("image")  # a real photo now: one proof too many
    assert f"already has {PROOFS} payment proofs" in answer
    assert not Order.objects.get(pk=order.pk).is_under_review
    the_clock_runs(TTL + GRACE)
    assert all_back_on_sale(raffle)

    # Photos that look fine stop the clock until an operator rejects them; each rejection gives
    # one fresh deadline, and the proofs an order accepts bound how many.
    order = hold(chat, HELD)
    for _ in range(PROOFS):
        chat.media("image", content=LOOKS_FINE)
        assert Order.objects.get(pk=order.pk).is_under_review
        the_clock_runs(TTL * 10)  # the operator is busy: the numbers wait, listed for them
        assert held(raffle) == HELD
        proof = PaymentProof.objects.get(order=order, status=ProofStatus.PENDING)
        reject_proof(proof=proof, reason="That is a cat")
        assert "That is a cat" in chat.outbox()[-1]
    assert "already has" in chat.media("image", content=LOOKS_FINE)
    the_clock_runs(TTL)
    assert all_back_on_sale(raffle)

    # Many orders: cancelling and ordering again never holds more than the cap at a time.
    for _ in range(5):
        order = hold(chat, HELD)
        chat.media("pdf", content=JUNK[0])
        assert held(raffle) == HELD
        run(chat, [("cancel", "cancelled", None)])
        assert held(raffle) == 0
    hold(chat, HELD)
    the_clock_runs(TTL + GRACE)
    assert all_back_on_sale(raffle)
    assert_inventory_consistent(raffle)


def test_five_buyers_together_cannot_freeze_the_raffle(client, launch_night, bot_settings):
    bot_settings.REVIEW_WAITING_ALERT_MINUTES = 0
    raffle = launch_night
    other = make_raffle(title="Second raffle", max_number=99)
    third = make_raffle(title="Third raffle", max_number=99)
    chats = [WebhookChat(client, f"54911000007{n:02d}", name=f"Bot {n}") for n in range(5)]

    # Each holds the most one buyer may, sends junk, then a photo that looks fine.
    for chat in chats:
        hold_in(chat, raffle.title)
    for junk in JUNK[:2]:
        for chat in chats:
            chat.media("image", content=junk)
    for chat in chats:
        chat.media("image", content=LOOKS_FINE)
        assert "already has" in chat.media("image", content=LOOKS_FINE)
    # With that order under review, more orders elsewhere: two in progress at most.
    for chat in chats:
        hold_in(chat, other.title)
        chat.media("image", content=LOOKS_FINE)
        assert "orders in progress" in attempt_in(chat, third.title)
    assert (held(raffle), held(other), held(third)) == (5 * HELD, 5 * HELD, 0)

    # Stopped clocks wait for an operator, who sees every one of them on the landing page.
    the_clock_runs(TTL * 10)
    assert held(raffle) + held(other) == 10 * HELD
    assert build_dashboard().stalled_reviews_count == 10
    for proof in PaymentProof.objects.filter(status=ProofStatus.PENDING):
        reject_proof(proof=proof, reason="Not a transfer")
    for chat in chats:
        chat.media("image", content=JUNK[2])  # more junk: refused, the fresh deadline runs on

    the_clock_runs(TTL + GRACE)

    assert all_back_on_sale(raffle)
    assert all_back_on_sale(other)
    assert not Order.objects.filter(status__in=["DRAFT", "PENDING_PAYMENT"]).exists()
    assert_inventory_consistent()


def hold_in(chat: WebhookChat, title: str) -> None:
    """Reserve HELD random numbers in the raffle called `title` and confirm."""
    run(chat, [("menu", "", None), (title, "", "CHOOSE_MODE"), ("#2", "", "ASK_QTY")])
    run(chat, [(str(HELD), "Reserved for you", "CONFIRM_RESERVATION"), ("#1", "", "WAIT_PROOF")])


def attempt_in(chat: WebhookChat, title: str) -> str:
    run(chat, [("menu", "", None), (title, "", "CHOOSE_MODE"), ("#2", "", "ASK_QTY")])
    return chat.say("1")
