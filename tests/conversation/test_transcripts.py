"""Whole conversations through the real pipeline: signed webhook POSTs, the conversation
handler, the raffles services and the outbox. Each table row is (buyer -> bot / state / order).
"""

from __future__ import annotations

import random
import zoneinfo
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import translation

from conversation.models import Conversation, ConversationState
from raffles.invariants import assert_inventory_consistent
from raffles.models import Order, OrderStatus, PaymentProof, TicketNumber, TicketStatus
from raffles.services import (
    cancel_order,
    confirm_payment,
    expire_due,
    reject_proof,
)
from tests.conversation.conftest import make_raffle
from tests.conversation.transcripts import run

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def seeded_random():
    random.seed(20261122)


def _reach_wait_proof(chat) -> list:
    return run(
        chat,
        [
            ("hi", "Pick my numbers", "CHOOSE_MODE"),
            ("#2", "How many numbers", "ASK_QTY"),
            ("2", "Reserved for you", "CONFIRM_RESERVATION", "DRAFT"),
            ("#1", "Transfer to Bank 123-456", "WAIT_PROOF", "PENDING_PAYMENT"),
        ],
    )


def test_random_numbers_from_greeting_to_proof_as_an_image(chat, raffle):
    run(
        chat,
        [
            (
                "Hola",
                ["Big Car Raffle", "5.00 USD per number", "100 numbers left", "Random numbers"],
                "CHOOSE_MODE",
            ),
            ("#2", ["How many numbers", "(1-10)"], "ASK_QTY"),
            ("a few", "how many numbers", "ASK_QTY"),
            ("11", "between 1 and 10", "ASK_QTY"),
            ("3", ["Reserved for you", "Total: 15.00 USD", "Please confirm before"], None, "DRAFT"),
            (
                "#1",
                [
                    "Order #",
                    "held for you",
                    "await your payment",
                    "Transfer to Bank 123-456",
                    "photo or PDF",
                ],
                None,
            ),
            ("when?", ["waiting for a photo or PDF", "15.00 USD"], "WAIT_PROOF"),
            ("[image]", "received your payment proof", "DONE", "PENDING_PAYMENT"),
            ("thanks!", "Pick my numbers", "CHOOSE_MODE"),
        ],
    )
    order = chat.order()
    assert order.qty == 3
    assert order.expires_at is None  # the proof stopped the clock
    assert order.proofs.get().mime_type == "image/jpeg"
    assert_inventory_consistent()


def test_picked_numbers_with_taken_ones_and_a_pdf_proof(chat, other_chat, raffle):
    run(other_chat, [("hi", "", None), ("#1", "", None), ("7", "", "CONFIRM_RESERVATION")])

    run(
        chat,
        [
            ("hi", "", "CHOOSE_MODE"),
            ("#1", ["Which numbers", "From 00 to 99", "up to 10"], "ASK_PICK_NUMBERS"),
            ("5, x9", "couldn't read \u201cx9\u201d", "ASK_PICK_NUMBERS"),
            ("5 100", ["100", "not in this raffle"], "ASK_PICK_NUMBERS"),
            ("1-11", "at most 10 numbers", "ASK_PICK_NUMBERS"),
            ("5, 07", ["07 is already taken", "Nothing was reserved", "Still available"], None),
            ("05\n010-011", ["numbers 05, 10, 11", "Total: 15.00 USD"], "CONFIRM_RESERVATION"),
            ("si", "Transfer to Bank", "WAIT_PROOF", "PENDING_PAYMENT"),
            ("[pdf]", "received your payment proof", "DONE"),
        ],
    )
    assert chat.order().numbers == [5, 10, 11]
    assert chat.order().proofs.get().mime_type == "application/pdf"
    assert TicketNumber.objects.get(raffle=raffle, number=5).status == TicketStatus.RESERVED
    assert_inventory_consistent()


def test_several_raffles_come_as_a_list_with_my_tickets(chat, raffle):
    make_raffle(title="Motorbike", ticket_price="2.50", max_number=9)

    run(
        chat,
        [
            ("menu", ["Big Car Raffle", "5.00 USD", "Motorbike", "2.50 USD", "My tickets"], "MENU"),
            ("#3", "no orders yet", "MENU"),
            ("2", ["Motorbike", "10 numbers left", "Pick my numbers"], "CHOOSE_MODE"),
        ],
    )


def test_more_raffles_than_a_list_holds_are_paginated(chat, bot_settings, db):
    for n in range(12):
        make_raffle(title=f"Raffle {n:02}", max_number=9)

    first = chat.say("hi")
    assert "9. More raffles" in first and "10. My tickets" in first
    second = chat.tap(*chat.last_choices[8][:2], is_row=True)
    assert "More raffles" not in second and len(chat.last_choices) == 6


def test_no_open_raffle_is_said_politely(chat, db):
    run(chat, [("hi", "no raffles open right now", "MENU"), ("ok", "no raffles open", "MENU")])


def test_a_buyer_with_a_live_order_continues_or_cancels_it(chat, raffle):
    run(
        chat,
        [
            ("hi", "", None),
            ("#2", "", None),
            ("1", "", "CONFIRM_RESERVATION", "DRAFT"),
            ("hola", ["order in progress", "Continue", "Cancel order"], "MENU"),
            ("#1", "Reserved for you", "CONFIRM_RESERVATION"),
            ("menu", "order in progress", "MENU"),
            ("#2", ["is cancelled", "released", "Pick my numbers"], "CHOOSE_MODE", "CANCELLED"),
        ],
    )
    assert_inventory_consistent()


def test_a_reservation_that_expired_while_deciding_is_caught_at_confirm(chat, raffle):
    run(
        chat,
        [
            ("hi", "", None),
            ("#1", "", None),
            ("42", "number 42", "CONFIRM_RESERVATION", "DRAFT"),
            ("+31m", "", None),
            ("#1", ["expired", "42 was released"], "MENU", "EXPIRED"),
            ("hi", "100 numbers left", "CHOOSE_MODE"),
        ],
    )
    expire_due()  # the sweep later finds nothing more to say
    assert len(chat.outbox()) == 5
    assert_inventory_consistent()


def test_an_expired_wait_for_proof_is_said_on_the_next_message(chat, raffle):
    _reach_wait_proof(chat)
    chat.advance(31)

    run(chat, [("did it arrive?", "expired", "MENU", "EXPIRED")])


def test_a_greeting_after_the_deadline_also_says_the_reservation_expired(chat, raffle):
    _reach_wait_proof(chat)
    chat.advance(31)

    run(chat, [("hello?", ["expired", "Pick my numbers"], "CHOOSE_MODE", "EXPIRED")])


def test_old_buttons_are_answered_from_the_order_and_never_act_twice(chat, raffle):
    _reach_wait_proof(chat)
    order = chat.order()

    run(
        chat,
        [
            (f"@confirm:{order.pk}", ["waiting for payment", "photo or PDF"], "WAIT_PROOF"),
            ("[image]", "received", "DONE"),
            (f"@confirm:{order.pk}", "being reviewed", "DONE"),
            (f"@qty:{raffle.pk}:2", ["order in progress", "payment being checked"], None),
            (f"@cancel:{order.pk + 1000}", "can't find that order", None),
            ("@bogus:1", "Tap *Pick my numbers*", "CHOOSE_MODE"),
        ],
    )
    assert order.events.filter(to_status=OrderStatus.PENDING_PAYMENT).count() == 1
    confirm_payment(order=order)
    run(chat, [(f"@cancel:{order.pk}", "already paid", None)])


def test_operator_confirmation_tells_the_buyer_the_final_numbers(chat, raffle):
    _reach_wait_proof(chat)
    run(chat, [("[image]", "received", "DONE")])
    order = chat.order()

    confirm_payment(order=order)

    numbers = ", ".join(raffle.format_number(n) for n in order.numbers)
    assert "Payment confirmed" in chat.outbox()[-1] and numbers in chat.outbox()[-1]
    assert chat.state() == "DONE"


def test_operator_cancellation_tells_the_buyer_the_reason(chat, raffle):
    _reach_wait_proof(chat)

    cancel_order(order=chat.order(), reason="Transfer never arrived")

    assert "was cancelled" in chat.outbox()[-1]
    assert "Transfer never arrived" in chat.outbox()[-1]
    assert chat.state() == "MENU"
    run(chat, [("hi", "Pick my numbers", "CHOOSE_MODE")])


def test_a_rejected_proof_asks_for_a_new_one(chat, raffle):
    _reach_wait_proof(chat)
    run(chat, [("[image]", "received", "DONE")])
    proof = PaymentProof.objects.get(order=chat.order())

    reject_proof(proof=proof, reason="The amount is not visible")

    assert "could not accept" in chat.outbox()[-1]
    assert "The amount is not visible" in chat.outbox()[-1]
    run(
        chat,
        [
            ("ok", "waiting for a photo or PDF", "WAIT_PROOF"),
            ("[pdf]", "received your payment proof", "DONE", "PENDING_PAYMENT"),
        ],
    )
    assert chat.order().proofs.count() == 2


def test_the_expiry_sweep_tells_each_buyer_once(chat, other_chat, raffle):
    run(other_chat, [("hi", "", None), ("#1", "", None), ("1 2", "", "CONFIRM_RESERVATION")])
    _reach_wait_proof(chat)
    chat.advance(31)
    other_chat.advance(31)

    expired = expire_due()

    assert len(expired.orders) == 2
    for buyer in (chat, other_chat):
        assert "expired" in buyer.outbox()[-1] and "released" in buyer.outbox()[-1]
        assert buyer.state() == "MENU"
    assert "reservation in *Big Car Raffle* expired" in other_chat.outbox()[-1]
    assert expire_due().count == 0
    assert_inventory_consistent()


def test_a_buyers_own_cancel_is_not_announced_twice(chat, raffle):
    _reach_wait_proof(chat)

    run(chat, [("CANCEL", ["is cancelled", "released"], None, "CANCELLED")])

    assert sum("cancelled" in text for text in chat.outbox()) == 1


@pytest.mark.parametrize("kind", ["sticker", "location", "reaction", "audio", "unsupported"])
def test_other_kinds_of_message_get_a_polite_fallback(chat, raffle, kind):
    run(chat, [("hi", "", "CHOOSE_MODE"), (f"[{kind}]", "can't read that kind", "CHOOSE_MODE")])


def test_a_photo_outside_the_wait_for_proof_is_not_a_proof(chat, raffle):
    run(chat, [("hi", "", None), ("[image]", "wasn't expecting a file", "CHOOSE_MODE")])
    assert not PaymentProof.objects.exists()


# Every global command in every state.
REACH = {
    "MENU": [("hi", "", "MENU")],
    "CHOOSE_MODE": [("#1", "", "CHOOSE_MODE")],
    "ASK_QTY": [("#1", "", None), ("#2", "", "ASK_QTY")],
    "ASK_PICK_NUMBERS": [("#1", "", None), ("#1", "", "ASK_PICK_NUMBERS")],
    "CONFIRM_RESERVATION": [("#1", "", None), ("#2", "", None), ("2", "", "CONFIRM_RESERVATION")],
    "WAIT_PROOF": [("#1", "", None), ("#2", "", None), ("2", "", None), ("#1", "", "WAIT_PROOF")],
    "DONE": [
        ("#1", "", None),
        ("#2", "", None),
        ("2", "", None),
        ("#1", "", None),
        ("[pdf]", "", "DONE"),
    ],
}
EXPECTED = {
    # (state, command) -> what the answer must say
    "MENU": "Which raffle",
    "CANCEL_LIVE": "is cancelled",
    "CANCEL_NONE": "no order in progress",
    "HELP": "I sell raffle numbers",
}


@pytest.mark.parametrize("state", list(REACH))
@pytest.mark.parametrize("command", ["MENU", "men\u00fa", "CANCEL", "Cancelar", "HELP", "ayuda"])
def test_every_global_command_works_in_every_state(chat, raffle, state, command):
    make_raffle(title="Motorbike", max_number=9)
    run(chat, [("hi", "Which raffle", "MENU"), *REACH[state]])
    live = Order.objects.filter(contact__wa_id=chat.wa_id, status__in=["DRAFT", "PENDING_PAYMENT"])
    had_live = live.exists()
    under_review = live.filter(expires_at__isnull=True).exists()

    answer = chat.say(command)

    word = command.lower().replace("\u00fa", "u")
    if word == "menu":
        wanted = "order in progress" if had_live and not under_review else "Which raffle"
        assert wanted in answer
        assert chat.state() == "MENU"
    elif word.startswith("cancel"):
        assert (EXPECTED["CANCEL_LIVE"] if had_live else EXPECTED["CANCEL_NONE"]) in answer
        assert not live.exists()
    else:
        assert EXPECTED["HELP"] in answer
        if state not in ("MENU", "DONE"):
            assert chat.state() == state
    assert chat.state() in ConversationState.values
    assert_inventory_consistent()


def test_the_stored_file_is_attached_to_the_payment_proof(chat, raffle):
    from whatsapp.models import InboundMessage, MediaStatus
    from whatsapp.signals import media_stored

    _reach_wait_proof(chat)
    chat.media("image", content=b"")  # the download is still on its way
    message = InboundMessage.objects.get(msg_type="image")
    assert message.media_status == MediaStatus.PENDING
    message.media_file.save("proof.jpg", ContentFile(b"\xff\xd8\xff jpeg bytes"), save=False)
    message.media_status = MediaStatus.STORED
    message.save()

    media_stored.send(sender=InboundMessage, message=message)

    proof = PaymentProof.objects.get(order=chat.order())
    assert proof.file
    with proof.file.open("rb") as stored:
        assert stored.read() == b"\xff\xd8\xff jpeg bytes"


def test_one_reminder_before_the_deadline_to_buyers_without_proof(chat, other_chat, raffle):
    from conversation.reminders import remind_pending_orders

    _reach_wait_proof(chat)
    run(other_chat, [("hi", "", None), ("#2", "", None), ("1", "", None), ("#1", "", "WAIT_PROOF")])
    run(other_chat, [("[image]", "received", "DONE")])
    chat.advance(27)  # 3 minutes left
    other_chat.advance(27)

    assert remind_pending_orders() == 1
    assert remind_pending_orders() == 0

    assert "Reminder" in chat.outbox()[-1]
    assert "Reminder" not in other_chat.outbox()[-1]
    assert Conversation.objects.get(contact__wa_id=chat.wa_id).reminder_sent_for == chat.order().pk


def test_a_proof_after_the_deadline_is_kept_for_the_operator(chat, raffle):
    _reach_wait_proof(chat)
    chat.advance(31)

    run(chat, [("[image]", ["received your payment proof", "after the deadline"], "DONE")])

    order = chat.order()
    assert order.status == OrderStatus.EXPIRED
    assert order.proofs.get().late
    assert len(chat.outbox()) == 5  # no separate "expired" notice on top
    confirm_payment(order=order)  # the operator accepts it: numbers still free
    assert "Payment confirmed" in chat.outbox()[-1]


def test_an_order_taken_by_an_operator_for_another_channel_is_not_announced(chat, raffle):
    from raffles.services import create_order_for_buyer
    from whatsapp.models import Contact

    contact = Contact.objects.create(wa_id=chat.wa_id, profile_name="Ana")

    create_order_for_buyer(raffle=raffle, contact=contact, numbers=[3, 4])

    assert chat.outbox() == []


def test_a_failing_notification_never_blocks_the_operator(chat, raffle, monkeypatch):
    _reach_wait_proof(chat)

    def broken(**kwargs):
        raise RuntimeError("wording bug")

    monkeypatch.setattr("conversation.replies.notify_paid", broken)

    order = confirm_payment(order=chat.order())

    assert order.status == OrderStatus.PAID
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_cancel_names_the_order_this_chat_is_about(chat, raffle):
    second = make_raffle(title="Motorbike", max_number=9)
    run(chat, [("hi", "", "MENU"), ("#1", "", None), ("#2", "", None), ("1", "", None)])
    run(chat, [("#1", "", "WAIT_PROOF"), ("[image]", "received", "DONE")])
    run(chat, [("menu", "", "MENU"), ("#2", "Motorbike", None), ("#1", "", None), ("3", "", None)])

    run(chat, [("cancel", "number 3 was released", "MENU")])

    assert Order.objects.get(raffle=second).status == OrderStatus.CANCELLED
    assert Order.objects.get(raffle=raffle).status == OrderStatus.PENDING_PAYMENT


def test_a_second_file_right_after_the_proof_joins_the_same_payment(chat, raffle):
    _reach_wait_proof(chat)

    run(
        chat,
        [
            ("[image]", "received your payment proof", "DONE"),
            ("[pdf]", "added to your payment proof", "DONE", "PENDING_PAYMENT"),
        ],
    )

    assert chat.order().proofs.count() == 2


def test_a_buyer_cannot_act_on_another_buyers_order(chat, other_chat, raffle):
    run(other_chat, [("hi", "", None), ("#1", "", None), ("9", "", "CONFIRM_RESERVATION")])
    theirs = other_chat.order()

    run(
        chat,
        [
            (f"@confirm:{theirs.pk}", "can't find that order", None),
            (f"@cancel:{theirs.pk}", "can't find that order", None),
            (f"@continue:{theirs.pk}", "can't find that order", None),
        ],
    )

    theirs.refresh_from_db()
    assert theirs.status == OrderStatus.DRAFT


def test_a_spanish_buyer_is_told_local_money_and_local_time(chat, bot_settings, settings):
    settings.TIME_ZONE = "UTC"
    make_raffle(
        title="Rifa Auto",
        ticket_price=Decimal("15000"),
        currency="ARS",
        time_zone="America/Argentina/Buenos_Aires",
    )
    with translation.override("es"):
        run(
            chat,
            [
                ("hola", ["15.000,00 ARS"], "CHOOSE_MODE"),
                ("dame 2 al azar", ["Total: 30.000,00 ARS", "Confirma antes de las"], None),
                ("sí", ["quedan apartados", "Esperamos tu pago hasta las"], "WAIT_PROOF"),
            ],
        )

    held = chat.outbox()[-1]
    deadline = chat.order().expires_at
    in_buenos_aires = deadline.astimezone(zoneinfo.ZoneInfo("America/Argentina/Buenos_Aires"))
    # "hasta las 14:29" (Buenos Aires), not "17:29 UTC"; late at night the day is added.
    assert f"hasta las {in_buenos_aires:%H:%M}" in held
    assert "UTC" not in held and f"{deadline:%H:%M}" not in held


def test_spanish_buyers_name_their_numbers_in_words(chat, raffle):
    with translation.override("es"):
        run(
            chat,
            [
                ("hola", "", "CHOOSE_MODE"),
                ("el 7 y el 13", ["07, 13", "Total: 10,00 USD"], "CONFIRM_RESERVATION"),
                ("cancelar", "", None),
                ("Elegir mis números", "", "ASK_PICK_NUMBERS"),
                ("quiero 3 números", "", "ASK_PICK_NUMBERS"),
                ("dame 2 al azar", ["Reservado para ti"], "CONFIRM_RESERVATION"),
            ],
        )
