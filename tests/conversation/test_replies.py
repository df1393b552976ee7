"""Every reply fits WhatsApp's limits, whatever the raffle and the order look like."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import translation

from conversation import replies
from raffles.models import Order, OrderStatus, Raffle

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
LONG = "An extraordinarily long raffle title that goes on and on " * 4


def unsaved_raffle(*, pk: int, title: str, **fields) -> Raffle:
    """An unsaved raffle: wording reads attributes only."""
    values = {
        "ticket_price": Decimal("5.00"),
        "currency": "USD",
        "min_number": 0,
        "max_number": 99,
        "payment_instructions": "Transfer to Bank 123-456.",
    }
    return Raffle(pk=pk, title=title, **{**values, **fields})


@dataclass
class OrderOnPaper:
    """What the wording reads of an order, without a database (500 numbers of a raffle of a
    million would need a million tickets). Its rules are the model's, not copies."""

    pk: int
    raffle: Raffle
    numbers: list[int]
    status: str = OrderStatus.DRAFT
    expires_at: dt.datetime | None = None

    is_under_review = Order.is_under_review

    @property
    def total_amount(self) -> Decimal:
        return self.raffle.ticket_price * len(self.numbers)

    @property
    def currency(self) -> str:
        return self.raffle.currency  # an order takes its raffle's currency when made


def test_money_has_two_decimals_thousands_and_the_currency():
    assert replies.money(Decimal("1234.5"), "ARS") == "1,234.50 ARS"
    assert replies.money(Decimal("5"), "USD") == "5.00 USD"


def test_money_follows_the_language():
    with translation.override("es"):
        assert replies.money(Decimal("15000"), "ARS") == "15.000,00 ARS"
    with translation.override("en"):
        assert replies.money(Decimal("15000"), "ARS") == "15,000.00 ARS"


def test_deadlines_are_told_in_the_raffles_time_zone_without_a_zone_name(settings):
    settings.TIME_ZONE = "UTC"
    raffle = unsaved_raffle(pk=1, title="x", time_zone="America/Argentina/Buenos_Aires")
    moment = dt.datetime(2026, 11, 22, 15, 30, tzinfo=dt.UTC)

    assert replies.when(moment, raffle=raffle, now=NOW) == "12:30"
    assert replies.when(moment + dt.timedelta(days=1), raffle=raffle, now=NOW) == (
        "12:30 on Mon 23 Nov"
    )
    with translation.override("es"):
        assert replies.when(moment + dt.timedelta(days=1), raffle=raffle, now=NOW) == (
            "12:30 del lunes 23 de noviembre"
        )


def test_a_raffle_without_a_zone_uses_the_sites(settings):
    settings.TIME_ZONE = "America/Mexico_City"
    moment = dt.datetime(2026, 11, 22, 15, 30, tzinfo=dt.UTC)

    assert replies.when(moment, raffle=unsaved_raffle(pk=1, title="x"), now=NOW) == "09:30"


def test_numbers_are_zero_padded_to_the_raffles_width():
    raffle = unsaved_raffle(pk=1, title="x", max_number=999)

    assert replies.number_list(raffle, [7, 42, 100]) == "007, 042, 100"


def test_a_long_list_of_numbers_is_cut_with_a_count():
    raffle = unsaved_raffle(pk=1, title="x")

    assert replies.number_list(raffle, range(70), limit=60).endswith("59 and 10 more")


@pytest.mark.parametrize("count", [1, 2, 9, 10, 11, 30])
def test_the_menu_never_has_more_than_ten_rows(count):
    raffles = [(unsaved_raffle(pk=n, title=f"{LONG} {n}"), n) for n in range(count)]

    pages = 0
    page = 0
    while True:
        message = replies.menu(raffles=raffles, page=page)
        message.validate()
        rows = [row for section in message.sections for row in section.rows]
        assert len(rows) <= 10
        assert rows[-1].title == "My tickets"
        pages += 1
        if rows[-2].title != "More raffles":
            break
        page += 1
    expected_pages = 1 if count + 1 <= 10 else -(-count // replies.PAGE_SIZE)
    assert pages == expected_pages


def test_interactive_replies_fit_with_a_huge_order_and_long_texts():
    raffle = unsaved_raffle(
        pk=1,
        title=LONG,
        description=LONG * 5,
        payment_instructions="Bank " * 2000,
        max_number=999_999,
    )
    order = OrderOnPaper(pk=12345, raffle=raffle, numbers=list(range(500)), expires_at=NOW)

    for message in [
        replies.choose_mode(raffle=raffle, left=999_999, prefix=LONG * 10),
        replies.live_order_offer(order=order, prefix=LONG * 10),
        replies.confirm_reservation(order=order, prefix=LONG * 10, now=NOW),
        replies.ask_quantity(raffle=raffle, most=10),
        replies.ask_quantity(raffle=raffle, most=1),
        replies.payment_instructions(order=order, now=NOW),
        replies.my_tickets(orders=[order] * 10),
        replies.notify_paid(order=order),
        replies.numbers_taken(raffle=raffle, taken=list(range(300)), suggestions=[1, 2, 3]),
    ]:
        message.validate()


@pytest.mark.parametrize(
    ("most", "titles"), [(1, ["1"]), (3, ["1", "2", "3"]), (10, ["1", "2", "5"])]
)
def test_quantity_buttons_never_offer_more_than_allowed(most, titles):
    raffle = unsaved_raffle(pk=1, title="x")

    message = replies.ask_quantity(raffle=raffle, most=most)

    assert [button.title for button in message.buttons] == titles
