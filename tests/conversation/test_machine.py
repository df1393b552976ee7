"""The conversation rules, on the bare state machine over the real inventory (raffles services
on the test database): no webhook and no outbox, but no stand-in that could drift either."""

from __future__ import annotations

import pytest

from conversation import replies
from raffles import services
from raffles.models import OrderStatus, TicketNumber
from tests.conversation.conftest import make_raffle
from tests.conversation.machine_chat import MachineChat, buyer
from tests.conversation.transcripts import run

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_raffle(bot_settings):
    return make_raffle(title="Big Car Raffle")


@pytest.fixture
def chat(one_raffle):
    return MachineChat()


@pytest.fixture
def other(db):
    return buyer("5491100000002", "Beto")


def test_random_numbers_end_to_end(chat):
    run(
        chat,
        [
            (
                "hi",
                ["Big Car Raffle", "5.00 USD", "100 numbers left", "Pick my numbers"],
                "CHOOSE_MODE",
            ),
            ("#2", "How many numbers", "ASK_QTY"),
            (
                "2",
                ["Reserved for you", "Total: 10.00 USD", "Confirm"],
                "CONFIRM_RESERVATION",
                "DRAFT",
            ),
            ("#1", ["Transfer to Bank 123-456", "photo or PDF"], "WAIT_PROOF", "PENDING_PAYMENT"),
        ],
    )
    order = chat.order()
    deadline = replies.when(order.expires_at)

    run(
        chat,
        [
            ("did you get it?", ["waiting for a photo or PDF", deadline], "WAIT_PROOF"),
            ("[image]", "received your payment proof", "DONE", "PENDING_PAYMENT"),
            ("thanks", "Pick my numbers", "CHOOSE_MODE"),
        ],
    )
    assert chat.calls == [
        "reserve_random 2",
        f"submit {order.pk}",
        f"attach_proof {order.pk} image/jpeg",
    ]
    order.refresh_from_db()
    assert order.is_under_review  # the proof stopped the clock


def test_picked_numbers_with_bad_input_and_taken_numbers(chat, one_raffle, other):
    services.reserve_specific(raffle=one_raffle, numbers=[7], contact=other)

    run(
        chat,
        [
            ("hola", "Pick my numbers", "CHOOSE_MODE"),
            ("pick", ["Which numbers", "00 to 99"], "ASK_PICK_NUMBERS"),
            ("5, abc", "couldn't read \u201cabc\u201d", "ASK_PICK_NUMBERS"),
            ("5, 150", ["150", "not in this raffle"], "ASK_PICK_NUMBERS"),
            ("0-20", "at most 10 numbers", "ASK_PICK_NUMBERS"),
            ("5, 07", ["07 is already taken", "Nothing was reserved", "Still available"], None),
            ("05\n6", ["numbers 05, 06", "Total: 10.00 USD"], "CONFIRM_RESERVATION", "DRAFT"),
            ("yes", "Transfer to Bank", "WAIT_PROOF", "PENDING_PAYMENT"),
            ("[pdf]", "received your payment proof", "DONE"),
        ],
    )
    holders = TicketNumber.objects.filter(raffle=one_raffle, number__in=[5, 6])
    assert {ticket.reserved_by_order_id for ticket in holders} == {chat.order().pk}


def test_several_raffles_are_a_list_with_my_tickets(bot_settings):
    for i in (1, 2):
        make_raffle(title=f"Raffle {i}", max_number=9)
    chat = MachineChat()

    run(
        chat,
        [
            ("hi", ["Raffle 1", "Raffle 2", "3. My tickets"], "MENU"),
            ("#3", "no orders yet", "MENU"),
            ("2", ["Raffle 2", "Pick my numbers"], "CHOOSE_MODE"),
        ],
    )


def test_more_than_ten_raffles_are_paginated(bot_settings):
    for i in range(1, 13):
        make_raffle(title=f"Raffle {i}", max_number=9)
    chat = MachineChat()

    first = chat.say("menu")
    assert "8. Raffle 8" in first and "9. More raffles" in first and "10. My tickets" in first
    second = chat.tap(*chat.last_choices[8][:2], is_row=True)
    assert "1. Raffle 9" in second and "4. Raffle 12" in second and "Raffle 8" not in second
    assert len(chat.last_choices) == 6  # 4 raffles, back to the start, my tickets


def test_no_active_raffle_is_said_politely(bot_settings):
    make_raffle(title="Old", is_active=False)
    chat = MachineChat()

    run(chat, [("hi", "no raffles open right now", "MENU")])


def test_a_live_order_is_offered_before_starting_another(chat):
    run(
        chat,
        [
            ("hi", "", "CHOOSE_MODE"),
            ("#2", "", "ASK_QTY"),
            ("#1", "Reserved for you", "CONFIRM_RESERVATION", "DRAFT"),
            ("menu", ["order in progress", "Continue", "Cancel order"], "MENU"),
            ("#1", "Reserved for you", "CONFIRM_RESERVATION"),
            ("hola", "order in progress", "MENU"),
            ("#2", ["cancelled", "released", "Pick my numbers"], "CHOOSE_MODE", "CANCELLED"),
        ],
    )


def test_expiry_is_detected_when_the_buyer_confirms(chat, one_raffle):
    run(
        chat,
        [
            ("hi", "", "CHOOSE_MODE"),
            ("#2", "", "ASK_QTY"),
            ("1", "Reserved for you", "CONFIRM_RESERVATION"),
            ("+31m", "", "CONFIRM_RESERVATION"),
            ("#1", ["expired", "released"], "MENU", "EXPIRED"),
        ],
    )
    assert services.available_count(raffle=one_raffle) == 100


def test_a_stale_confirm_button_is_never_acted_on_twice(chat):
    run(chat, [("hi", "", "CHOOSE_MODE"), ("#2", "", "ASK_QTY"), ("1", "", "CONFIRM_RESERVATION")])
    order = chat.order()

    run(
        chat,
        [
            (f"@confirm:{order.pk}", "Transfer to Bank", "WAIT_PROOF", "PENDING_PAYMENT"),
            (f"@confirm:{order.pk}", ["waiting for payment", "photo or PDF"], "WAIT_PROOF"),
            ("[image]", "received", "DONE"),
            (f"@confirm:{order.pk}", "being reviewed", "DONE"),
            (f"@cancel:{order.pk + 1000}", "can't find that order", None),
        ],
    )
    assert chat.calls.count(f"submit {order.pk}") == 1
    assert order.events.filter(to_status=OrderStatus.PENDING_PAYMENT).count() == 1


def test_a_button_of_a_paid_order_says_it_is_paid(chat):
    run(chat, [("hi", "", None), ("#2", "", None), ("1", "", None), ("#1", "", "WAIT_PROOF")])
    order = services.confirm_payment(order=chat.order())

    run(
        chat,
        [
            (f"@cancel:{order.pk}", "already paid", "CHOOSE_MODE"),
            (f"@confirm:{order.pk}", "already paid", "DONE"),
        ],
    )


def test_cancel_with_nothing_to_cancel(chat):
    run(chat, [("CANCELAR", ["no order in progress", "Pick my numbers"], "CHOOSE_MODE")])


def test_unknown_text_gets_a_hint_in_every_state(chat):
    run(
        chat,
        [
            ("hi", "", "CHOOSE_MODE"),
            ("blah", "Pick my numbers", "CHOOSE_MODE"),
            ("random", "How many", "ASK_QTY"),
            ("lots", "how many numbers", "ASK_QTY"),
            ("50", "between 1 and 10", "ASK_QTY"),
            ("0", "between 1 and 10", "ASK_QTY"),
            ("3", "", "CONFIRM_RESERVATION"),
            ("maybe", ["Confirm", "Cancel"], "CONFIRM_RESERVATION"),
            ("ok", "", "WAIT_PROOF"),
        ],
    )


@pytest.mark.parametrize("kind", ["sticker", "location", "reaction", "unsupported"])
def test_other_message_kinds_get_a_polite_fallback(chat, kind):
    run(chat, [("hi", "", "CHOOSE_MODE"), (f"[{kind}]", "can't read that kind", "CHOOSE_MODE")])


def test_a_file_outside_wait_proof_is_not_taken_as_a_proof(chat):
    run(chat, [("hi", "", None), ("[image]", "wasn't expecting a file", "CHOOSE_MODE")])
    assert chat.calls == []


def test_the_last_numbers_are_announced_as_sold_out(bot_settings, other):
    tiny = make_raffle(title="Tiny", max_number=1)
    services.reserve_specific(raffle=tiny, numbers=[0, 1], contact=other)
    chat = MachineChat()

    run(chat, [("hi", "sold out", "MENU")])


# Every global command in every state: how to get there, then each command.
REACH = {
    "MENU": [("hi", "", "MENU")],
    "CHOOSE_MODE": [("hi", "", "CHOOSE_MODE")],
    "ASK_QTY": [("hi", "", None), ("#2", "", "ASK_QTY")],
    "ASK_PICK_NUMBERS": [("hi", "", None), ("#1", "", "ASK_PICK_NUMBERS")],
    "CONFIRM_RESERVATION": [("hi", "", None), ("#2", "", None), ("2", "", "CONFIRM_RESERVATION")],
    "WAIT_PROOF": [("hi", "", None), ("#2", "", None), ("2", "", None), ("#1", "", "WAIT_PROOF")],
    "DONE": [
        ("hi", "", None),
        ("#2", "", None),
        ("2", "", None),
        ("#1", "", None),
        ("[image]", "", "DONE"),
    ],
}


@pytest.mark.parametrize("state", list(REACH))
@pytest.mark.parametrize("command", ["MENU", "Menú", "CANCEL", "cancelar", "HELP", "ayuda"])
def test_global_commands_work_in_every_state(bot_settings, state, command):
    from raffles.selectors import live_order_for

    make_raffle(title="Car")
    if state == "MENU":
        make_raffle(title="Bike", max_number=9)
    chat = MachineChat()
    run(chat, REACH[state])
    live = live_order_for(chat.contact)
    had_live = live is not None
    needed_buyer = had_live and not live.is_under_review

    answer = chat.say(command)

    if command.lower().startswith("menu") or command == "Menú":
        expected = (
            "order in progress" if needed_buyer else ("Raffles" if state == "MENU" else "Pick")
        )
        assert expected in answer
    elif command.lower().startswith("cancel"):
        if had_live:
            assert "is cancelled" in answer
            assert live_order_for(chat.contact) is None
        else:
            assert "no order in progress" in answer
    else:
        assert "I sell raffle numbers" in answer
        if state not in ("MENU", "DONE"):
            assert chat.state() == state


def test_a_first_message_of_any_kind_opens_the_menu_without_a_complaint(bot_settings):
    for i in (1, 2):
        make_raffle(title=f"Raffle {i}", max_number=9)
    chat = MachineChat()

    answer = chat.say("I want to buy tickets")

    assert "Which raffle" in answer and "didn't understand" not in answer
    assert "didn't understand" in chat.say("gibberish")


def test_the_operator_can_switch_the_bot_to_spanish(chat):
    from django.utils import translation

    with translation.override("es"):
        run(
            chat,
            [
                ("hola", ["Elegir mis números", "Quedan 100 números"], "CHOOSE_MODE"),
                ("Números al azar", "¿Cuántos números quieres?", "ASK_QTY"),
                ("2", ["Reservado para ti", "Total: 10,00 USD"], "CONFIRM_RESERVATION"),
                ("cancelar", "se liberaron sus números", "CHOOSE_MODE"),
            ],
        )


def test_confirming_keeps_the_deadline_the_reservation_was_given(chat):
    run(chat, [("hi", "", None), ("#2", "", None), ("1", "", "CONFIRM_RESERVATION")])
    reserved_until = chat.order().expires_at

    run(chat, [("#1", "photo or PDF", "WAIT_PROOF", "PENDING_PAYMENT")])

    assert chat.order().expires_at == reserved_until


def test_an_order_under_review_does_not_stop_the_buyer_playing_another_raffle(chat):
    make_raffle(title="Motorbike", max_number=9)
    run(chat, [("hi", "", "MENU"), ("#1", "", None), ("#2", "", None), ("1", "", None)])
    run(chat, [("#1", "", "WAIT_PROOF"), ("[image]", "received", "DONE")])
    first = chat.order()

    run(chat, [("menu", "Which raffle", "MENU"), ("#2", "Motorbike", None), ("#2", "", None)])
    run(chat, [("2", "Reserved for you", "CONFIRM_RESERVATION", "DRAFT")])

    first.refresh_from_db()
    assert first.is_under_review and first.expires_at is None
    assert chat.order().raffle.title == "Motorbike"
