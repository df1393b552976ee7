"""What the bot asks of the raffles app, as one narrow interface.

The state machine talks only to `Inventory`; `RafflesInventory` implements it with the raffles
services and selectors (each service is its own atomic block). The machine's tests run against
this same implementation on the test database, so what they check is what production does.
A service's domain error comes back as `Refused`, carrying the same stable code and data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from project.rows import one_or_none

__all__ = ["Inventory", "RafflesInventory", "Refused"]


@dataclass
class Refused(Exception):
    """The inventory said no. `code` is the raffles error code (`TicketsTaken.code`...), `extra`
    its data; the buyer is told through `replies.refused`, never the service's English text."""

    code: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_error(cls, error: Any) -> Refused:
        """The refusal a raffles domain error (`raffles.errors.RaffleError`) stands for."""
        return cls(code=error.code, extra=dict(error.extra()))

    @property
    def numbers(self) -> list[int]:
        return list(self.extra.get("numbers") or [])

    @property
    def order_id(self) -> int | None:
        return self.extra.get("order_id")

    def __str__(self) -> str:
        return self.code


class Inventory(Protocol):
    """The raffles operations the conversation needs, for one buyer's turn."""

    # reading
    def active_raffles(self) -> Sequence[Any]: ...
    def raffle(self, raffle_id: int) -> Any | None: ...
    def available_count(self, raffle: Any) -> int: ...
    def sample_available(self, raffle: Any, k: int) -> list[int]: ...
    def live_order(self, contact: Any) -> Any | None: ...
    def order(self, contact: Any, order_id: int) -> Any | None: ...
    def orders_of(self, contact: Any, limit: int) -> Sequence[Any]: ...
    def prizes_of(self, raffle: Any) -> Sequence[Any]: ...

    # changing (each raises Refused)
    def reserve_specific(self, *, raffle: Any, numbers: Sequence[int], contact: Any) -> Any: ...
    def reserve_random(self, *, raffle: Any, qty: int, contact: Any) -> Any: ...
    def submit(self, *, order: Any) -> Any: ...
    def cancel(self, *, order: Any) -> Any: ...
    def attach_proof(self, *, order: Any, media_id: str, mime_type: str) -> Any: ...
    def expire(self, *, order: Any) -> Any: ...


class RafflesInventory:
    """`Inventory` over the raffles app: its selectors to read, its services to change.

    One instance serves one buyer's turn, so it remembers the open raffles for that turn
    (a turn may ask twice: to match a typed title, then to draw the menu).
    """

    def __init__(self) -> None:
        self._active: list[Any] | None = None

    def active_raffles(self) -> Sequence[Any]:
        from raffles import selectors

        if self._active is None:
            self._active = selectors.active_raffle_list()
        return self._active

    def raffle(self, raffle_id: int) -> Any | None:
        from raffles import selectors

        return selectors.raffle_or_none(raffle_id)

    def available_count(self, raffle: Any) -> int:
        from raffles.services import available_count

        return available_count(raffle=raffle)

    def sample_available(self, raffle: Any, k: int) -> list[int]:
        from raffles import selectors

        return list(selectors.sample_available(raffle, k))

    def live_order(self, contact: Any) -> Any | None:
        from raffles import selectors

        return selectors.live_order_for(contact)

    def order(self, contact: Any, order_id: int) -> Any | None:
        from raffles.models import Order

        return one_or_none(Order.objects.select_related("raffle"), pk=order_id, contact=contact)

    def orders_of(self, contact: Any, limit: int) -> Sequence[Any]:
        from raffles import selectors

        return list(selectors.orders_of(contact)[:limit])

    def prizes_of(self, raffle: Any) -> Sequence[Any]:
        return list(raffle.prizes.order_by("position"))

    def reserve_specific(self, *, raffle: Any, numbers: Sequence[int], contact: Any) -> Any:
        from raffles import services

        with _refusals():
            return services.reserve_specific(raffle=raffle, numbers=numbers, contact=contact)

    def reserve_random(self, *, raffle: Any, qty: int, contact: Any) -> Any:
        from raffles import services

        with _refusals():
            return services.reserve_random(raffle=raffle, qty=qty, contact=contact)

    def submit(self, *, order: Any) -> Any:
        from raffles import services
        from raffles.models import ChangeSource

        with _refusals():
            return services.submit_order(order=order, source=ChangeSource.BUYER)

    def cancel(self, *, order: Any) -> Any:
        from raffles import services
        from raffles.models import ChangeSource

        with _refusals():
            return services.cancel_order(
                order=order, reason="Cancelled by the buyer", source=ChangeSource.BUYER
            )

    def attach_proof(self, *, order: Any, media_id: str, mime_type: str) -> Any:
        from raffles import services

        with _refusals():
            return services.attach_payment_proof(
                order=order, media_id=media_id, mime_type=mime_type
            )

    def expire(self, *, order: Any) -> Any:
        """Record an expiry the buyer ran into, so the order says EXPIRED straight away."""
        from raffles.services import expire_orders

        expire_orders(order_ids=[order.pk])
        order.refresh_from_db()
        return order


class _refusals:
    """Turn a raffles domain error into `Refused` with the same code and data."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, tb: Any) -> bool:
        from raffles.errors import RaffleError

        if isinstance(error, RaffleError):
            raise Refused.from_error(error) from error
        return False
