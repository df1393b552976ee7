"""Payment proofs hold bank details: private files, shown only to staff allowed to see orders."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.admin.conftest import PNG_BYTES

pytestmark = pytest.mark.django_db


def proof_url(proof) -> str:
    return reverse("admin:raffles_paymentproof_file", args=[proof.pk])


def test_an_anonymous_request_gets_no_proof_file(client, proof):
    response = client.get(proof_url(proof))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert PNG_BYTES not in b"".join(getattr(response, "streaming_content", [response.content]))


def test_the_stored_file_has_no_public_url(client, proof, settings):
    public_guess = f"/{settings.STATIC_URL.strip('/')}/../{proof.file.name}"

    assert client.get(f"/media/{proof.file.name}").status_code == 404
    assert client.get(public_guess).status_code == 404


def test_staff_without_order_permission_is_refused(client, django_user_model, proof):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    client.force_login(clerk)

    assert client.get(proof_url(proof)).status_code == 403


def test_staff_allowed_to_view_orders_get_the_file_uncached(client, django_user_model, proof):
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)

    response = client.get(proof_url(proof))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG_BYTES
    assert response["Content-Type"] == "image/png"
    assert "no-store" in response["Cache-Control"]


def test_failed_admin_logins_are_throttled(client, superuser, settings):
    settings.AXES_FAILURE_LIMIT = 3
    login = reverse("admin:login")

    for _ in range(3):
        client.post(login, {"username": "boss", "password": "wrong"})
    locked = client.post(login, {"username": "boss", "password": "pass-word-1"})

    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
