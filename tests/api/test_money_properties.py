"""Property: whatever the price, the maximum per order and the quantity, an attempt either gets
a clear 4xx and stores nothing, or creates an order that reads back in every order list
(`GET /api/v1/orders`, `GET /api/orders`, the admin's order list), with money the spec allows.

Prices and quantities cluster around the bounds. Some raffles are set up through the API (held
to the bounds); others are planted as an install from before the bounds may hold them, so the
order guard itself is exercised. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from raffles import bounds, services
from raffles.formatting import money
from raffles.models import Order, Raffle, TicketNumber, TicketStatus
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

SPEC = json.loads((Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text())
ORDER_OUT = SPEC["components"]["schemas"]["OrderOut"]["properties"]
NUMBERS = 1000  # the most one API order may ask for

PRICE_MAX = bounds.ticket_price_max()
PER_ORDER_MAX = bounds.tickets_per_order_max()
TOTAL_MAX = bounds.order_total_max()
CENT = Decimal("0.01")

prices = st.one_of(
    st.sampled_from(
        [
            Decimal("0.00"),
            CENT,
            PRICE_MAX - CENT,
            PRICE_MAX,
            PRICE_MAX + CENT,
            TOTAL_MAX / 1000,
            (TOTAL_MAX / 1000 + CENT).quantize(CENT),
            Decimal("9999999999.99"),  # the largest the column held before the bounds
        ]
    ),
    st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2),
).map(lambda d: d.quantize(CENT))
per_order = st.one_of(
    st.sampled_from([1, 100, 999, 1000, PER_ORDER_MAX, PER_ORDER_MAX + 1, 2**31 - 1]),
    st.integers(min_value=1, max_value=2**31 - 1),
)
quantities = st.one_of(st.sampled_from([1, 100, 101, 500, 999, 1000]), st.integers(1, NUMBERS))


@pytest.fixture
def readers(admin_token, settings):
    """The three order lists, each as the integrations and operators reach it."""
    # About money bounds, not the cap on numbers one buyer holds (tests/raffles/test_limits.py).
    settings.NUMBERS_HELD_PER_CONTACT_PER_RAFFLE = 10**6
    admin = Client()
    admin.force_login(admin_token.user)
    return {
        "api": ApiClient(admin_token.key),
        "compat": ApiClient(admin_token.key, scheme="Token"),
        "admin": admin,
    }


def _raffle_through_the_api(api: ApiClient, price: Decimal, most: int) -> Raffle | None:
    """Set up through the API, which holds the raffle to the bounds."""
    before = Raffle.objects.count()
    response = api.post_json(
        "/api/v1/raffles",
        {
            "title": "Bounds",
            "ticket_price": f"{price}",
            "min_number": 1,
            "max_number": NUMBERS,
            "max_tickets_per_order": most,
            "is_active": True,
        },
    )
    within = price <= PRICE_MAX and most <= PER_ORDER_MAX
    if not within:
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "validation_error"
        assert Raffle.objects.count() == before
        return None
    assert response.status_code == 201, response.content
    return Raffle.objects.get(pk=response.json()["id"])


def _older_raffle(price: Decimal, most: int) -> Raffle:
    """As an install from before the bounds may hold it: stored without validation."""
    raffle = services.create_raffle(
        title="Older",
        ticket_price=Decimal("1.00"),
        min_number=1,
        max_number=NUMBERS,
        is_active=True,
    )
    Raffle.objects.filter(pk=raffle.pk).update(ticket_price=price, max_tickets_per_order=most)
    raffle.refresh_from_db()
    return raffle


def _reads_back(readers: dict, raffle: Raffle, order_id: int, total: str, unit: str) -> None:
    for path, client in [
        (f"/api/v1/orders?raffle={raffle.pk}", readers["api"]),
        (f"/api/orders?raffle={raffle.pk}", readers["compat"]),
    ]:
        response = client.get(path)
        assert response.status_code == 200, (path, response.content[:500])
        listed = {row["id"]: row for row in response.json()["results"]}
        assert (listed[order_id]["total_amount"], listed[order_id]["unit_price"]) == (total, unit)
    page = readers["admin"].get(f"/admin/raffles/order/?raffle__id__exact={raffle.pk}")
    assert page.status_code == 200
    # The admin says the total as the bot and the CSV do (grouped digits, the language's marks).
    assert money(Decimal(total), raffle.currency) in page.content.decode()


@given(price=prices, most=per_order, qty=quantities, older=st.booleans())
@example(price=Decimal("9999999999.99"), most=1000, qty=500, older=False)  # the raffle
@example(price=Decimal("9999999999.99"), most=1000, qty=500, older=True)  # ... stored before
@example(price=Decimal("9999999999.99"), most=1000, qty=100, older=True)  # 12 digits: fits
@example(price=PRICE_MAX, most=PER_ORDER_MAX, qty=NUMBERS, older=False)
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_an_order_is_refused_clearly_or_reads_back_in_every_list(readers, price, most, qty, older):
    api = readers["api"]
    with transaction.atomic():
        raffle = _older_raffle(price, most) if older else _raffle_through_the_api(api, price, most)
        if raffle is not None:
            response = api.post_json(
                "/api/v1/orders",
                {"raffle_id": raffle.pk, "wa_id": "5491100000001", "name": "Ana", "qty": qty},
            )

            if qty > most:
                expected = (409, "invalid_quantity")
            elif price * qty > TOTAL_MAX:
                expected = (422, "order_total_too_large")
            else:
                expected = (201, None)
            body = response.json()
            assert (response.status_code, body.get("code")) == expected, body
            if response.status_code == 201:
                total, unit = body["total_amount"], body["unit_price"]
                assert Decimal(total) == price * qty and Decimal(unit) == price
                assert re.fullmatch(ORDER_OUT["total_amount"]["pattern"], total)
                assert re.fullmatch(ORDER_OUT["unit_price"]["pattern"], unit)
                _reads_back(readers, raffle, body["id"], total, unit)
            else:
                assert not Order.objects.filter(raffle=raffle).exists()
                assert (
                    not TicketNumber.objects.filter(raffle=raffle)
                    .exclude(status=TicketStatus.AVAILABLE)
                    .exists()
                )
                assert readers["api"].get("/api/v1/orders").status_code == 200
        transaction.set_rollback(True)  # the next example starts from an empty database
