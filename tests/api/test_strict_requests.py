"""What integrators trip on: a body that is not an object, a key the body does not know, a path
or method that does not exist. Each is a clear JSON error that changes nothing."""

from __future__ import annotations

import json

import pytest

from raffles.models import OrderStatus, Raffle

pytestmark = pytest.mark.django_db

NOT_OBJECTS = ['"hello"', "[null, null]", "5", "true", "null", "[]"]


def send(client, method: str, path: str, raw: str, **extra):
    return client.generic(method, path, raw, content_type="application/json", **extra)


@pytest.mark.parametrize("raw", NOT_OBJECTS)
def test_a_body_that_is_not_an_object_is_422_and_renames_nothing(api, raffle, raw):
    response = send(api, "PATCH", f"/api/v1/raffles/{raffle.pk}", raw)

    assert response.status_code == 422
    assert response.json()["detail"] == "The request body must be a JSON object."
    assert response.json()["extra"]["errors"] == [
        {"loc": ["body"], "msg": "expected a JSON object", "type": "dict_type"}
    ]
    assert Raffle.objects.get(pk=raffle.pk).title == "Summer raffle"


@pytest.mark.parametrize("layer", ["/api/v1", "/api"])
@pytest.mark.parametrize("action", ["confirm-payment", "cancel"])
@pytest.mark.parametrize("raw", NOT_OBJECTS)
def test_confirm_and_cancel_refuse_a_body_that_is_not_an_object(api, order, layer, action, raw):
    response = send(api, "POST", f"{layer}/orders/{order.pk}/{action}", raw)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


@pytest.mark.parametrize("raw", NOT_OBJECTS)
def test_creating_refuses_a_body_that_is_not_an_object(api, raw):
    for path in ("/api/v1/raffles", "/api/v1/orders", "/api/v1/webhook-subscriptions"):
        response = send(api, "POST", path, raw)

        assert response.status_code == 422, (path, response.content)
        assert response.json()["extra"]["errors"][0]["type"] == "dict_type"


def test_a_body_that_is_not_json_says_so(api, order):
    response = send(api, "POST", f"/api/v1/orders/{order.pk}/cancel", "{nope")

    assert response.status_code == 422
    assert response.json()["extra"]["errors"][0]["type"] == "json_invalid"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/v1/raffles/{raffle}", {"bogus": 1}),
        ("PATCH", "/api/v1/raffles/{raffle}", {"title": "New", "titel": "Typo"}),
        ("POST", "/api/v1/orders/{order}/confirm-payment", {"notes": "typo"}),
        ("POST", "/api/v1/orders/{order}/cancel", {"bogus": 1}),
        ("POST", "/api/v1/orders", {"raffle_id": 1, "wa_id": "5491100000009", "qty": 1, "x": 1}),
        ("POST", "/api/orders/{order}/confirm-payment", {"notes": "typo"}),
        ("POST", "/api/orders/{order}/cancel", {"bogus": 1}),
    ],
)
def test_an_unknown_body_key_is_422_naming_it_and_changes_nothing(
    api, raffle, order, method, path, body
):
    response = send(api, method, path.format(raffle=raffle.pk, order=order.pk), json.dumps(body))

    assert response.status_code == 422, response.content
    errors = response.json()["extra"]["errors"]
    assert [e["type"] for e in errors] == ["extra_forbidden"]
    assert errors[0]["loc"][-1] in {"bogus", "titel", "notes", "x"}
    raffle.refresh_from_db()
    order.refresh_from_db()
    assert (raffle.title, order.status) == ("Summer raffle", OrderStatus.PENDING_PAYMENT)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/nothing-here", 404, "not_found"),
        ("GET", "/api/v1/orders/", 404, "not_found"),
        ("GET", "/api/v1/raffles/1/tickets/", 404, "not_found"),
        ("GET", "/api/nothing-here", 404, "not_found"),
        ("PUT", "/api/v1/orders", 405, "method_not_allowed"),
        ("DELETE", "/api/v1/orders/1/cancel", 405, "method_not_allowed"),
    ],
)
def test_unknown_paths_and_methods_answer_the_error_body_not_html(api, method, path, status, code):
    response = api.generic(method, path)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "detail", "extra"}


def test_a_405_says_which_methods_are_allowed(api):
    response = api.put("/api/v1/orders")

    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_an_empty_idempotency_key_is_a_validation_error_with_loc_msg_and_type(api, order):
    response = api.post_json(
        f"/api/v1/orders/{order.pk}/cancel", {}, headers={"Idempotency-Key": ""}
    )

    assert response.status_code == 422
    assert response.json()["extra"]["errors"] == [
        {"loc": ["header", "Idempotency-Key"], "msg": "invalid length", "type": "string_length"}
    ]
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
