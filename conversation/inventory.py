"""What the bot asks of the raffles app, as one narrow interface.

The state machine talks only to `Inventory`; `RafflesInventory` implements it with the raffles
services and selectors (each service is its own atomic block), and tests can substitute an
in-memory one to check the conversation rules without a database. A service's domain error
comes back as `Refused`, carrying the same stable code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from project.rows import one_or_none

__all__ = ["Inventory", "Refused"]


@dataclass
class Refused(Exception):
    """The inventory said no: `code` is the raffles error code (tickets_taken, order_expired...)."""

    code: str
    message: str = ""
    numbers: list[int] = field(default_factory=list)
    order_id: int | None = None
    # The error's data for the wording (its `extra()`, e.g. `max_qty` for order_total_too_large).
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message or self.code


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
    def has_proof(self, order: Any) -> bool: ...

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
            self._active = list(selectors.active_raffles())
        return self._active

    def raffle(self, raffle_id: int) -> Any | None:
        from raffles.models import Raffle

        return one_or_none(Raffle.objects, pk=raffle_id)

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

    def has_proof(self, order: Any) -> bool:
        """A proof waits for review (its clock is stopped)."""
        from raffles.models import ProofStatus

        return order.proofs.filter(status=ProofStatus.PENDING).exists()

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
            raise Refused(
                code=error.code,
                message=str(error),
                numbers=list(getattr(error, "numbers", None) or []),
                order_id=getattr(error, "order_id", None),
                extra=error.extra(),
            ) from error
        return False
