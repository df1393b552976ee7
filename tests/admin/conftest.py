"""Fixtures for the back office: a raffle with orders in every interesting state, and operators."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from model_bakery import baker

from raffles import services
from raffles.models import Order, PaymentProof, Raffle
from tests.support.browser import browser, page  # noqa: F401  (fixtures)
from whatsapp.models import Contact

# The smallest valid PNG: a proof preview the browser can render.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e221bc330000000049454e44ae426082"
)


def make_raffle(**overrides: object) -> Raffle:
    values: dict[str, object] = {
        "title": "Spring raffle",
        "ticket_price": Decimal("5.00"),
        "currency": "USD",
        "min_number": 0,
        "max_number": 99,
        "is_active": True,
        "max_tickets_per_order": 10,
        "payment_instructions": "Bank ACME, account 123",
    }
    values.update(overrides)
    return services.create_raffle(**values)


def make_buyer(n: int, name: str = "") -> Contact:
    return baker.make(Contact, wa_id=f"54911000000{n:02d}", profile_name=name or f"Buyer {n}")


def pending_order_with_proof(raffle: Raffle, buyer: Contact, numbers: list[int]) -> Order:
    """A buyer who reserved, confirmed and sent a photo of the transfer."""
    order = services.reserve_specific(raffle=raffle, numbers=numbers, contact=buyer)
    services.submit_order(order=order)
    services.attach_payment_proof(
        order=order,
        media_id=f"media-{order.pk}",
        mime_type="image/png",
        file=ContentFile(PNG_BYTES, name="proof.png"),
    )
    order.refresh_from_db()
    return order


@pytest.fixture
def raffle(db) -> Raffle:
    return make_raffle()


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pass-word-1")


@pytest.fixture
def cashier(django_user_model):
    user = django_user_model.objects.create_user("cashier", password="pass-word-2", is_staff=True)
    user.groups.add(Group.objects.get(name="Cashier"))
    return user


@pytest.fixture
def proof_order(raffle) -> Order:
    return pending_order_with_proof(raffle, make_buyer(1, "Ana"), [7, 8])


@pytest.fixture
def proof(proof_order) -> PaymentProof:
    return proof_order.proofs.get()
