"""Sales racing their close, with threads and their own connections (run on SQLite and on
PostgreSQL): a sale either commits before the close, and is in the sold list the close
publishes, or is refused. Nothing gets in after."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from model_bakery import baker

from raffles import errors
from raffles.models import Order, Raffle, TicketNumber, TicketStatus
from raffles.services import confirm_payment, reserve_random, submit_order
from raffles.services.draw_proof import sold_list_sha256
from raffles.services.sales import close_sales
from tests.raffles.conftest import make_raffle
from tests.raffles.test_concurrency import race
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db(transaction=True)

SELLERS = 6
ATTEMPTS = 6


def test_a_sale_racing_the_close_is_in_the_published_list_or_refused():
    raffle = make_raffle(max_number=999, draw_at=timezone.now() + timedelta(days=1))
    contacts = [
        [baker.make(Contact, wa_id=f"close{s}-{a}") for a in range(ATTEMPTS)]
        for s in range(SELLERS)
    ]
    some_sold = threading.Event()
    sold_count = [0]
    counter = threading.Lock()

    def seller(mine: list[Contact]) -> list[object]:
        outcomes: list[object] = []
        for contact in mine:
            try:
                with transaction.atomic():
                    order = reserve_random(raffle=raffle, qty=1, contact=contact)
                    confirm_payment(order=submit_order(order=order))
                outcomes.append(order.pk)
                with counter:
                    sold_count[0] += 1
                    if sold_count[0] >= SELLERS:
                        some_sold.set()
            except errors.SalesClosed as refused:
                outcomes.append(refused)
        return outcomes

    def closer() -> Raffle:
        some_sold.wait(timeout=60)
        return close_sales(raffle=raffle)

    results, crashes = race([closer] + [lambda m=m: seller(m) for m in contacts])

    assert not crashes, crashes
    closed = next(r for r in results if isinstance(r, Raffle))
    sold = list(
        TicketNumber.objects.filter(raffle=raffle, status=TicketStatus.SOLD).values_list(
            "number", flat=True
        )
    )
    assert closed.closing_sold_count == len(sold) == Order.objects.filter(raffle=raffle).count()
    assert closed.closing_sold_sha256 == sold_list_sha256(sold, width=3)
    refusals = [o for r in results if isinstance(r, list) for o in r if isinstance(o, Exception)]
    assert len(sold) >= SELLERS and len(sold) + len(refusals) == SELLERS * ATTEMPTS
