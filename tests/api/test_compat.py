"""The DRF layer at /api/: the original paths, DRF token auth and envelope, the same JSON."""

from __future__ import annotations

import pytest

from raffles import services
from raffles.models import OrderStatus
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def drf(admin_token) -> ApiClient:
    return ApiClient(admin_token.key, "Token")


@pytest.mark.parametrize("slash", ["", "/"])
def test_pending_payment_orders_in_the_drf_envelope(drf, make_order, slash):
    pending = make_order(numbers=[1])
    services.confirm_payment(order=make_order(numbers=[2]))

    response = drf.get(f"/api/orders/pending-payment{slash}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    assert [o["id"] for o in body["results"]] == [pending.pk]


@pytest.mark.parametrize("slash", ["", "/"])
def test_orders_filter_by_status_raffle_and_contact(drf, raffle, make_raffle, make_order, slash):
    pending = make_order(numbers=[1])
    paid = services.confirm_payment(order=make_order(numbers=[2]))
    other = make_order(raffle=make_raffle(title="Other"), numbers=[3])

    def ids(query: str) -> list[int]:
        response = drf.get(f"/api/orders{slash}?{query}")
        assert response.status_code == 200, response.content
        return [o["id"] for o in response.json()["results"]]

    assert ids("status=PENDING_PAYMENT") == [other.pk, pending.pk]
    assert ids("status=PAID") == [paid.pk]
    assert ids(f"raffle={raffle.pk}") == [paid.pk, pending.pk]
    assert ids(f"contact={other.contact_id}") == [other.pk]


def test_an_invalid_filter_is_422_with_the_error_body(drf):
    response = drf.get("/api/orders?status=NOPE")

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["extra"]["errors"][0]["loc"] == ["query", "status"]


def test_the_drf_list_pages_with_next(drf, make_order):
    for n in range(1, 4):
        make_order(numbers=[n])

    first = drf.get("/api/orders?page_size=2").json()
    second = drf.get(first["next"]).json()

    assert first["count"] == 3 and len(first["results"]) == 2
    assert second["next"] is None and len(second["results"]) == 1


@pytest.mark.parametrize("slash", ["", "/"])
def test_confirm_payment_with_the_proof_media_id(drf, order, slash):
    response = drf.post_json(
        f"/api/orders/{order.pk}/confirm-payment{slash}", {"payment_proof_media_id": "media-9"}
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == OrderStatus.PAID
    assert response.json()["proofs"][0]["media_id"] == "media-9"


def test_confirm_payment_without_a_body(drf, order):
    response = drf.post(f"/api/orders/{order.pk}/confirm-payment")

    assert response.status_code == 200
    assert response.json()["status"] == OrderStatus.PAID


@pytest.mark.parametrize("slash", ["", "/"])
def test_cancel_with_a_reason_and_again(drf, order, slash):
    first = drf.post_json(f"/api/orders/{order.pk}/cancel{slash}", {"reason": "no pago"})
    again = drf.post_json(f"/api/orders/{order.pk}/cancel{slash}", {})

    assert first.status_code == again.status_code == 200
    assert again.json()["cancel_reason"] == "no pago"


def test_wrong_state_is_409_with_the_same_error_body_as_v1(drf, api, order):
    services.cancel_order(order=order)

    old = drf.post_json(f"/api/orders/{order.pk}/confirm-payment", {})
    new = api.post_json(f"/api/v1/orders/{order.pk}/confirm-payment", {})

    assert old.status_code == new.status_code == 409
    assert old.json() == new.json()


def test_an_unknown_order_is_404_with_the_error_body(drf):
    response = drf.post_json("/api/orders/999999/cancel", {})

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found.", "extra": {}}


@pytest.mark.parametrize("slash", ["", "/"])
def test_availability(drf, raffle, make_order, slash):
    make_order(numbers=[3])

    body = drf.get(f"/api/raffles/{raffle.pk}/availability{slash}").json()

    assert body["counts"] == {"AVAILABLE": 99, "RESERVED": 1, "SOLD": 0}
    assert body["available_ranges"] == [{"first": 1, "last": 2}, {"first": 4, "last": 100}]


def test_drf_uses_the_same_tokens_and_answers_401_and_403_with_the_error_body(
    make_token, anonymous, order
):
    no_token = anonymous.get("/api/orders")
    wrong = ApiClient("nope", "Token").get("/api/orders")
    not_staff = ApiClient(make_token("raffles.view_order", is_staff=False).key, "Token")
    no_perm = ApiClient(make_token().key, "Token")

    assert no_token.status_code == wrong.status_code == 401
    assert no_token.json()["code"] == wrong.json()["code"] == "not_authenticated"
    assert not_staff.get("/api/orders").status_code == 403
    refused = no_perm.post_json(f"/api/orders/{order.pk}/confirm-payment", {})
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"


def test_both_layers_print_the_same_json_for_the_same_order(drf, api, order):
    from django.core.files.base import ContentFile

    services.attach_payment_proof(
        order=order,
        media_id="m1",
        mime_type="image/png",
        file=ContentFile(b"\x89PNG\r\n\x1a\n png", "p.png"),
    )

    new = api.get(f"/api/v1/orders/{order.pk}").json()
    old_list = drf.get("/api/orders?status=PENDING_PAYMENT").json()["results"]
    new_list = api.get("/api/v1/orders?status=PENDING_PAYMENT").json()["results"]
    old_cancel = drf.post_json(f"/api/orders/{order.pk}/cancel", {"reason": "x"}).json()
    new_cancel = api.post_json(f"/api/v1/orders/{order.pk}/cancel", {}).json()

    assert old_list == new_list == [new]
    assert old_cancel == new_cancel
    assert new["proofs"][0]["download_url"].startswith("http://testserver/api/v1/")


def test_both_layers_print_the_same_availability(drf, api, raffle, make_order):
    make_order(numbers=[10, 11])

    assert (
        drf.get(f"/api/raffles/{raffle.pk}/availability").json()
        == api.get(f"/api/v1/raffles/{raffle.pk}/availability").json()
    )


def test_drf_posts_honour_the_idempotency_key(drf, order, make_order):
    first = drf.post_json(
        f"/api/orders/{order.pk}/confirm-payment", {}, headers={"Idempotency-Key": "c1"}
    )
    replay = drf.post_json(
        f"/api/orders/{order.pk}/confirm-payment", {}, headers={"Idempotency-Key": "c1"}
    )

    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()


# --- The same auth and validation as /api/v1/ ----------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_drf_accepts_bearer_as_the_readme_says_and_token(admin_token, order, scheme):
    client = ApiClient(admin_token.key, scheme)

    assert client.get("/api/orders").status_code == 200
    assert client.post_json(f"/api/orders/{order.pk}/cancel", {}).status_code == 200


def test_a_wrong_bearer_token_is_401_with_the_error_body(order):
    response = ApiClient("nope", "Bearer").get("/api/orders")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("bogus=1", 422),  # unknown query parameter
        ("page_size=1000", 422),  # above the maximum page size
        ("page_size=0", 422),
        ("page=0", 422),
        ("page=99", 200),  # past the end: an empty page
        ("raffle=0", 422),
        ("updated_after=yesterday", 422),
    ],
)
def test_drf_list_validation_matches_v1(drf, api, make_order, query, status):
    make_order(numbers=[1])

    old = drf.get(f"/api/orders?{query}")
    new = api.get(f"/api/v1/orders?{query}")

    assert old.status_code == new.status_code == status
    if status == 422:
        assert old.json()["extra"]["errors"] == new.json()["extra"]["errors"]
    else:
        assert old.json()["results"] == new.json()["results"] == []


@pytest.mark.parametrize(
    "body", [{"reason": 5}, {"reason": None}, {"reason": "x" * 2001}, {"reason": ["a"]}]
)
def test_drf_body_validation_matches_v1(drf, api, order, body):
    old = drf.post_json(f"/api/orders/{order.pk}/cancel", body)
    new = api.post_json(f"/api/v1/orders/{order.pk}/cancel", body)

    assert old.status_code == new.status_code == 422
    assert old.json() == new.json()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_drf_still_reads_form_bodies_the_one_documented_difference(drf, order):
    response = drf.post(f"/api/orders/{order.pk}/cancel", {"reason": "by form"})

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.cancel_reason == "by form"


def test_drf_form_bodies_are_held_to_the_same_fields(drf, order):
    response = drf.post(f"/api/orders/{order.pk}/cancel", {"reasn": "typo"})

    assert response.status_code == 422
    assert response.json()["extra"]["errors"][0]["type"] == "extra_forbidden"


@pytest.mark.parametrize("action", ["confirm-payment", "cancel"])
def test_drf_posts_refuse_unknown_query_parameters_as_v1_does(drf, api, order, action):
    old = drf.post_json(f"/api/orders/{order.pk}/{action}?bogus=1", {})
    new = api.post_json(f"/api/v1/orders/{order.pk}/{action}?bogus=1", {})

    assert old.status_code == new.status_code == 422
    assert old.json() == new.json()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
