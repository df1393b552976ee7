"""`manage.py chat`: a terminal buyer goes through the same webhook pipeline."""

from __future__ import annotations

import io
import random

from django.core.management import call_command

from raffles.models import Order, OrderStatus


def chat(monkeypatch, lines: list[str], *args: str) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    out = io.StringIO()
    call_command("chat", *args, stdout=out)
    return out.getvalue()


def test_a_whole_journey_in_the_terminal(monkeypatch, bot_settings, db):
    random.seed(3)

    output = chat(
        monkeypatch,
        ["hi", "1", "5, 7", "1", "/pdf", "/confirm all good", "/quit", "never read"],
        "--demo",
        "--as",
        "5491199999999",
    )

    assert "Created an active demo raffle" in output
    assert "(1) Pick my numbers" in output
    assert "numbers 05, 07" in output
    assert "received your payment proof" in output
    assert "Payment confirmed" in output
    assert "never read" not in output
    order = Order.objects.get(contact__wa_id="5491199999999")
    assert order.status == OrderStatus.PAID and order.numbers == [5, 7]


def test_a_typed_number_is_a_quantity_when_the_buttons_are_quantities(
    monkeypatch, bot_settings, db
):
    output = chat(monkeypatch, ["hi", "2", "3"], "--demo")

    assert "Total: 15.00 USD" in output  # three numbers, not button 3 ("5")


def test_operator_shortcuts_and_other_kinds(monkeypatch, bot_settings, db):
    output = chat(
        monkeypatch,
        ["hi", "2", "1", "/expire", "/sticker", "/cancel", "/nonsense"],
        "--demo",
    )

    assert "expired" in output
    assert "can't read that kind" in output
    assert "no live order to cancel" in output
    assert "unknown shortcut" in output


def test_the_chat_speaks_as_the_configured_business_number(monkeypatch, bot_settings, db):
    bot_settings.WHATSAPP_PHONE_NUMBER_ID = "777000777"

    output = chat(monkeypatch, ["hi"], "--demo")

    assert "(1) Pick my numbers" in output


def test_without_an_active_raffle_the_chat_says_how_to_get_one(monkeypatch, bot_settings, db):
    output = chat(monkeypatch, ["hi"])

    assert "--demo creates one" in output
    assert "no raffles open" in output


def test_in_local_mode_the_proof_file_arrives_and_a_junk_one_is_refused(
    monkeypatch, bot_settings, db
):
    output = chat(
        monkeypatch,
        ["hi", "1", "5, 7", "1", "/junk", "/pdf", "/quit"],
        "--demo",
        "--as",
        "5491199999998",
    )

    order = Order.objects.get(contact__wa_id="5491199999998")
    assert "We could not use the file you sent" in output
    assert order.is_under_review
    assert [p.status for p in order.proofs.order_by("pk")] == ["REJECTED", "PENDING"]


def test_in_local_mode_a_proof_sent_from_the_terminal_is_stored_even_with_a_worker_running(
    monkeypatch, bot_settings, db
):
    from raffles.models import PaymentProof
    from whatsapp.models import InboundMessage, MediaStatus

    # The task worker of `serve`, racing the terminal: it must find nothing to "download".
    bot_settings.TASKS = {
        "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}
    }

    chat(monkeypatch, ["hi", "2", "1", "1", "/image"], "--demo", "--as", "5491177777777")

    proof = PaymentProof.objects.get(order__contact__wa_id="5491177777777")
    assert proof.file  # the preview in the admin has something to show
    message = InboundMessage.objects.get(contact__wa_id="5491177777777", msg_type="image")
    assert message.media_status == MediaStatus.STORED


def test_an_operators_action_shows_while_the_buyer_is_still_typing(monkeypatch, bot_settings, db):
    import os
    import threading

    from conversation.management.commands.chat import Session
    from raffles import services

    chat_out = io.StringIO()

    class Out:
        def write(self, text: str, ending: str = "\n") -> None:
            chat_out.write(text + ending)

        def flush(self) -> None: ...

    chat(monkeypatch, ["hi", "2", "1", "1"], "--demo")
    buyer = Session(wa_id="5491100000000", name="T", secret="s", out=Out())
    order = Order.objects.get(contact__wa_id="5491100000000")
    services.confirm_payment(order=order)
    read, write = os.pipe()
    threading.Timer(1.6, lambda: os.write(write, b"hi\n")).start()

    with os.fdopen(read) as stdin:
        buyer._wait_for_input(stdin)

    assert "Payment confirmed" in chat_out.getvalue()
