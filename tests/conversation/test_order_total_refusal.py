"""A raffle stored before the money bounds may allow an order whose total cannot be recorded:
the bot refuses it in the buyer's language, says how many numbers fit, and reserves nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from raffles.models import Order, Raffle, TicketNumber, TicketStatus
from tests.conversation.conftest import make_raffle
from tests.conversation.transcripts import run

pytestmark = pytest.mark.django_db


@pytest.fixture
def older_raffle(db, bot_settings):
    # About the money bound, not the site's cap on numbers held (see test_limits.py).
    bot_settings.NUMBERS_HELD_PER_CONTACT_PER_RAFFLE = 1000
    raffle = make_raffle(title="Island", max_number=999)
    Raffle.objects.filter(pk=raffle.pk).update(
        ticket_price=Decimal("9999999999.99"), max_tickets_per_order=1000
    )
    return raffle


def test_an_order_too_large_to_record_is_refused_saying_how_many_fit(chat, older_raffle):
    run(
        chat,
        [
            ("hi", "Island", "CHOOSE_MODE"),
            ("#2", "How many numbers", "ASK_QTY"),
            ("500", ["more than one order can hold", "at most 100 numbers"], "ASK_QTY", None),
            ("100", "Reserved for you", "CONFIRM_RESERVATION", "DRAFT"),
        ],
    )

    assert Order.objects.get().qty == 100


def test_the_refusal_is_in_spanish_for_a_spanish_site(chat, older_raffle, bot_settings):
    bot_settings.LANGUAGE_CODE = "es"

    run(
        chat,
        [
            ("hola", "Island", "CHOOSE_MODE"),
            ("#2", "", "ASK_QTY"),
            ("500", ["más de lo que admite un pedido", "como máximo 100 números"], "ASK_QTY"),
        ],
    )

    assert not Order.objects.exists()
    assert not TicketNumber.objects.exclude(status=TicketStatus.AVAILABLE).exists()
