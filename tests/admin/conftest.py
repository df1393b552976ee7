"""Fixtures for the back office: a raffle with orders in every interesting state, and operators."""

from __future__ import annotations

import importlib
import struct
import zlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from model_bakery import baker

from raffles import services
from raffles.models import Order, PaymentProof, Raffle
from tests.support.browser import browser, page  # noqa: F401  (fixtures)
from whatsapp.models import Contact


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain-colour PNG, so a proof preview has something a browser can render."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


PNG_BYTES = _png(240, 120, (40, 140, 90))


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
    # Transactional tests elsewhere flush the database, data migrations included: recreate the
    # group exactly as its migration does.
    migration = importlib.import_module("raffles.migrations.0002_cashier_group")
    migration.create_cashier_group(django_apps, None)
    user = django_user_model.objects.create_user("cashier", password="pass-word-2", is_staff=True)
    user.groups.add(Group.objects.get(name="Cashier"))
    return user


@pytest.fixture
def proof_order(raffle) -> Order:
    return pending_order_with_proof(raffle, make_buyer(1, "Ana"), [7, 8])


@pytest.fixture
def proof(proof_order) -> PaymentProof:
    return proof_order.proofs.get()
