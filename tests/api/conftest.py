"""Fixtures for the API tests: staff users with tokens, and a client that sends them."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from model_bakery import baker
from rest_framework.authtoken.models import Token


def grant(user: Any, *perms: str) -> None:
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


class ApiClient(Client):
    """A test client that sends `Authorization: <scheme> <key>` and JSON bodies."""

    def __init__(self, key: str | None, scheme: str = "Bearer") -> None:
        headers = {"Authorization": f"{scheme} {key}"} if key else {}
        super().__init__(headers=headers)

    def post_json(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.post(
            path, data if data is not None else {}, content_type="application/json", **extra
        )

    def patch_json(self, path: str, data: Any, **extra: Any) -> Any:
        return self.patch(path, data, content_type="application/json", **extra)


@pytest.fixture
def make_token(db) -> Callable[..., Token]:
    def make(*perms: str, is_staff: bool = True, superuser: bool = False, **fields: Any) -> Token:
        user = baker.make(
            "auth.User", is_staff=is_staff, is_superuser=superuser, is_active=True, **fields
        )
        grant(user, *perms)
        return Token.objects.create(user=user)

    return make


@pytest.fixture
def admin_token(make_token) -> Token:
    """A staff superuser: every permission."""
    return make_token(superuser=True)


@pytest.fixture
def api(admin_token) -> ApiClient:
    return ApiClient(admin_token.key)


@pytest.fixture
def anonymous() -> ApiClient:
    return ApiClient(None)


# --- Raffles, buyers and orders ------------------------------------------------------------------


@pytest.fixture
def make_raffle(db) -> Callable[..., Any]:
    from raffles import services

    def make(**fields: Any) -> Any:
        values = {
            "title": "Summer raffle",
            "ticket_price": Decimal("10.00"),
            "min_number": 1,
            "max_number": 100,
            "is_active": True,
        }
        values.update(fields)
        raffle = services.create_raffle(**values)
        raffle.refresh_from_db()
        return raffle

    return make


@pytest.fixture
def raffle(make_raffle) -> Any:
    return make_raffle()


@pytest.fixture
def make_buyer(db) -> Callable[..., Any]:
    counter = iter(range(1, 1_000_000))

    def make(**fields: Any) -> Any:
        n = next(counter)
        values = {"wa_id": f"5491100{n:06d}", "profile_name": f"Buyer {n}"}
        values.update(fields)
        return baker.make("whatsapp.Contact", **values)

    return make


@pytest.fixture
def buyer(make_buyer) -> Any:
    return make_buyer()


@pytest.fixture
def make_order(raffle, make_buyer) -> Callable[..., Any]:
    """A PENDING_PAYMENT order (as if made from another channel)."""
    from raffles import services

    def make(*, numbers: list[int] | None = None, qty: int | None = None, **kw: Any) -> Any:
        if numbers is None and qty is None:
            qty = 1
        return services.create_order_for_buyer(
            raffle=kw.get("raffle", raffle),
            contact=kw.get("contact") or make_buyer(),
            numbers=numbers,
            qty=qty,
        )

    return make


@pytest.fixture
def order(make_order) -> Any:
    return make_order(numbers=[7, 8])
