"""Idempotency-Key: a retried POST replays the first response instead of acting twice."""

from __future__ import annotations

import pytest

from project.models import IdempotencyRecord
from raffles.models import Order
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


def create(api, raffle, key: str | None, **body):
    headers = {"Idempotency-Key": key} if key else {}
    payload = {"raffle_id": raffle.pk, "wa_id": "5491155550000", "qty": 2, **body}
    payload = {name: value for name, value in payload.items() if value is not None}
    return api.post_json("/api/v1/orders", payload, headers=headers)


def test_a_retried_create_with_the_same_key_makes_one_order(api, raffle):
    first = create(api, raffle, "order-123")
    retry = create(api, raffle, "order-123")

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_without_a_key_each_post_acts(api, raffle, make_buyer):
    create(api, raffle, None)
    second = create(api, raffle, None)

    assert second.status_code == 409  # the buyer's live order exists: the POST really ran


def test_the_same_key_with_a_different_body_is_422(api, raffle):
    create(api, raffle, "order-123")

    response = create(api, raffle, "order-123", qty=3)

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"


def test_the_same_key_on_another_path_is_422(api, order):
    api.post_json(f"/api/v1/orders/{order.pk}/cancel", {}, headers={"Idempotency-Key": "k"})

    response = api.post_json(
        f"/api/v1/orders/{order.pk}/confirm-payment", {}, headers={"Idempotency-Key": "k"}
    )

    assert response.status_code == 422


def test_keys_are_per_token_user(make_token, raffle):
    one = ApiClient(make_token(superuser=True).key)
    two = ApiClient(make_token(superuser=True).key)

    first = create(one, raffle, "same", wa_id="5491100000001")
    second = create(two, raffle, "same", wa_id="5491100000002")

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


def test_a_conflict_is_replayed_too(api, raffle, order):
    first = create(api, raffle, "k2", numbers=[7], qty=None)
    retry = create(api, raffle, "k2", numbers=[7], qty=None)

    assert first.status_code == retry.status_code == 409
    assert retry.json() == first.json()


def test_a_refused_token_is_not_remembered(make_token, raffle):
    cashier = ApiClient(make_token("raffles.view_order").key)

    refused = create(cashier, raffle, "k3")

    assert refused.status_code == 403
    assert not IdempotencyRecord.objects.exists()


def test_a_request_still_running_with_the_key_is_409(api, raffle, admin_token):
    IdempotencyRecord.objects.create(user=admin_token.user, key="busy", fingerprint="x")

    response = create(api, raffle, "busy")

    # A different fingerprint wins over "in progress": the key is simply misused.
    assert response.status_code == 422


def test_an_unfinished_first_request_with_the_same_body_answers_in_use(api, raffle, admin_token):
    from django.test import RequestFactory

    from project.idempotency import fingerprint

    payload = b'{"raffle_id": %d, "wa_id": "5491155550000", "qty": 2}' % raffle.pk
    probe = RequestFactory().post("/api/v1/orders", payload, content_type="application/json")
    IdempotencyRecord.objects.create(
        user=admin_token.user, key="busy", fingerprint=fingerprint(probe)
    )

    response = api.post(
        "/api/v1/orders",
        payload,
        content_type="application/json",
        headers={"Idempotency-Key": "busy"},
    )

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_use"


def test_a_first_request_that_died_unanswered_frees_its_key_after_a_few_minutes(
    api, raffle, admin_token, settings
):
    from datetime import timedelta

    from django.test import RequestFactory
    from django.utils import timezone

    from project.idempotency import fingerprint

    settings.IDEMPOTENCY_ABANDONED_MINUTES = 5
    payload = b'{"raffle_id": %d, "wa_id": "5491155550000", "qty": 2}' % raffle.pk
    probe = RequestFactory().post("/api/v1/orders", payload, content_type="application/json")
    dead = IdempotencyRecord.objects.create(
        user=admin_token.user, key="dead", fingerprint=fingerprint(probe)
    )

    def retry():
        return api.post(
            "/api/v1/orders",
            payload,
            content_type="application/json",
            headers={"Idempotency-Key": "dead"},
        )

    IdempotencyRecord.objects.filter(pk=dead.pk).update(
        created_at=timezone.now() - timedelta(minutes=4)
    )
    still_running = retry()
    IdempotencyRecord.objects.filter(pk=dead.pk).update(
        created_at=timezone.now() - timedelta(minutes=6)
    )
    taken_over = retry()
    replayed = retry()

    assert still_running.status_code == 409
    assert taken_over.status_code == 201
    assert replayed.status_code == 201 and replayed["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_a_finished_response_is_replayed_long_after_the_abandon_time(api, raffle, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.IDEMPOTENCY_ABANDONED_MINUTES = 5
    first = create(api, raffle, "done")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=2))

    again = create(api, raffle, "done")

    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"


def test_an_overlong_key_is_422(api, raffle):
    response = create(api, raffle, "k" * 300)

    assert response.status_code == 422


def test_records_past_their_time_to_live_are_pruned(admin_token):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    old = IdempotencyRecord.objects.create(user=admin_token.user, key="old", fingerprint="x")
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    IdempotencyRecord.objects.create(user=admin_token.user, key="new", fingerprint="y")

    call_command("prune_idempotency_records", verbosity=0)

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_an_expired_key_can_be_used_again(api, raffle, admin_token):
    from datetime import timedelta

    from django.utils import timezone

    create(api, raffle, "reuse-later")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

    response = create(api, raffle, "reuse-later", qty=3)

    assert response.status_code == 409  # really ran: the buyer's first order is still live
    assert response.json()["code"] == "live_order_exists"
