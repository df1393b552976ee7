"""The draw as buyers see it: the raffle card, "My tickets", the refusal after the close, and
the notices (one per winner, one result for every paid buyer, set-based, carrying their
template values for a buyer outside the 24-hour window)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import override

from conversation.notices import NoticeKind
from raffles.models import DrawMethod, Order, OrderStatus, PrizeOutcome, Raffle
from raffles.services import reserve_specific, submit_order
from raffles.services.draw import run_draw
from tests.conversation.conftest import make_raffle
from tests.conversation.machine_chat import MachineChat, buyer
from tests.raffles.test_draw import buyers, cut_off, sell, with_prizes
from whatsapp.models import MessageTemplate, OutboundMessage, OutboundStatus
from whatsapp.services.delivery import deliver

pytestmark = pytest.mark.django_db


def texts(contact) -> list[str]:
    return [m.payload.get("text", {}).get("body", "") for m in contact.outbound_messages.all()]


@pytest.fixture
def closing(bot_settings) -> Raffle:
    raffle = make_raffle(title="Big Car Raffle", draw_at=timezone.now() + timedelta(days=1))
    with_prizes(raffle, 2)
    return raffle


def test_the_card_says_how_the_raffle_is_drawn(bot_settings):
    make_raffle(
        title="Lottery raffle",
        draw_method=DrawMethod.LOTTERY,
        lottery_name="Lotería de Medellín",
        lottery_date=date(2026, 12, 20),
    )

    card = MachineChat().say("hi")

    assert "last 2 digits of Lotería de Medellín, 20 Dec 2026" in card


def test_a_random_raffle_card_publishes_the_seed_commitment(closing):
    assert closing.seed_commitment in MachineChat().say("hi")


def test_after_the_cut_off_the_card_says_sales_are_closed_and_when_the_draw_is(closing):
    cut_off(closing)

    card = MachineChat().say("hi")

    assert "Sales are closed. The draw is" in card
    assert "Pick my numbers" not in card


def test_in_spanish_the_closed_card_is_spanish(closing):
    cut_off(closing)

    with override("es"):
        card = MachineChat().say("hola")

    assert "Las ventas están cerradas" in card


def test_a_reservation_refused_at_the_close_shows_the_closed_card(closing):
    chat = MachineChat()
    chat.say("hi")
    chat.say("1")  # pick my numbers (the card was open)
    cut_off(closing)

    answer = chat.say("7")

    assert "Sales are closed" in answer
    assert not Order.objects.exists()


def test_my_tickets_shows_a_win_and_the_winning_numbers(closing):
    ana, beto = buyer("573001", "Ana"), buyer("573002", "Beto")
    sell(closing, ana, [7])
    sell(closing, beto, [8])
    cut_off(closing)
    run_draw(raffle=closing)
    winner_numbers = {p.winning_number for p in closing.prizes.all()}

    mine = MachineChat(ana).tap("mine", "My tickets", is_row=True)

    assert "You won Prize" in mine
    assert winner_numbers == {7, 8}


def test_the_drawn_card_lists_the_results(closing):
    sell(closing, buyer("573001"), [7])
    cut_off(closing)
    run_draw(raffle=closing)

    card = MachineChat(buyer("573009")).say("hi")

    assert "has been drawn" in card
    assert "number 07" in card and "the house keeps it" in card


def test_winners_and_every_paid_buyer_are_told_and_nobody_twice(closing):
    contacts = buyers(5)
    for i, contact in enumerate(contacts):
        sell(closing, contact, [10 + i])
    unpaid = buyer("573099", "Unpaid")
    submit_order(order=reserve_specific(raffle=closing, numbers=[50], contact=unpaid))
    cut_off(closing)

    draw = run_draw(raffle=closing, cancel_unpaid=True)

    winners = {e["order_id"] for e in draw.results}
    for contact in contacts:
        notices = list(contact.outbound_messages.filter(notice_kind__in=["draw_result", "winner"]))
        kinds = sorted(m.notice_kind for m in notices)
        order = Order.objects.get(contact=contact)
        expected = ["draw_result", "winner"] if order.pk in winners else ["draw_result"]
        assert kinds == expected, contact
    assert not unpaid.outbound_messages.filter(notice_kind__in=["draw_result", "winner"]).exists()
    assert any("unpaid when the raffle was drawn" in t for t in texts(unpaid))
    for entry in draw.results:
        order = Order.objects.get(pk=entry["order_id"])
        notice = OutboundMessage.objects.get(notice_kind=NoticeKind.WINNER, contact=order.contact)
        body = notice.payload["text"]["body"]
        assert f"Your number {entry['number']} won Prize {entry['position']}" in body
        assert f"#{order.pk}" in body  # how to claim: the order number to quote
        # The same facts fill the winner template when the buyer is outside the window.
        assert notice.template_params == {
            "raffle": "Big Car Raffle",
            "winning_number": entry["number"],
            "prize": f"Prize {entry['position']}",
            "order": str(order.pk),
        }


def test_outside_the_window_the_result_goes_as_its_template_or_waits_visibly_for_one(
    closing, fake_graph
):
    recent, silent, later = buyer("573001", "Recent"), buyer("573002", "Silent"), buyer("573003")
    Contact = type(recent)
    Contact.objects.filter(pk=recent.pk).update(last_inbound_at=timezone.now())
    Contact.objects.filter(pk__in=[silent.pk, later.pk]).update(
        last_inbound_at=timezone.now() - timedelta(days=3)
    )
    for number, contact in enumerate([recent, silent, later], start=1):
        sell(closing, contact, [number])
    cut_off(closing)

    run_draw(raffle=closing)

    rows = {
        m.contact_id: m for m in OutboundMessage.objects.filter(notice_kind=NoticeKind.DRAW_RESULT)
    }
    won = [
        closing.format_number(p.winning_number)
        for p in closing.prizes.order_by("position")
        if p.outcome == PrizeOutcome.WON
    ]
    assert rows[silent.pk].template_params == {
        "raffle": "Big Car Raffle",
        "winning_number": ", ".join(won),
    }
    # Decided at delivery: inside the window the free-form result; outside, with no approved
    # template yet, the row waits (visible, not retried); once one exists it is used.
    assert deliver(outbound_id=rows[recent.pk].pk).status == OutboundStatus.SENT
    waiting = deliver(outbound_id=rows[silent.pk].pk)
    assert waiting.status == OutboundStatus.NEEDS_TEMPLATE and waiting.next_attempt_at is None
    body = "Hi {{1}}, the draw of {{2}} has taken place. The winning number is {{3}}."
    fake_graph.add_template("draw_result", "en_US", body=body)
    MessageTemplate.objects.create(
        name="draw_result",
        language="en_US",
        status="APPROVED",
        category="UTILITY",
        components=[{"type": "BODY", "text": body}],
    )
    assert deliver(outbound_id=rows[later.pk].pk).status == OutboundStatus.SENT
    free_form, template = fake_graph.sent()
    assert free_form["type"] == "text" and "has been drawn" in free_form["text"]["body"]
    assert template["type"] == "template" and template["template"]["name"] == "draw_result"
    values = [p["text"] for p in template["template"]["components"][0]["parameters"]]
    assert values[1:] == ["Big Car Raffle", ", ".join(won)]


def test_telling_many_buyers_costs_a_few_statements_not_one_per_buyer(closing):
    contacts = buyers(60)
    for i, contact in enumerate(contacts):
        sell(closing, contact, [i])
    cut_off(closing)
    Order.objects.filter(raffle=closing).update(status=OrderStatus.PAID)

    with CaptureQueriesContext(connection) as queries:
        run_draw(raffle=closing)

    inserts = [q for q in queries.captured_queries if "whatsapp_outboundmessage" in q["sql"]]
    assert len(inserts) <= 3  # winners, the result: one INSERT each
    assert OutboundMessage.objects.filter(notice_kind=NoticeKind.DRAW_RESULT).count() == 60
