"""Who may call the internal API: staff tokens only, either scheme, model permissions apply."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts"


def test_a_bearer_token_of_a_staff_user_is_accepted(admin_token):
    response = ApiClient(admin_token.key, "Bearer").get(CONTACTS)

    assert response.status_code == 200


def test_the_drf_token_scheme_is_accepted_too(admin_token):
    response = ApiClient(admin_token.key, "Token").get(CONTACTS)

    assert response.status_code == 200


def test_no_token_is_401_with_the_error_body(anonymous):
    response = anonymous.get(CONTACTS)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {
        "code": "not_authenticated",
        "detail": "Authentication required.",
        "extra": {},
    }


@pytest.mark.parametrize(
    "header",
    ["Bearer nope", "Token ", "Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Bearer " + "x" * 300],
)
def test_a_wrong_token_is_401(header, admin_token, client):
    response = client.get(CONTACTS, headers={"Authorization": header})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_token_of_an_inactive_user_is_401(make_token):
    token = make_token(superuser=True)
    token.user.is_active = False
    token.user.save()

    response = ApiClient(token.key).get(CONTACTS)

    assert response.status_code == 401


def test_a_token_of_a_non_staff_user_is_403(make_token):
    token = make_token("whatsapp.view_contact", is_staff=False)

    response = ApiClient(token.key).get(CONTACTS)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_staff_token_without_the_permission_is_403_naming_it(make_token):
    token = make_token()

    response = ApiClient(token.key).get(CONTACTS)

    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "detail": "This token's user lacks a required permission.",
        "extra": {"missing_permissions": ["whatsapp.view_contact"]},
    }


def test_docs_and_spec_are_public(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200
