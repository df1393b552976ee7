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

__all__ = ["Inventory", "Refused"]


@dataclass
class Refused(Exception):
    """The inventory said no: `code` is the raffles error code (tickets_taken, order_expired...)."""

    code: str
    message: str = ""
    numbers: list[int] = field(default_factory=list)
    order_id: int | None = None

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
