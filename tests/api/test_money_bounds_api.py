"""Money through the API: bounds a raffle may be set to, `order_total_too_large` for what an
order cannot record, and a spec whose money patterns hold every value a response can carry."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from raffles import bounds
from raffles.models import Order, Raffle, TicketNumber, TicketStatus

pytestmark = pytest.mark.django_db

SPEC = json.loads((Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text())
OLD_PRICE = Decimal("9999999999.99")


def spec_pattern(schema: str, field: str) -> str:
    return SPEC["components"]["schemas"][schema]["properties"][field]["pattern"]


def older(raffle: Raffle, **stored) -> Raffle:
    """The raffle as an install from before the bounds may hold it."""
    Raffle.objects.filter(pk=raffle.pk).update(**stored)
    raffle.refresh_from_db()
    return raffle


def test_the_issues_raffle_is_refused_at_creation(api):
    response = api.post_json(
        "/api/v1/raffles",
        {
            "title": "Typo",
            "ticket_price": "9999999999.99",
            "max_number": 999,
            "max_tickets_per_order": 1000,
        },
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["extra"]["errors"][0]["loc"] == ["body", "body", "ticket_price"]
    assert not Raffle.objects.exists()


@pytest.mark.parametrize(
    ("price", "per_order", "status"),
    [
        ("9999999.99", 100_000, 201),
        ("10000000.00", 1, 422),
        ("10000000", 1, 422),
        ("1.00", 100_001, 422),
    ],
)
def test_a_raffle_is_created_only_within_the_bounds(api, price, per_order, status):
    response = api.post_json(
        "/api/v1/raffles",
        {
            "title": "Bounds",
            "ticket_price": price,
            "max_number": 9,
            "max_tickets_per_order": per_order,
        },
    )

    assert response.status_code == status, response.content
    assert Raffle.objects.count() == (status == 201)


def test_a_patch_of_only_the_price_is_checked_against_the_stored_maximum(api, raffle):
    older(raffle, max_tickets_per_order=1_000_000)

    response = api.patch_json(f"/api/v1/raffles/{raffle.pk}", {"ticket_price": "9999999.99"})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "order_total_too_large"
    assert body["extra"]["limit"] == "999999999999.99"
    assert body["extra"]["max_qty"] == 100_000
    raffle.refresh_from_db()
    assert raffle.ticket_price == Decimal("10.00")


def test_a_patch_of_only_the_maximum_is_checked_against_the_stored_price(api, raffle):
    older(raffle, ticket_price=OLD_PRICE)

    response = api.patch_json(f"/api/v1/raffles/{raffle.pk}", {"max_tickets_per_order": 1000})

    assert response.status_code == 422
    assert response.json()["code"] == "order_total_too_large"
    assert response.json()["extra"]["qty"] == 1000
    raffle.refresh_from_db()
    assert raffle.max_tickets_per_order == 10


def test_the_issues_order_is_422_order_total_too_large_and_stores_nothing(api, make_raffle):
    raffle = older(make_raffle(max_number=1000), ticket_price=OLD_PRICE, max_tickets_per_order=1000)

    response = api.post_json(
        "/api/v1/orders", {"raffle_id": raffle.pk, "wa_id": "5491100000001", "qty": 500}
    )

    assert response.status_code == 422
    assert response.json() == {
        "code": "order_total_too_large",
        "detail": (
            "500 numbers at 9999999999.99 would total 4999999999995.00, more than one order can "
            "hold (999999999999.99). At this price an order holds at most 100 numbers."
        ),
        "extra": {
            "limit": "999999999999.99",
            "total": "4999999999995.00",
            "unit_price": "9999999999.99",
            "qty": 500,
            "max_qty": 100,
        },
    }
    assert not Order.objects.exists()
    assert not TicketNumber.objects.exclude(status=TicketStatus.AVAILABLE).exists()
    assert api.get("/api/v1/orders").status_code == 200


def test_every_money_pattern_of_the_spec_is_the_bound_of_its_field():
    price = f"{bounds.ticket_price_max()}"
    total = f"{bounds.order_total_max()}"

    assert re.fullmatch(spec_pattern("RaffleIn", "ticket_price"), price)
    assert not re.fullmatch(spec_pattern("RaffleIn", "ticket_price"), "10000000.00")
    assert spec_pattern("RafflePatch", "ticket_price") == spec_pattern("RaffleIn", "ticket_price")
    assert re.fullmatch(spec_pattern("OrderOut", "total_amount"), total)
    assert not re.fullmatch(spec_pattern("OrderOut", "total_amount"), "1000000000000.00")
    # Responses also carry what raffles and orders stored before the bounds hold.
    largest_price = f"{bounds.largest_storable(bounds.ticket_price_field())}"
    for schema, field in [("RaffleOut", "ticket_price"), ("OrderOut", "unit_price")]:
        assert re.fullmatch(spec_pattern(schema, field), largest_price)


def test_the_spec_documents_order_total_too_large():
    text = json.dumps(SPEC)

    assert (
        "order_total_too_large"
        in SPEC["components"]["schemas"]["ErrorOut"]["properties"]["extra"]["description"]
    )
    assert text.count("order_total_too_large") >= 2
