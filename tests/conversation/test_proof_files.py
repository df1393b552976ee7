"""Files buyers send, through the real pipeline: only a payment proof is downloaded; a file that
cannot be used is refused with the reason in the buyer's language, and the deadline runs on."""

from __future__ import annotations

import pytest
from django.utils import translation

from raffles.models import OrderStatus, PaymentProof, ProofStatus
from tests.conversation.conftest import WebhookChat
from tests.conversation.transcripts import run
from whatsapp.models import InboundMessage, MediaStatus
from whatsapp.signals import media_failed

pytestmark = pytest.mark.django_db

TEXT_FILE = b"Transfer done, trust me"


def reach_wait_proof(chat: WebhookChat) -> None:
    run(
        chat,
        [
            ("hi", "", "CHOOSE_MODE"),
            ("#2", "", "ASK_QTY"),
            ("2", "Reserved for you", "CONFIRM_RESERVATION"),
            ("#1", "", "WAIT_PROOF", "PENDING_PAYMENT"),
        ],
    )


def last_message(chat: WebhookChat) -> InboundMessage:
    return InboundMessage.objects.filter(contact__wa_id=chat.wa_id).latest("pk")


def test_a_file_nobody_expects_is_not_downloaded_and_the_buyer_is_answered_politely(chat, raffle):
    answer = chat.media("image")

    assert "wasn't expecting a file" in answer
    assert last_message(chat).media_status == MediaStatus.NOT_REQUESTED
    assert not PaymentProof.objects.exists()


def test_a_paid_buyers_photo_is_not_downloaded_either(chat, raffle):
    from raffles.services import confirm_payment

    reach_wait_proof(chat)
    chat.media("image")
    confirm_payment(order=chat.order())

    answer = chat.media("image")

    assert "wasn't expecting a file" in answer
    assert last_message(chat).media_status == MediaStatus.NOT_REQUESTED


def test_a_proof_is_downloaded_and_its_file_stops_the_clock(chat, raffle):
    reach_wait_proof(chat)

    answer = chat.media("pdf")

    order = chat.order()
    assert "received your payment proof" in answer
    assert last_message(chat).media_status == MediaStatus.STORED
    assert order.is_under_review
    assert order.proofs.get().file.name.endswith(".pdf")


@pytest.mark.parametrize(
    "language,reason,again",
    [
        ("en", "it is not a photo (JPEG, PNG or WebP) or a PDF", "Please send a photo or PDF"),
        ("es", "no es una foto (JPEG, PNG o WebP) ni un PDF", "Envía una foto o PDF"),
    ],
)
def test_a_file_that_is_no_proof_is_refused_saying_why_and_the_deadline_runs_on(
    chat, raffle, language, reason, again
):
    with translation.override(language):
        reach_wait_proof(chat) if language == "en" else reach_wait_proof_es(chat)
        deadline = chat.order().expires_at

        chat.media("image", content=TEXT_FILE)

    order = chat.order()
    told = chat.outbox()[-1]
    assert reason in told and again in told
    assert f"#{order.pk}" in told
    assert order.status == OrderStatus.PENDING_PAYMENT and order.expires_at == deadline
    assert order.proofs.get().status == ProofStatus.REJECTED
    assert chat.state() == "WAIT_PROOF"
    assert last_message(chat).media_status == MediaStatus.REJECTED


def reach_wait_proof_es(chat: WebhookChat) -> None:
    run(
        chat,
        [
            ("hola", "", "CHOOSE_MODE"),
            ("#2", "", "ASK_QTY"),
            ("2", "Reservado", "CONFIRM_RESERVATION"),
            ("#1", "", "WAIT_PROOF", "PENDING_PAYMENT"),
        ],
    )


@pytest.mark.parametrize(
    "problem,told",
    [
        ("too_large", "the file is too large"),
        ("gave_up", "we could not download it from WhatsApp"),
        ("refused", "we could not download it from WhatsApp"),
    ],
)
def test_a_download_refused_or_given_up_rejects_the_proof_and_says_why(chat, raffle, problem, told):
    reach_wait_proof(chat)
    chat.media("image", content=b"")  # the download is on its way
    deadline = chat.order().expires_at
    message = last_message(chat)

    media_failed.send(sender=InboundMessage, message=message, problem=problem)

    order = chat.order()
    assert told in chat.outbox()[-1]
    assert order.proofs.get().status == ProofStatus.REJECTED
    assert order.expires_at == deadline
    assert chat.state() == "WAIT_PROOF"


def test_a_useless_extra_file_leaves_the_proof_under_review_alone(chat, raffle):
    reach_wait_proof(chat)
    chat.media("image")

    chat.media("image", content=TEXT_FILE)

    order = chat.order()
    assert "Your other payment proof is being reviewed" in chat.outbox()[-1]
    assert order.is_under_review
    assert chat.state() == "DONE"


def test_a_useless_file_for_an_order_that_expired_meanwhile_says_it_is_over(chat, raffle):
    from raffles.services import expire_due

    reach_wait_proof(chat)
    chat.media("image", content=b"")
    message = last_message(chat)
    chat.advance(60)
    expire_due()

    media_failed.send(sender=InboundMessage, message=message, problem="not_a_proof_type")

    told = chat.outbox()[-1]
    assert "it is not a photo" in told and "no longer active" in told


def test_a_second_file_while_the_first_downloads_belongs_to_the_same_payment(chat, raffle):
    reach_wait_proof(chat)
    chat.media("image", content=b"")  # still downloading

    answer = chat.media("pdf")

    assert "added to your payment proof" in answer
    assert chat.order().proofs.count() == 2


def test_the_bot_offers_no_more_numbers_than_one_buyer_may_hold(chat, raffle, bot_settings):
    bot_settings.NUMBERS_HELD_PER_CONTACT_PER_RAFFLE = 4

    answers = run(chat, [("hi", "", "CHOOSE_MODE"), ("#2", "(1-4)", "ASK_QTY")])
    refused = chat.say("7")

    assert "(1-4)" in answers[-1]
    assert "between 1 and 4" in refused
    assert chat.order() is None


def test_too_many_orders_in_progress_is_said_in_spanish(chat, bot_settings, raffle):
    from tests.conversation.conftest import make_raffle

    bot_settings.LIVE_ORDERS_PER_CONTACT = 1
    make_raffle(title="Otra rifa")
    with translation.override("es"):
        run(chat, [("hola", "", "MENU"), ("Big Car Raffle", "", "CHOOSE_MODE")])
        run(chat, [("#2", "", "ASK_QTY"), ("1", "", "CONFIRM_RESERVATION"), ("#1", "", None)])
        chat.media("image")  # under review: the bot lets the buyer start another order
        run(chat, [("menu", "", "MENU"), ("Otra rifa", "", "CHOOSE_MODE"), ("#2", "", None)])

        answer = chat.say("1")

    assert "Ya tienes 1 pedido en curso" in answer
    assert chat.state() == "MENU"


def test_a_buyer_whose_proof_is_on_its_way_gets_no_deadline_reminder(chat, raffle):
    from conversation.reminders import remind_pending_orders

    reach_wait_proof(chat)
    chat.media("image", content=b"")  # downloading
    chat.advance(28)

    queued = remind_pending_orders()

    assert queued == 0
    assert "Reminder" not in chat.outbox()[-1]
