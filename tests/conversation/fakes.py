"""An in-memory inventory with the raffles rules the bot relies on, for machine-only tests.

It follows the raffles contract (codes, DRAFT -> PENDING_PAYMENT -> PAID, lazy expiry) closely
enough to drive the conversation; the real services are exercised by the webhook transcripts.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from conversation.inventory import Refused

LIVE = ("DRAFT", "PENDING_PAYMENT")


@dataclass
class FakeRaffle:
    pk: int
    title: str
    ticket_price: Decimal = Decimal("5.00")
    currency: str = "USD"
    min_number: int = 0
    max_number: int = 99
    is_active: bool = True
    max_tickets_per_order: int = 10
    payment_instructions: str = "Transfer to Bank 123-456."
    description: str = ""
    draw_at: dt.datetime | None = None
    ttl: dt.timedelta = dt.timedelta(minutes=30)

    def format_number(self, number: int) -> str:
        return str(number).zfill(len(str(self.max_number)))


@dataclass
class FakeOrder:
    pk: int
    raffle: FakeRaffle
    contact: str
    numbers: list[int]
    status: str = "DRAFT"
    expires_at: dt.datetime | None = None
    proofs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total_amount(self) -> Decimal:
        return self.raffle.ticket_price * len(self.numbers)


class FakeInventory:
    def __init__(self, raffles: Sequence[FakeRaffle], *, now: dt.datetime, seed: int = 7):
        self.raffles = {raffle.pk: raffle for raffle in raffles}
        self.orders: dict[int, FakeOrder] = {}
        self.holder: dict[tuple[int, int], int] = {}  # (raffle, number) -> order id
        self.now = now
        self.random = random.Random(seed)
        self.calls: list[str] = []

    # reading
    def _expire(self) -> None:
        for order in self.orders.values():
            if (
                order.status in LIVE
                and not order.proofs
                and order.expires_at
                and order.expires_at <= self.now
            ):
                self._release(order, "EXPIRED")

    def _release(self, order: FakeOrder, status: str) -> None:
        order.status = status
        for number in order.numbers:
            self.holder.pop((order.raffle.pk, number), None)

    def active_raffles(self):
        return [r for r in self.raffles.values() if r.is_active]

    def raffle(self, raffle_id):
        return self.raffles.get(raffle_id)

    def _available(self, raffle) -> list[int]:
        self._expire()
        return [
            n
            for n in range(raffle.min_number, raffle.max_number + 1)
            if (raffle.pk, n) not in self.holder
        ]

    def available_count(self, raffle):
        return len(self._available(raffle))

    def sample_available(self, raffle, k):
        return self._available(raffle)[:k]

    def live_order(self, contact):
        self._expire()
        live = [o for o in self.orders.values() if o.contact == contact and o.status in LIVE]
        return live[-1] if live else None

    def order(self, contact, order_id):
        order = self.orders.get(order_id)
        return order if order and order.contact == contact else None

    def orders_of(self, contact, limit):
        self._expire()
        return [o for o in self.orders.values() if o.contact == contact][::-1][:limit]

    def has_proof(self, order):
        return bool(order.proofs)

    # changing
    def _new_order(self, raffle, numbers, contact) -> FakeOrder:
        if not raffle.is_active:
            raise Refused("raffle_inactive")
        if self.live_order(contact):
            raise Refused("live_order_exists", order_id=self.live_order(contact).pk)
        order = FakeOrder(
            pk=len(self.orders) + 1,
            raffle=raffle,
            contact=contact,
            numbers=list(numbers),
            expires_at=self.now + raffle.ttl,
        )
        self.orders[order.pk] = order
        for number in numbers:
            self.holder[(raffle.pk, number)] = order.pk
        return order

    def reserve_specific(self, *, raffle, numbers, contact):
        self.calls.append(f"reserve_specific {list(numbers)}")
        self._expire()
        taken = [n for n in numbers if (raffle.pk, n) in self.holder]
        if taken:
            raise Refused("tickets_taken", numbers=taken)
        return self._new_order(raffle, numbers, contact)

    def reserve_random(self, *, raffle, qty, contact):
        self.calls.append(f"reserve_random {qty}")
        available = self._available(raffle)
        if not available:
            raise Refused("sold_out")
        if qty > len(available):
            raise Refused("not_enough_available")
        return self._new_order(raffle, sorted(self.random.sample(available, qty)), contact)

    def submit(self, *, order):
        self.calls.append(f"submit {order.pk}")
        self._expire()
        if order.status == "EXPIRED":
            raise Refused("order_expired")
        if order.status != "DRAFT":
            raise Refused("invalid_transition")
        order.status = "PENDING_PAYMENT"
        order.expires_at = self.now + order.raffle.ttl
        return order

    def cancel(self, *, order):
        self.calls.append(f"cancel {order.pk}")
        if order.status not in LIVE:
            raise Refused("invalid_transition")
        self._release(order, "CANCELLED")
        return order

    def attach_proof(self, *, order, media_id, mime_type):
        self.calls.append(f"attach_proof {order.pk} {mime_type}")
        order.proofs.append((media_id, mime_type))
        return order

    def expire(self, *, order):
        self.calls.append(f"expire {order.pk}")
        self._expire()
        return order

    # operator side, for tests
    def mark_paid(self, order: FakeOrder) -> None:
        order.status = "PAID"
