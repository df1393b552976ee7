"""GET/POST /api/v1/raffles/{id}/draw: typed, permission-guarded, idempotent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.authtoken.models import Token

from raffles.models import Draw
from tests.api.conftest import ApiClient
from tests.raffles.conftest import make_raffle
from tests.raffles.test_draw import buyers, cut_off, sell, with_prizes

pytestmark = pytest.mark.django_db


@pytest.fixture
def drawable():
    raffle = make_raffle(draw_at=timezone.now() + timedelta(days=1))
    with_prizes(raffle, 2)
    for contact, number in zip(buyers(3), [4, 44, 84], strict=True):
        sell(raffle, contact, [number])
    return cut_off(raffle)


def url(raffle) -> str:
    return f"/api/v1/raffles/{raffle.pk}/draw"


def test_before_the_draw_the_commitment_is_published_and_the_seed_is_not(api, drawable):
    response = api.get(url(drawable))

    body = response.json()
    assert response.status_code == 200
    assert body["drawn"] is False and body["seed"] is None
    assert body["seed_commitment"] == drawable.seed_commitment
    assert drawable.draw_seed not in response.content.decode()
    assert [p["outcome"] for p in body["prizes"]] == ["PENDING", "PENDING"]


def test_posting_runs_the_draw_once_and_again_returns_the_same(api, drawable):
    first = api.post_json(url(drawable))
    second = api.post_json(url(drawable))

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    body = first.json()
    assert body["drawn"] and body["seed"] == drawable.draw_seed
    assert {p["winning_number"] for p in body["prizes"]} <= {"04", "44", "84"}
    assert Draw.objects.count() == 1
    assert api.get(url(drawable)).json() == body


def test_a_draw_before_the_close_is_a_409_with_its_code(api, buyer):
    raffle = make_raffle(draw_at=timezone.now() + timedelta(days=2))
    with_prizes(raffle, 1)

    response = api.post_json(url(raffle))

    assert response.status_code == 409
    assert response.json()["code"] == "sales_still_open"


def test_pending_orders_are_listed_in_the_refusal(api, drawable, buyer):
    from raffles.models import Raffle
    from raffles.services import reserve_specific, submit_order

    Raffle.objects.filter(pk=drawable.pk).update(draw_at=timezone.now() + timedelta(days=1))
    order = submit_order(order=reserve_specific(raffle=drawable, numbers=[9], contact=buyer))
    cut_off(drawable)

    refused = api.post_json(url(drawable))
    drawn = api.post_json(url(drawable), {"cancel_unpaid": True})

    assert refused.status_code == 409
    assert refused.json()["extra"]["order_ids"] == [order.pk]
    assert drawn.status_code == 200 and drawn.json()["cancelled_order_ids"] == [order.pk]


def test_bad_input_is_a_422_and_changes_nothing(api, drawable):
    for body in ({"lottery_results": ["12ab"]}, {"cancel_unpaid": "yes"}, {"surprise": 1}):
        assert api.post_json(url(drawable), body).status_code == 422
    assert api.post_json(url(drawable), {"lottery_results": ["1234"]}).status_code == 422
    assert api.get("/api/v1/raffles/999999/draw").status_code == 404
    assert not Draw.objects.exists()


def test_a_cashier_cannot_run_a_draw(drawable, django_user_model):
    cashier = django_user_model.objects.create_user(username="cashier", is_staff=True)
    cashier.groups.add(Group.objects.get(name="Cashier"))
    client = ApiClient(Token.objects.create(user=cashier).key)

    response = client.post_json(url(drawable))

    assert response.status_code == 403
    assert response.json()["extra"]["missing_permissions"] == ["raffles.run_draw"]
    assert client.get(url(drawable)).status_code == 200
    assert not Draw.objects.exists()


def test_the_committed_spec_documents_both_operations(api):
    spec = api.get("/api/v1/openapi.json").json()

    operations = spec["paths"]["/api/v1/raffles/{raffle_id}/draw"]
    assert {operations["get"]["operationId"], operations["post"]["operationId"]} == {
        "raffles_draw_get",
        "raffles_draw_run",
    }


def test_an_order_after_the_close_is_refused_with_sales_closed_and_nothing_held(api):
    raffle = cut_off(make_raffle(draw_at=timezone.now() + timedelta(days=1)))

    response = api.post_json(
        "/api/v1/orders", {"raffle_id": raffle.pk, "wa_id": "573001234567", "numbers": [5]}
    )

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "sales_closed"
    assert body["extra"]["draw_at"] == raffle.draw_at.isoformat()
    from raffles.models import Order

    assert not Order.objects.exists()


def test_the_secret_seed_appears_nowhere_in_the_api_before_the_draw(api, drawable):
    seed = drawable.draw_seed
    pages = [
        api.get(f"/api/v1/raffles/{drawable.pk}"),
        api.get("/api/v1/raffles"),
        api.get(url(drawable)),
        api.get("/api/v1/orders"),
    ]

    assert all(page.status_code == 200 for page in pages)
    assert not any(seed in page.content.decode() for page in pages)


def test_a_raffle_is_created_with_its_lottery_and_shows_its_draw_setup(api):
    body = {
        "title": "Lottery raffle",
        "ticket_price": "2.00",
        "max_number": 99,
        "draw_method": "LOTTERY",
        "lottery_name": "Lotería de Medellín",
        "lottery_date": "2026-12-20",
        "unsold_policy": "NEXT_RESULT",
        "sales_cutoff_minutes": 30,
    }

    created = api.post_json("/api/v1/raffles", body)
    unnamed = api.post_json("/api/v1/raffles", {**body, "lottery_name": " "})
    as_number = api.post_json("/api/v1/raffles", {**body, "lottery_date": 20261220})

    assert created.status_code == 201, created.content
    shown = created.json()
    assert (shown["draw_method"], shown["lottery_date"], shown["unsold_policy"]) == (
        "LOTTERY",
        "2026-12-20",
        "NEXT_RESULT",
    )
    assert shown["sales_cutoff_minutes"] == 30 and shown["seed_commitment"] == ""
    assert unnamed.status_code == as_number.status_code == 422


def test_switching_to_a_lottery_without_naming_it_is_refused(api):
    raffle = make_raffle(is_active=False)

    response = api.patch_json(f"/api/v1/raffles/{raffle.pk}", {"draw_method": "LOTTERY"})

    assert response.status_code == 409
    assert response.json()["code"] == "lottery_not_named"
    raffle.refresh_from_db()
    assert raffle.draw_method == "RANDOM"


def test_the_draw_setup_cannot_change_through_the_api_once_sales_opened(api, drawable):
    response = api.patch_json(f"/api/v1/raffles/{drawable.pk}", {"unsold_policy": "NEXT_RESULT"})

    assert response.status_code == 409
    assert response.json()["code"] == "draw_setup_locked"
