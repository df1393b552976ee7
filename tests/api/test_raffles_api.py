"""/api/v1/raffles: list, create (with its numbers), get, update, delete, availability, tickets."""

from __future__ import annotations

import pytest
from model_bakery import baker

from raffles import services
from raffles.models import Raffle, RaffleEvent, TicketNumber, TicketStatus

pytestmark = pytest.mark.django_db


def test_the_list_filters_by_is_active(api, make_raffle):
    active = make_raffle(title="On")
    make_raffle(title="Off", is_active=False)

    response = api.get("/api/v1/raffles?is_active=true")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [r["id"] for r in body["results"]] == [active.pk]
    assert body["next"] is None and body["previous"] is None


def test_a_raffle_prints_money_as_a_string_and_times_with_an_offset(api, raffle):
    body = api.get(f"/api/v1/raffles/{raffle.pk}").json()

    assert body["ticket_price"] == "10.00"
    assert body["created_at"].endswith("+00:00")
    assert body["tickets_ready"] is True
    assert body["is_active"] is True


def test_creating_a_raffle_generates_its_numbers(api):
    response = api.post_json(
        "/api/v1/raffles",
        {
            "title": "Car",
            "ticket_price": "25.50",
            "min_number": 0,
            "max_number": 99,
            "is_active": True,
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ticket_price"] == "25.50"
    assert body["tickets_ready"] is True and body["is_active"] is True
    assert TicketNumber.objects.filter(raffle_id=body["id"]).count() == 100


def test_a_raffle_with_an_empty_range_is_409_invalid_range(api):
    response = api.post_json(
        "/api/v1/raffles", {"title": "Bad", "ticket_price": "1", "min_number": 9, "max_number": 1}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_range"


@pytest.mark.parametrize(
    "change",
    [
        {"ticket_price": 10.5},
        {"ticket_price": "1.234"},
        {"max_number": "10"},
        {"is_active": 1},
        {"max_number": False},
    ],
)
def test_json_bodies_are_typed_strictly(api, change):
    body = {"title": "T", "ticket_price": "1.00", "max_number": 10, **change}

    response = api.post_json("/api/v1/raffles", body)

    assert response.status_code == 422, response.content


def test_a_negative_price_is_422(api):
    response = api.post_json(
        "/api/v1/raffles", {"title": "Bad", "ticket_price": "-1", "max_number": 10}
    )

    assert response.status_code == 422


def test_patch_changes_only_the_fields_sent(api, raffle):
    response = api.patch_json(
        f"/api/v1/raffles/{raffle.pk}", {"title": "Winter raffle", "ticket_price": "12.00"}
    )

    assert response.status_code == 200, response.content
    raffle.refresh_from_db()
    assert raffle.title == "Winter raffle"
    assert str(raffle.ticket_price) == "12.00"
    assert raffle.is_active is True


def test_api_changes_are_recorded_with_the_tokens_user(api, admin_token, raffle):
    raffle_pk = raffle.pk

    api.patch_json(f"/api/v1/raffles/{raffle_pk}", {"ticket_price": "12.00", "is_active": False})
    api.delete(f"/api/v1/raffles/{raffle_pk}")

    events = RaffleEvent.objects.filter(raffle_pk=raffle_pk, actor=admin_token.user)
    assert [event.change for event in events] == ["UPDATED", "DEACTIVATED", "DELETED"]
    assert events[0].changes == {"ticket_price": {"before": "10.00", "after": "12.00"}}


def test_patch_can_close_and_reopen_sales(api, raffle):
    closed = api.patch_json(f"/api/v1/raffles/{raffle.pk}", {"is_active": False}).json()
    opened = api.patch_json(f"/api/v1/raffles/{raffle.pk}", {"is_active": True}).json()

    assert closed["is_active"] is False
    assert opened["is_active"] is True


def test_activating_a_raffle_whose_numbers_are_missing_is_409(api):
    raffle = baker.make(Raffle, min_number=1, max_number=10, ticket_price=1)

    response = api.patch_json(f"/api/v1/raffles/{raffle.pk}", {"is_active": True})

    assert response.status_code == 409
    assert response.json()["code"] == "raffle_not_ready"


def test_a_raffle_nobody_bought_from_can_be_deleted_with_its_numbers(api, raffle):
    response = api.delete(f"/api/v1/raffles/{raffle.pk}")

    assert response.status_code == 204
    assert not Raffle.objects.filter(pk=raffle.pk).exists()
    assert not TicketNumber.objects.filter(raffle_id=raffle.pk).exists()


def test_a_raffle_with_an_order_even_cancelled_cannot_be_deleted(api, raffle, order):
    services.cancel_order(order=order, reason="changed mind")

    response = api.delete(f"/api/v1/raffles/{raffle.pk}")

    assert response.status_code == 409
    assert response.json()["code"] == "raffle_in_use"
    assert Raffle.objects.filter(pk=raffle.pk).exists()


def test_availability_gives_counts_and_ranges(api, raffle, make_order):
    make_order(numbers=[5, 6])
    paid = make_order(numbers=[50])
    services.confirm_payment(order=paid)

    body = api.get(f"/api/v1/raffles/{raffle.pk}/availability").json()

    assert body == {
        "raffle_id": raffle.pk,
        "total": 100,
        "counts": {"AVAILABLE": 97, "RESERVED": 2, "SOLD": 1},
        "available_ranges": [
            {"first": 1, "last": 4},
            {"first": 7, "last": 49},
            {"first": 51, "last": 100},
        ],
    }


def test_tickets_are_paginated_and_filtered_by_status_and_range(api, raffle, make_order):
    order = make_order(numbers=[10, 20, 30])

    body = api.get(
        f"/api/v1/raffles/{raffle.pk}/tickets?status=RESERVED&number_min=15&number_max=40"
    ).json()

    assert body["count"] == 2
    assert body["results"] == [
        {
            "number": 20,
            "label": "020",
            "status": "RESERVED",
            "order_id": order.pk,
            "reserved_until": body["results"][0]["reserved_until"],
        },
        {
            "number": 30,
            "label": "030",
            "status": "RESERVED",
            "order_id": order.pk,
            "reserved_until": body["results"][1]["reserved_until"],
        },
    ]
    assert body["results"][0]["reserved_until"].endswith("+00:00")


def test_ticket_pages_link_to_each_other(api, raffle):
    first = api.get(f"/api/v1/raffles/{raffle.pk}/tickets?page_size=30").json()
    last = api.get(first["next"].replace("http://testserver", "")).json()
    last = api.get(last["next"].replace("http://testserver", "")).json()
    last = api.get(last["next"].replace("http://testserver", "")).json()

    assert first["count"] == 100
    assert first["next"].startswith("http://testserver/api/v1/raffles/")
    assert "page=2" in first["next"] and "page_size=30" in first["next"]
    assert [t["number"] for t in last["results"]] == list(range(91, 101))
    assert last["next"] is None
    assert "page=3" in last["previous"]


def test_an_unknown_raffle_is_404(api):
    assert api.get("/api/v1/raffles/424242/availability").status_code == 404
    assert api.get("/api/v1/raffles/424242/tickets").status_code == 404


def test_available_status_of_tickets_is_listed(api, raffle):
    body = api.get(f"/api/v1/raffles/{raffle.pk}/tickets?status=AVAILABLE&page_size=5").json()

    assert body["count"] == 100
    assert all(t["status"] == TicketStatus.AVAILABLE for t in body["results"])


def test_a_draw_time_with_any_iso_offset_is_stored_in_utc(api):
    response = api.post_json(
        "/api/v1/raffles",
        {
            "title": "T",
            "ticket_price": "1.00",
            "max_number": 10,
            "draw_at": "2030-06-26T23:26:17.4+18:39",
        },
    )

    assert response.status_code == 201, response.content
    assert response.json()["draw_at"] == "2030-06-26T04:47:17.400000+00:00"
