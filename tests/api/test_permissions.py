"""A token can do what its user may do: a Cashier lists, confirms and cancels, nothing more."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

# The admin's "Cashier" group (raffles migration 0002): orders and buyers, confirm and cancel.
CASHIER_PERMS = (
    "raffles.view_order",
    "raffles.confirm_payment",
    "raffles.cancel_order",
    "raffles.view_paymentproof",
    "raffles.view_orderevent",
    "raffles.view_raffle",
    "raffles.view_ticketnumber",
    "whatsapp.view_contact",
    "whatsapp.view_inboundmessage",
    "whatsapp.view_outboundmessage",
)


@pytest.fixture
def cashier(make_token) -> ApiClient:
    """A staff user in the admin's "Cashier" group (or, before that lands, one like it)."""
    from django.contrib.auth.models import Group

    token = make_token()
    group = Group.objects.filter(name="Cashier").first()
    if group is None:
        group = Group.objects.create(name="Cashier")
        helper = make_token(*CASHIER_PERMS).user
        group.permissions.set(helper.user_permissions.all())
    token.user.groups.add(group)
    return ApiClient(token.key)


def test_a_cashier_lists_confirms_and_cancels_orders(cashier, raffle, order, make_order):
    other = make_order(numbers=[30])

    assert cashier.get("/api/v1/orders").status_code == 200
    assert cashier.get(f"/api/v1/orders/{order.pk}").status_code == 200
    assert cashier.get("/api/v1/contacts").status_code == 200
    assert cashier.get(f"/api/v1/raffles/{raffle.pk}/availability").status_code == 200
    assert cashier.post_json(f"/api/v1/orders/{order.pk}/confirm-payment", {}).status_code == 200
    assert cashier.post_json(f"/api/v1/orders/{other.pk}/cancel", {}).status_code == 200


def test_a_cashier_cannot_create_a_raffle(cashier):
    response = cashier.post_json(
        "/api/v1/raffles", {"title": "Nope", "ticket_price": "1.00", "max_number": 9}
    )

    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "detail": "This token's user lacks a required permission.",
        "extra": {"missing_permissions": ["raffles.add_raffle"]},
    }


@pytest.mark.parametrize(
    ("method", "path", "perm"),
    [
        ("patch", "/api/v1/raffles/{raffle}", "raffles.change_raffle"),
        ("delete", "/api/v1/raffles/{raffle}", "raffles.delete_raffle"),
        ("post", "/api/v1/orders", "raffles.add_order"),
    ],
)
def test_a_cashier_gets_403_naming_the_missing_permission(cashier, raffle, method, path, perm):
    path = path.format(raffle=raffle.pk)
    body = {"raffle_id": raffle.pk, "wa_id": "54911", "qty": 1} if method == "post" else {}

    if method == "get":
        response = cashier.get(path)
    elif method == "delete":
        response = cashier.delete(path)
    else:
        response = getattr(cashier, f"{method}_json")(path, body)

    assert response.status_code == 403
    assert response.json()["extra"]["missing_permissions"] == [perm]


def test_a_token_without_confirm_permission_cannot_confirm(make_token, order):
    viewer = ApiClient(make_token("raffles.view_order").key)

    response = viewer.post_json(f"/api/v1/orders/{order.pk}/confirm-payment", {})

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == "PENDING_PAYMENT"
