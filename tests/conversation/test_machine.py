"""The conversation rules, on the bare state machine with an in-memory inventory."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conversation.machine import Inbound, InboundKind, Machine
from conversation.render import choices, render
from tests.conversation.fakes import FakeInventory, FakeRaffle
from tests.conversation.transcripts import run

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


class MachineChat:
    """Drives `Machine.step` the way the handler does, keeping state and context between turns."""

    def __init__(self, inventory: FakeInventory, contact: str = "buyer") -> None:
        self.inventory = inventory
        self.contact = contact
        self._state = "MENU"
        self.context: dict = {}
        self.last_choices: list = []

    def _send(self, inbound: Inbound) -> str:
        machine = Machine(inventory=self.inventory, contact=self.contact, now=self.inventory.now)
        turn = machine.step(state=self._state, context=self.context, inbound=inbound)
        assert turn.reply is not None
        turn.reply.validate()
        self._state = str(turn.state)
        self.context = json.loads(json.dumps(turn.context))  # stored as JSON
        self.last_choices = choices(turn.reply)
        return render(turn.reply)

    def say(self, text):
        return self._send(Inbound(kind=InboundKind.TEXT, text=text))

    def tap(self, reply_id, title, *, is_row):
        return self._send(Inbound(kind=InboundKind.TAP, reply_id=reply_id, text=title))

    def media(self, kind):
        mime = "image/jpeg" if kind == "image" else "application/pdf"
        return self._send(Inbound(kind=InboundKind.MEDIA, media_id=f"m-{kind}", mime_type=mime))

    def other(self, kind):
        return self._send(Inbound(kind=InboundKind.OTHER))

    def advance(self, minutes):
        self.inventory.now += dt.timedelta(minutes=minutes)

    def state(self):
        return self._state

    def order_status(self):
        orders = self.inventory.orders_of(self.contact, 1)
        return orders[0].status if orders else None


@pytest.fixture
def one_raffle():
    return FakeInventory([FakeRaffle(pk=1, title="Big Car Raffle")], now=NOW)


@pytest.fixture
def chat(one_raffle):
    return MachineChat(one_raffle)


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
            ("did you get it?", ["waiting for a photo or PDF", "12:30"], "WAIT_PROOF"),
            ("[image]", "received your payment proof", "DONE", "PENDING_PAYMENT"),
            ("thanks", "Pick my numbers", "CHOOSE_MODE"),
        ],
    )
    assert chat.inventory.calls == ["reserve_random 2", "submit 1", "attach_proof 1 image/jpeg"]


def test_picked_numbers_with_bad_input_and_taken_numbers(chat, one_raffle):
    one_raffle.reserve_specific(raffle=one_raffle.raffles[1], numbers=[7], contact="other")

    run(
        chat,
        [
            ("hola", "Pick my numbers", "CHOOSE_MODE"),
            ("pick", ["Which numbers", "00 to 99"], "ASK_PICK_NUMBERS"),
            ("5, abc", "couldn't read \u201cabc\u201d", "ASK_PICK_NUMBERS"),
            ("5, 150", ["150", "not in this raffle"], "ASK_PICK_NUMBERS"),
            ("0-20", "at most 10 numbers", "ASK_PICK_NUMBERS"),
            ("5, 07", ["07 is already taken", "Nothing was reserved", "00, 01, 02"], None),
            ("05\n6", ["numbers 05, 06", "Total: 10.00 USD"], "CONFIRM_RESERVATION", "DRAFT"),
            ("yes", "Transfer to Bank", "WAIT_PROOF", "PENDING_PAYMENT"),
            ("[pdf]", "received your payment proof", "DONE"),
        ],
    )
    assert one_raffle.holder[(1, 5)] == one_raffle.holder[(1, 6)] == 2


def test_several_raffles_are_a_list_with_my_tickets():
    inventory = FakeInventory([FakeRaffle(pk=i, title=f"Raffle {i}") for i in (1, 2)], now=NOW)
    chat = MachineChat(inventory)

    run(
        chat,
        [
            ("hi", ["Raffle 1", "Raffle 2", "3. My tickets"], "MENU"),
            ("#3", "no orders yet", "MENU"),
            ("2", ["Raffle 2", "Pick my numbers"], "CHOOSE_MODE"),
        ],
    )


def test_more_than_ten_raffles_are_paginated():
    inventory = FakeInventory(
        [FakeRaffle(pk=i, title=f"Raffle {i}") for i in range(1, 13)], now=NOW
    )
    chat = MachineChat(inventory)

    first = chat.say("menu")
    assert "8. Raffle 8" in first and "9. More raffles" in first and "10. My tickets" in first
    second = chat.tap(*chat.last_choices[8][:2], is_row=True)
    assert "1. Raffle 9" in second and "4. Raffle 12" in second and "Raffle 8" not in second
    assert len(chat.last_choices) == 6  # 4 raffles, back to the start, my tickets


def test_no_active_raffle_is_said_politely():
    chat = MachineChat(FakeInventory([FakeRaffle(pk=1, title="Old", is_active=False)], now=NOW))

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
    assert one_raffle.available_count(one_raffle.raffles[1]) == 100


def test_a_stale_confirm_button_is_never_acted_on_twice(chat, one_raffle):
    run(
        chat,
        [
            ("hi", "", "CHOOSE_MODE"),
            ("#2", "", "ASK_QTY"),
            ("1", "", "CONFIRM_RESERVATION"),
            ("@confirm:1", "Transfer to Bank", "WAIT_PROOF", "PENDING_PAYMENT"),
            ("@confirm:1", ["waiting for payment", "photo or PDF"], "WAIT_PROOF"),
            ("[image]", "received", "DONE"),
            ("@confirm:1", "being reviewed", "DONE"),
            ("@cancel:99", "can't find that order", None),
        ],
    )
    assert one_raffle.calls.count("submit 1") == 1


def test_a_button_of_a_paid_order_says_it_is_paid(chat, one_raffle):
    run(chat, [("hi", "", None), ("#2", "", None), ("1", "", None), ("#1", "", "WAIT_PROOF")])
    one_raffle.mark_paid(one_raffle.orders[1])

    run(
        chat,
        [("@cancel:1", "already paid", "CHOOSE_MODE"), ("@confirm:1", "already paid", "DONE")],
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
    run(chat, [("hi", "", "CHOOSE_MODE"), (f"[{kind}]", "only read text", "CHOOSE_MODE")])


def test_a_file_outside_wait_proof_is_not_taken_as_a_proof(chat, one_raffle):
    run(chat, [("hi", "", None), ("[image]", "wasn't expecting a file", "CHOOSE_MODE")])
    assert one_raffle.calls == []


def test_the_last_numbers_are_announced_as_sold_out():
    inventory = FakeInventory([FakeRaffle(pk=1, title="Tiny", max_number=1)], now=NOW)
    inventory.reserve_specific(raffle=inventory.raffles[1], numbers=[0, 1], contact="other")
    chat = MachineChat(inventory)

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
def test_global_commands_work_in_every_state(state, command):
    raffles = [FakeRaffle(pk=1, title="Car")]
    if state == "MENU":
        raffles.append(FakeRaffle(pk=2, title="Bike"))
    inventory = FakeInventory(raffles, now=NOW)
    chat = MachineChat(inventory)
    run(chat, REACH[state])
    had_live = inventory.live_order("buyer") is not None
    needed_buyer = had_live and not inventory.live_order("buyer").proofs

    answer = chat.say(command)

    if command.lower().startswith("menu") or command == "Menú":
        expected = (
            "order in progress" if needed_buyer else ("Raffles" if state == "MENU" else "Pick")
        )
        assert expected in answer
    elif command.lower().startswith("cancel"):
        if had_live:
            assert "is cancelled" in answer
            assert inventory.live_order("buyer") is None
        else:
            assert "no order in progress" in answer
    else:
        assert "I sell raffle numbers" in answer
        if state not in ("MENU", "DONE"):
            assert chat.state() == state


def test_a_first_message_of_any_kind_opens_the_menu_without_a_complaint():
    inventory = FakeInventory([FakeRaffle(pk=i, title=f"Raffle {i}") for i in (1, 2)], now=NOW)
    chat = MachineChat(inventory)

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
                ("2", ["Reservado para ti", "Total: 10.00 USD"], "CONFIRM_RESERVATION"),
                ("cancelar", "se liberaron sus números", "CHOOSE_MODE"),
            ],
        )
