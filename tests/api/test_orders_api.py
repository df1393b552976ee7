"""/api/v1/orders: filters and paging for n8n polling, detail, proofs, create, confirm, cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from raffles import services
from raffles.models import Order, OrderStatus, TicketNumber, TicketStatus
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [o["id"] for o in response.json()["results"]]


def test_an_order_shows_numbers_buyer_money_and_deadline(api, order):
    body = api.get(f"/api/v1/orders/{order.pk}").json()

    assert body["status"] == "PENDING_PAYMENT"
    assert body["numbers"] == [7, 8]
    assert body["qty"] == 2
    assert body["unit_price"] == "10.00"
    assert body["total_amount"] == "20.00"
    assert body["currency"] == "USD"
    assert body["buyer"] == {
        "id": order.contact.pk,
        "wa_id": order.contact.wa_id,
        "name": order.contact.profile_name,
    }
    assert body["expires_at"].endswith("+00:00")
    assert body["has_proof"] is False and body["proofs"] == []


def test_the_list_filters_by_status_raffle_and_contact(api, raffle, make_raffle, make_order):
    pending = make_order(numbers=[1])
    paid = services.confirm_payment(order=make_order(numbers=[2]))
    other_raffle = make_raffle(title="Other")
    elsewhere = make_order(raffle=other_raffle, numbers=[3])

    assert ids(api.get("/api/v1/orders?status=PENDING_PAYMENT")) == [elsewhere.pk, pending.pk]
    assert ids(api.get("/api/v1/orders?status=PAID")) == [paid.pk]
    assert ids(api.get(f"/api/v1/orders?raffle={other_raffle.pk}")) == [elsewhere.pk]
    assert ids(api.get(f"/api/v1/orders?contact={pending.contact_id}")) == [pending.pk]


def test_the_list_filters_by_proof(api, make_order):
    with_proof = make_order(numbers=[1])
    services.attach_payment_proof(order=with_proof, media_id="m1", mime_type="image/jpeg")
    without = make_order(numbers=[2])

    assert ids(api.get("/api/v1/orders?has_proof=true")) == [with_proof.pk]
    assert ids(api.get("/api/v1/orders?has_proof=false")) == [without.pk]


def test_the_list_filters_by_created_and_updated_times(api, make_order):
    old = make_order(numbers=[1])
    new = make_order(numbers=[2])
    long_ago = timezone.now() - timedelta(days=3)
    Order.objects.filter(pk=old.pk).update(created_at=long_ago, updated_at=long_ago)
    since = (timezone.now() - timedelta(days=1)).isoformat()

    assert ids(api.get("/api/v1/orders", {"created_after": since})) == [new.pk]
    assert ids(api.get("/api/v1/orders", {"created_before": since})) == [old.pk]
    assert ids(api.get("/api/v1/orders", {"updated_after": since})) == [new.pk]
    assert ids(api.get("/api/v1/orders", {"updated_before": since})) == [old.pk]


def test_a_status_change_shows_up_when_polling_updated_after(api, make_order):
    order = make_order(numbers=[1])
    long_ago = timezone.now() - timedelta(days=3)
    Order.objects.filter(pk=order.pk).update(updated_at=long_ago)
    since = (timezone.now() - timedelta(minutes=1)).isoformat()
    assert ids(api.get("/api/v1/orders", {"updated_after": since})) == []

    services.cancel_order(order=order, reason="no payment")

    assert ids(api.get("/api/v1/orders", {"updated_after": since})) == [order.pk]


def test_the_list_pages_with_a_next_link(api, make_order):
    orders = [make_order(numbers=[n]) for n in range(1, 6)]

    first = api.get("/api/v1/orders?status=PENDING_PAYMENT&page_size=2").json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()

    assert first["count"] == 5
    assert "status=PENDING_PAYMENT" in first["next"]
    seen = [o["id"] for page in (first, second, third) for o in page["results"]]
    assert seen == sorted((o.pk for o in orders), reverse=True)
    assert third["next"] is None


def pending_page(api, page: int, size: int) -> tuple[dict, int]:
    """A page of pending orders, and how many COUNT queries answering it took."""
    with CaptureQueriesContext(connection) as queries:
        body = api.get(f"/api/v1/orders?status=PENDING_PAYMENT&page_size={size}&page={page}")
    counts = sum("COUNT(" in query["sql"].upper() for query in queries.captured_queries)
    return body.json(), counts


def test_the_count_is_right_on_every_page_and_a_last_short_page_is_not_counted(api, make_order):
    for n in range(1, 6):
        make_order(numbers=[n])

    full, full_counts = pending_page(api, page=1, size=3)
    short, short_counts = pending_page(api, page=2, size=3)
    past_the_end, _ = pending_page(api, page=3, size=3)

    assert full["count"] == short["count"] == past_the_end["count"] == 5
    assert [len(p["results"]) for p in (full, short, past_the_end)] == [3, 2, 0]
    assert full["next"] is not None and short["next"] is None
    assert full_counts == 1
    assert short_counts == 0


def test_a_full_last_page_is_counted_and_has_no_next_link(api, make_order):
    for n in range(1, 5):
        make_order(numbers=[n])

    last, counts = pending_page(api, page=2, size=2)

    assert last["count"] == 4
    assert len(last["results"]) == 2
    assert last["next"] is None
    assert counts == 1


def test_an_empty_list_counts_zero_without_a_count_query(api):
    body, counts = pending_page(api, page=1, size=50)

    assert body == {"count": 0, "next": None, "previous": None, "results": []}
    assert counts == 0


def test_a_proof_downloads_with_the_same_token_and_never_without(api, anonymous, order):
    jpeg = b"\xff\xd8\xff\xe0 JPEG!"
    proof = services.attach_payment_proof(
        order=order, media_id="m1", mime_type="image/jpeg", file=ContentFile(jpeg, "t.jpg")
    )
    detail = api.get(f"/api/v1/orders/{order.pk}").json()
    url = detail["proofs"][0]["download_url"]

    response = api.get(url)
    refused = anonymous.get(url)

    assert detail["has_proof"] is True
    assert url == f"http://testserver/api/v1/orders/{order.pk}/proofs/{proof.pk}/file"
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == jpeg
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == f'attachment; filename="proof-{proof.pk}.jpg"'
    assert response["Content-Security-Policy"] == "sandbox"
    assert refused.status_code == 401


def test_a_proof_without_its_file_yet_has_no_download_url(api, order):
    proof = services.attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")

    detail = api.get(f"/api/v1/orders/{order.pk}").json()
    response = api.get(f"/api/v1/orders/{order.pk}/proofs/{proof.pk}/file")

    assert detail["proofs"][0]["download_url"] is None
    assert response.status_code == 404


def test_a_proof_of_another_order_is_404(api, order, make_order):
    proof = services.attach_payment_proof(
        order=order,
        media_id="m1",
        mime_type="image/png",
        file=ContentFile(b"\x89PNG\r\n\x1a\nx", "x.png"),
    )
    other = make_order(numbers=[40])

    assert api.get(f"/api/v1/orders/{other.pk}/proofs/{proof.pk}/file").status_code == 404


def test_an_order_for_a_buyer_from_another_channel_is_pending_payment(api, raffle):
    response = api.post_json(
        "/api/v1/orders",
        {"raffle_id": raffle.pk, "wa_id": "5491155550000", "name": "Ana", "numbers": [5, 9]},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "PENDING_PAYMENT"
    assert body["numbers"] == [5, 9]
    assert body["buyer"]["wa_id"] == "5491155550000" and body["buyer"]["name"] == "Ana"
    assert body["expires_at"] is not None
    order = Order.objects.get(pk=body["id"])
    assert order.events.last().source == "OPERATOR"


def test_an_order_for_a_buyer_can_ask_for_random_numbers(api, raffle):
    response = api.post_json(
        "/api/v1/orders", {"raffle_id": raffle.pk, "wa_id": "5491155550000", "qty": 3}
    )

    assert response.status_code == 201, response.content
    assert len(response.json()["numbers"]) == 3


def test_an_order_for_a_buyer_reuses_the_known_contact_and_its_name(api, raffle, buyer):
    response = api.post_json(
        "/api/v1/orders",
        {"raffle_id": raffle.pk, "wa_id": buyer.wa_id, "name": "Someone else", "qty": 1},
    )

    assert response.json()["buyer"] == {
        "id": buyer.pk,
        "wa_id": buyer.wa_id,
        "name": buyer.profile_name,
    }


def test_the_buyer_is_not_messaged_for_an_order_from_another_channel(api, raffle):
    from django.apps import apps

    api.post_json("/api/v1/orders", {"raffle_id": raffle.pk, "wa_id": "5491155550000", "qty": 1})

    outbound = [m for m in apps.get_app_config("whatsapp").get_models() if "Outbound" in m.__name__]
    assert all(not model.objects.exists() for model in outbound)


@pytest.mark.parametrize(
    "body",
    [
        {"wa_id": "5491155550000"},
        {"wa_id": "5491155550000", "qty": 1, "numbers": [1]},
        {"wa_id": "not-a-number", "qty": 1},
        {"wa_id": "5491155550000", "qty": 0},
        {"wa_id": "5491155550000", "numbers": []},
        {"wa_id": "5491155550000", "numbers": [-1]},
    ],
)
def test_a_malformed_order_is_422(api, raffle, body):
    response = api.post_json("/api/v1/orders", {"raffle_id": raffle.pk, **body})

    assert response.status_code == 422, response.content


def test_an_order_for_an_unknown_raffle_is_404(api):
    response = api.post_json("/api/v1/orders", {"raffle_id": 4242, "wa_id": "549115555", "qty": 1})

    assert response.status_code == 404


def test_a_second_live_order_of_the_same_buyer_is_409(api, raffle, order):
    response = api.post_json(
        "/api/v1/orders", {"raffle_id": raffle.pk, "wa_id": order.contact.wa_id, "qty": 1}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "live_order_exists"


def test_confirming_sells_the_numbers_and_is_idempotent(api, order):
    first = api.post_json(f"/api/v1/orders/{order.pk}/confirm-payment", {"note": "bank ok"})
    again = api.post_json(f"/api/v1/orders/{order.pk}/confirm-payment", {})

    assert first.status_code == 200 and again.status_code == 200
    assert first.json()["status"] == again.json()["status"] == "PAID"
    assert first.json()["confirmed_at"] == again.json()["confirmed_at"]
    statuses = set(TicketNumber.objects.filter(number__in=[7, 8]).values_list("status", flat=True))
    assert statuses == {TicketStatus.SOLD}
    assert order.events.filter(to_status=OrderStatus.PAID).count() == 1
    assert order.events.get(to_status=OrderStatus.PAID).note == "bank ok"


def test_confirm_without_a_body_works(api, order):
    response = api.generic("POST", f"/api/v1/orders/{order.pk}/confirm-payment")

    assert response.status_code == 200, response.content


def test_cancelling_releases_the_numbers_and_is_idempotent(api, order):
    first = api.post_json(f"/api/v1/orders/{order.pk}/cancel", {"reason": "asked to"})
    again = api.post_json(f"/api/v1/orders/{order.pk}/cancel", {"reason": "again"})

    assert first.status_code == again.status_code == 200
    assert again.json()["status"] == "CANCELLED"
    assert again.json()["cancel_reason"] == "asked to"
    assert not TicketNumber.objects.filter(number__in=[7, 8], status="RESERVED").exists()


def test_cancelling_a_paid_order_is_409(api, order):
    services.confirm_payment(order=order)

    response = api.post_json(f"/api/v1/orders/{order.pk}/cancel", {"reason": "refund"})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_confirming_a_cancelled_order_is_409(api, order):
    services.cancel_order(order=order)

    response = api.post_json(f"/api/v1/orders/{order.pk}/confirm-payment", {})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_confirm_can_record_the_checked_proof_media_id(api, order):
    response = api.post_json(
        f"/api/v1/orders/{order.pk}/confirm-payment", {"payment_proof_media_id": "wamid-77"}
    )

    assert response.status_code == 200
    proofs = response.json()["proofs"]
    assert [(p["media_id"], p["status"]) for p in proofs] == [("wamid-77", "ACCEPTED")]


def test_confirm_and_cancel_record_who_did_it(admin_token, order, make_order):
    api = ApiClient(admin_token.key)
    api.post_json(f"/api/v1/orders/{order.pk}/confirm-payment", {})
    other = make_order(numbers=[55])
    api.post_json(f"/api/v1/orders/{other.pk}/cancel", {})

    order.refresh_from_db()
    other.refresh_from_db()
    assert order.confirmed_by == admin_token.user
    assert other.cancelled_by == admin_token.user


def test_confirming_through_the_api_tells_the_buyer(api, order):
    from whatsapp.models import OutboundMessage

    api.post_json(f"/api/v1/orders/{order.pk}/confirm-payment", {})

    assert OutboundMessage.objects.filter(contact=order.contact).exists()


def test_cancelling_through_the_api_tells_the_buyer_once(api, order):
    from whatsapp.models import OutboundMessage

    api.post_json(f"/api/v1/orders/{order.pk}/cancel", {"reason": "no payment"})
    api.post_json(f"/api/v1/orders/{order.pk}/cancel", {"reason": "no payment"})

    assert OutboundMessage.objects.filter(contact=order.contact).count() == 1
