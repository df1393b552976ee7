"""/api/v1/webhook-subscriptions: typed, permission-checked, the secret returned once."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from events.models import DeliveryStatus, EventDelivery, EventSubscription
from events.services import delivery
from raffles import services
from tests.api.conftest import ApiClient, grant

pytestmark = pytest.mark.django_db

BASE = "/api/v1/webhook-subscriptions"


@pytest.fixture
def api(admin_user) -> ApiClient:
    from rest_framework.authtoken.models import Token

    return ApiClient(Token.objects.create(user=admin_user).key)


@pytest.fixture
def viewer(django_user_model) -> ApiClient:
    from rest_framework.authtoken.models import Token

    user = django_user_model.objects.create_user("viewer", is_staff=True)
    grant(user, "events.view_eventsubscription")
    return ApiClient(Token.objects.create(user=user).key)


def create(api: ApiClient, **body) -> dict:
    body = {"url": "https://n8n.example.com/webhook/raffles", "event_types": ["order.paid"], **body}
    response = api.post_json(BASE, body)
    assert response.status_code == 201, response.content
    return response.json()


def test_creating_a_subscription_returns_its_secret_once(api):
    created = create(api, description="Cashier sheet", event_types=["order.paid", "proof.received"])

    assert created["secret"].startswith("whsec_")
    Webhook(created["secret"])  # a key the reference library accepts
    assert created["event_types"] == ["order.paid", "proof.received"]
    assert created["active"] is True
    assert created["secret_hint"] == created["secret"][:10] + "…"
    shown = api.get(f"{BASE}/{created['id']}").json()
    listed = api.get(BASE).json()["results"]
    assert "secret" not in shown
    assert all("secret" not in item for item in listed)
    assert created["secret"] not in api.get(BASE).content.decode()


def test_an_idempotency_key_replays_the_creation_instead_of_making_a_second_one(api):
    body = {"url": "https://n8n.example.com/hook", "event_types": ["order.paid"]}

    first = api.post_json(BASE, body, headers={"Idempotency-Key": "sub-1"})
    again = api.post_json(BASE, body, headers={"Idempotency-Key": "sub-1"})

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert EventSubscription.objects.count() == 1


@pytest.mark.parametrize(
    ("url", "status", "reason"),
    [
        ("ftp://files.example.com/x", 422, "pattern"),
        ("javascript:alert(1)", 422, "pattern"),
        ("http://n8n.example/a b", 422, "pattern"),
        ("http://user:pass@n8n.local/hook", 409, "credentials"),
        ("http:///no-host", 409, "names no host"),
        ("http://n8n:99999/hook", 409, "not a valid URL"),
        ("http://[::1/hook", 409, "not a valid URL"),
    ],
)
def test_a_target_that_is_not_a_plain_http_url_is_refused(api, url, status, reason):
    response = api.post_json(BASE, {"url": url, "event_types": ["order.paid"]})

    assert response.status_code == status
    assert response.json()["code"] == {422: "validation_error", 409: "invalid_target_url"}[status]
    assert reason in response.content.decode()
    assert EventSubscription.objects.count() == 0


def test_a_host_without_a_dot_is_a_valid_receiver(api):
    created = create(api, url="http://n8n:5678/webhook/raffle-events")

    assert created["url"] == "http://n8n:5678/webhook/raffle-events"


def test_unknown_or_no_event_types_are_refused(api):
    unknown = api.post_json(BASE, {"url": "https://x.example/h", "event_types": ["order.lost"]})
    none = api.post_json(BASE, {"url": "https://x.example/h", "event_types": []})
    test_only = api.post_json(BASE, {"url": "https://x.example/h", "event_types": ["webhook.test"]})

    assert unknown.status_code == none.status_code == test_only.status_code == 422
    assert unknown.json()["code"] == "validation_error"


def test_the_number_of_subscriptions_is_bounded(api, settings):
    settings.EVENTS_MAX_SUBSCRIPTIONS = 2
    create(api)
    create(api)

    response = api.post_json(BASE, {"url": "https://x.example/h", "event_types": ["order.paid"]})

    assert response.status_code == 409
    assert response.json()["code"] == "too_many_subscriptions"
    assert response.json()["extra"] == {"limit": 2}


def test_a_token_without_the_permission_is_refused(viewer):
    listed = viewer.get(BASE)
    created = viewer.post_json(BASE, {"url": "https://x.example/h", "event_types": ["order.paid"]})

    assert listed.status_code == 200
    assert created.status_code == 403
    assert created.json()["extra"]["missing_permissions"] == ["events.add_eventsubscription"]


def test_an_update_changes_only_what_is_sent_and_turning_on_forgets_the_failures(api):
    created = create(api)
    EventSubscription.objects.filter(pk=created["id"]).update(
        active=False, disabled_reason="the receiver answered 410 Gone"
    )

    response = api.patch_json(
        f"{BASE}/{created['id']}", {"active": True, "event_types": ["order.expired"]}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["active"], body["event_types"]) == (True, ["order.expired"])
    assert body["url"] == created["url"]
    assert body["disabled_reason"] == "" and body["disabled_at"] is None


def test_unknown_query_parameters_and_missing_subscriptions_answer_clearly(api):
    assert api.get(f"{BASE}?activ=true").status_code == 422
    assert api.get(f"{BASE}/999").status_code == 404
    assert api.patch_json(f"{BASE}/999", {"active": False}).status_code == 404


def test_deleting_a_subscription_removes_it_and_its_log(api, raffle, buyer):
    created = create(api, event_types=["order.reserved"])
    services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    response = api.delete(f"{BASE}/{created['id']}")

    assert response.status_code == 204
    assert EventSubscription.objects.count() == EventDelivery.objects.count() == 0


def test_a_test_event_is_queued_and_shows_in_the_delivery_log(api, receiver):
    created = create(api, url=receiver.url)
    receiver.secret = EventSubscription.objects.get().secret

    queued = api.post_json(f"{BASE}/{created['id']}/test")
    delivery.deliver(delivery_id=queued.json()["id"])
    log = api.get(f"{BASE}/{created['id']}/deliveries").json()

    assert queued.status_code == 202
    assert queued.json()["event_type"] == "webhook.test"
    assert queued.json()["status"] == "pending"
    (row,) = log["results"]
    assert row["status"] == "delivered"
    assert row["webhook_id"] == receiver.requests[0].webhook_id
    (attempt,) = row["log"]
    assert attempt["status_code"] == 200
    assert attempt["response_excerpt"] == '{"ok":true}'
    assert receiver.requests[0].verified


def test_a_test_event_to_an_inactive_subscription_is_refused(api):
    created = create(api, active=False)

    response = api.post_json(f"{BASE}/{created['id']}/test")

    assert response.status_code == 409
    assert response.json()["code"] == "subscription_inactive"


def test_an_event_can_be_sent_again_through_the_api(api, receiver, raffle, buyer):
    created = create(api, url=receiver.url, event_types=["order.reserved"])
    receiver.secret = EventSubscription.objects.get().secret
    services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    row = EventDelivery.objects.get()
    receiver.answer_next(1, status=500)
    delivery.deliver(delivery_id=row.pk)
    EventDelivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.FAILED)

    response = api.post_json(f"{BASE}/{created['id']}/deliveries/{row.pk}/resend")
    delivery.send_due()

    assert response.status_code == 202, response.content
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DELIVERED
    assert api.get(f"{BASE}/{created['id']}/deliveries?status=delivered").json()["count"] == 1


def test_an_event_being_sent_cannot_be_sent_again(api, raffle, buyer):
    created = create(api, event_types=["order.reserved"])
    services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    row = EventDelivery.objects.get()
    EventDelivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.SENDING)

    response = api.post_json(f"{BASE}/{created['id']}/deliveries/{row.pk}/resend")

    assert response.status_code == 409
    assert response.json()["code"] == "delivery_in_progress"
