"""One error body everywhere; bad input is a 4xx, never a 500."""

from __future__ import annotations

import pytest

from raffles import services

pytestmark = pytest.mark.django_db


def test_an_unknown_order_is_404_with_the_error_body(api):
    response = api.get("/api/v1/orders/999999")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found.", "extra": {}}


def test_an_invalid_query_value_is_422_naming_the_field(api):
    response = api.get("/api/v1/orders?status=NOPE")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["extra"]["errors"][0]["loc"] == ["query", "status"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/0",
        "/api/v1/orders/99999999999999999999999",
        "/api/v1/orders/-1",
        "/api/v1/orders?raffle=99999999999999999999999",
        "/api/v1/orders?created_after=yesterday",
        "/api/v1/raffles/1/tickets?number_min=99999999999999999999",
        "/api/v1/orders?page=0",
        "/api/v1/orders?page_size=100000",
        "/api/v1/orders?updated_before=0.5",
        "/api/v1/orders?created_after=1700000000",
    ],
)
def test_absurd_values_are_422_not_500(api, path):
    response = api.get(path)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "validation_error"


def test_a_nul_character_in_a_search_is_not_a_server_error(api):
    response = api.get("/api/v1/contacts?search=a%00b")

    assert response.status_code == 200


def test_a_body_that_is_not_json_is_422(api, order):
    response = api.post(
        f"/api/v1/orders/{order.pk}/cancel", "{not json", content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_taken_numbers_are_409_tickets_taken_naming_them(api, raffle, order):
    response = api.post_json(
        "/api/v1/orders",
        {"raffle_id": raffle.pk, "wa_id": "5491155550000", "name": "Ana", "numbers": [8, 9]},
    )

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "tickets_taken"
    assert body["extra"] == {"numbers": [8]}
    assert "8" in body["detail"]


def test_confirming_a_draft_order_is_409_order_not_pending(api, raffle, buyer):
    draft = services.reserve_specific(raffle=raffle, numbers=[3], contact=buyer)

    response = api.post_json(f"/api/v1/orders/{draft.pk}/confirm-payment", {})

    assert response.status_code == 409
    assert response.json()["code"] == "order_not_pending"
    assert response.json()["extra"]["order_id"] == draft.pk


def test_numbers_outside_the_raffle_are_409_naming_them(api, raffle):
    response = api.post_json(
        "/api/v1/orders",
        {"raffle_id": raffle.pk, "wa_id": "5491155550000", "numbers": [500]},
    )

    assert response.status_code == 409
    assert response.json()["code"] == "numbers_out_of_range"
    assert response.json()["extra"]["numbers"] == [500]


def test_an_unexpected_error_is_a_json_500_without_a_traceback(api, monkeypatch):
    import raffles.selectors

    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(raffles.selectors, "availability_data", lambda raffle: boom())
    from model_bakery import baker

    raffle = baker.make("raffles.Raffle", min_number=1, max_number=5)

    response = api.get(f"/api/v1/raffles/{raffle.pk}/availability")

    assert response.status_code == 500
    assert response.json() == {
        "code": "server_error",
        "detail": "Internal server error.",
        "extra": {},
    }
