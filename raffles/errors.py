"""Domain errors of the inventory: each has a stable `code` the API, admin and bot rely on."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _


class RaffleError(Exception):
    """Base of every inventory rule a caller can break. `str(e)` is a human message."""

    code: str = "raffle_error"
    # The API's status: 409, the raffle's rules or state refuse a well-formed request; 422 for
    # values that can never work whatever the state.
    http_status: int = 409

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)

    @property
    def message(self) -> str:
        return str(self)

    def extra(self) -> dict[str, Any]:
        """Data for the caller (API `extra`, the bot's wording)."""
        return {}


class RaffleInactive(RaffleError):
    """This raffle is not selling numbers."""

    code = "raffle_inactive"

    def __init__(self, *, raffle_id: int) -> None:
        self.raffle_id = raffle_id
        super().__init__(_("This raffle is not selling numbers right now."))

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id}


class RaffleNotReady(RaffleError):
    """The raffle's numbers are still being generated."""

    code = "raffle_not_ready"

    def __init__(self, *, raffle_id: int) -> None:
        self.raffle_id = raffle_id
        super().__init__(_("The raffle cannot be activated until all its numbers exist."))

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id}


class SoldOut(RaffleError):
    """Every number is reserved or sold."""

    code = "sold_out"

    def __init__(self, *, raffle_id: int) -> None:
        self.raffle_id = raffle_id
        super().__init__(_("Every number of this raffle is reserved or sold."))

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id}


class InvalidQuantity(RaffleError):
    code = "invalid_quantity"

    def __init__(self, *, qty: int, minimum: int, maximum: int) -> None:
        self.qty, self.minimum, self.maximum = qty, minimum, maximum
        super().__init__(f"Quantity must be between {minimum} and {maximum} (got {qty}).")

    def extra(self) -> dict[str, Any]:
        return {"qty": self.qty, "min": self.minimum, "max": self.maximum}


class OrderTotalTooLarge(RaffleError):
    """An order's total would be more than an order can record (`Order.total_amount`)."""

    code = "order_total_too_large"
    http_status = 422  # like a field out of bounds

    def __init__(self, *, unit_price: Decimal, qty: int, limit: Decimal) -> None:
        self.unit_price, self.qty, self.limit = unit_price, qty, limit
        self.total = unit_price * qty
        # The most numbers one order may hold at this price (at least 1: a price always fits).
        self.max_qty = max(1, int(limit // unit_price)) if unit_price > 0 else qty
        super().__init__(
            f"{qty} numbers at {unit_price} would total {self.total}, more than one order can "
            f"hold ({limit}). At this price an order holds at most {self.max_qty} numbers."
        )

    def extra(self) -> dict[str, Any]:
        return {
            "limit": str(self.limit),
            "total": str(self.total),
            "unit_price": str(self.unit_price),
            "qty": self.qty,
            "max_qty": self.max_qty,
        }


class NumbersOutOfRange(RaffleError):
    code = "numbers_out_of_range"

    def __init__(self, *, numbers: list[int], minimum: int, maximum: int) -> None:
        self.numbers, self.minimum, self.maximum = numbers, minimum, maximum
        listed = ", ".join(map(str, numbers))
        super().__init__(f"Numbers outside {minimum}..{maximum}: {listed}")

    def extra(self) -> dict[str, Any]:
        return {"numbers": self.numbers, "min": self.minimum, "max": self.maximum}


class DuplicateNumbers(RaffleError):
    code = "duplicate_numbers"

    def __init__(self, *, numbers: list[int]) -> None:
        self.numbers = numbers
        super().__init__(f"Numbers asked for more than once: {', '.join(map(str, numbers))}")

    def extra(self) -> dict[str, Any]:
        return {"numbers": self.numbers}


class NotEnoughAvailable(RaffleError):
    code = "not_enough_available"

    def __init__(self, *, requested: int, available: int) -> None:
        self.requested, self.available = requested, available
        super().__init__(
            _("Only %(available)s numbers are available (%(requested)s requested).")
            % {"available": available, "requested": requested}
        )

    def extra(self) -> dict[str, Any]:
        return {"requested": self.requested, "available": self.available}


class TicketsTaken(RaffleError):
    code = "tickets_taken"

    def __init__(self, *, numbers: list[int]) -> None:
        self.numbers = numbers
        super().__init__(
            _("Numbers already taken: %(numbers)s") % {"numbers": ", ".join(map(str, numbers))}
        )

    def extra(self) -> dict[str, Any]:
        return {"numbers": self.numbers}


class LiveOrderExists(RaffleError):
    code = "live_order_exists"

    def __init__(self, *, order_id: int) -> None:
        self.order_id = order_id
        super().__init__(
            _("The buyer already has an open order (#%(id)s) in this raffle.") % {"id": order_id}
        )

    def extra(self) -> dict[str, Any]:
        return {"order_id": self.order_id}


class InvalidTransition(RaffleError):
    code = "invalid_transition"

    def __init__(self, *, order_id: int, status: str, target: str, reason: str = "") -> None:
        self.order_id, self.status, self.target = order_id, status, target
        text = _("Order #%(id)s is %(status)s; it cannot become %(target)s.") % {
            "id": order_id,
            "status": status,
            "target": target,
        }
        super().__init__(f"{text} {reason}".strip())

    def extra(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "status": self.status, "target": self.target}


class OrderNotPending(RaffleError):
    code = "order_not_pending"

    def __init__(self, *, order_id: int, status: str) -> None:
        self.order_id, self.status = order_id, status
        super().__init__(
            _("Order #%(id)s is %(status)s, not waiting for payment.")
            % {"id": order_id, "status": status}
        )

    def extra(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "status": self.status}


class OrderExpired(RaffleError):
    code = "order_expired"

    def __init__(self, *, order_id: int) -> None:
        self.order_id = order_id
        super().__init__(_("Order #%(id)s expired; its numbers were released.") % {"id": order_id})

    def extra(self) -> dict[str, Any]:
        return {"order_id": self.order_id}


class NumbersLost(RaffleError):
    code = "numbers_lost"

    def __init__(self, *, order_id: int, numbers: list[int]) -> None:
        self.order_id, self.numbers = order_id, numbers
        listed = ", ".join(map(str, numbers))
        super().__init__(
            _("Order #%(id)s expired and these numbers were taken since: %(numbers)s")
            % {"id": order_id, "numbers": listed}
        )

    def extra(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "numbers": self.numbers}


class ProofAlreadyReviewed(RaffleError):
    code = "proof_already_reviewed"

    def __init__(self, *, proof_id: int, status: str) -> None:
        self.proof_id, self.status = proof_id, status
        super().__init__(
            _("Payment proof #%(id)s was already reviewed (%(status)s).")
            % {"id": proof_id, "status": status}
        )

    def extra(self) -> dict[str, Any]:
        return {"proof_id": self.proof_id, "status": self.status}


class InvalidOrderRequest(RaffleError):
    """Exactly one of `numbers` or `qty` must be given."""

    code = "numbers_or_qty_required"


class InvalidRange(RaffleError):
    code = "invalid_range"

    def __init__(self, *, minimum: int, maximum: int, limit: int) -> None:
        self.minimum, self.maximum, self.limit = minimum, maximum, limit
        super().__init__(
            f"A raffle's numbers run from a first to a last number, at most {limit:,} of them "
            f"(got {minimum}..{maximum})."
        )

    def extra(self) -> dict[str, Any]:
        return {"min": self.minimum, "max": self.maximum, "limit": self.limit}


class RangeHasTakenNumbers(RaffleError):
    code = "range_has_taken_numbers"

    def __init__(self, *, numbers: list[int], count: int) -> None:
        self.numbers, self.count = numbers, count
        listed = ", ".join(map(str, numbers))
        super().__init__(
            _("The new range would drop %(count)s reserved or sold numbers (e.g. %(numbers)s).")
            % {"count": count, "numbers": listed}
        )

    def extra(self) -> dict[str, Any]:
        return {"numbers": self.numbers, "count": self.count}


class RaffleInUse(RaffleError):
    code = "raffle_in_use"

    def __init__(self, *, raffle_id: int) -> None:
        self.raffle_id = raffle_id
        super().__init__(_("Numbers of this raffle were reserved or sold; deactivate it instead."))

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id}


class PriceLocked(RaffleError):
    """The raffle has orders: its price and currency stay as those orders were made."""

    code = "price_locked"

    def __init__(self, *, raffle_id: int, fields: list[str]) -> None:
        self.raffle_id = raffle_id
        self.fields = fields
        super().__init__(
            "This raffle has orders, so its price and currency can no longer change "
            f"({', '.join(fields)})."
        )

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id, "fields": self.fields}


# --- limits a hostile buyer runs into (settings; see README "Security") -----------------------
class TooManyProofs(RaffleError):
    """The order already has as many payment proofs as one order accepts."""

    code = "too_many_proofs"

    def __init__(self, *, order_id: int, limit: int) -> None:
        self.order_id, self.limit = order_id, limit
        super().__init__(
            _("Order #%(id)s already has %(limit)s payment proofs, the most one order accepts.")
            % {"id": order_id, "limit": limit}
        )

    def extra(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "limit": self.limit}


class TooManyLiveOrders(RaffleError):
    """The buyer already has as many orders in progress as one buyer may have."""

    code = "too_many_live_orders"

    def __init__(self, *, contact_id: int, limit: int, order_ids: list[int]) -> None:
        self.contact_id, self.limit, self.order_ids = contact_id, limit, order_ids
        super().__init__(
            f"The buyer already has {len(order_ids)} orders in progress "
            f"(at most {limit} at a time): finish or cancel one first."
        )

    def extra(self) -> dict[str, Any]:
        return {"contact_id": self.contact_id, "limit": self.limit, "order_ids": self.order_ids}


class TooManyNumbersHeld(RaffleError):
    """The buyer would hold more unpaid numbers in the raffle than one buyer may."""

    code = "too_many_numbers_held"

    def __init__(self, *, raffle_id: int, limit: int, requested: int) -> None:
        self.raffle_id, self.limit, self.requested = raffle_id, limit, requested
        super().__init__(
            f"A buyer may hold at most {limit} unpaid numbers in this raffle "
            f"({requested} requested)."
        )

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id, "limit": self.limit, "requested": self.requested}


# --- the close of sales and the draw -----------------------------------------------------------


class SalesClosed(RaffleError):
    """Sales of this raffle are closed: its draw is near or done."""

    code = "sales_closed"

    def __init__(self, *, raffle_id: int, draw_at: Any = None) -> None:
        self.raffle_id, self.draw_at = raffle_id, draw_at
        when = f" The draw is at {draw_at.isoformat()}." if draw_at else ""
        super().__init__(f"Sales of this raffle are closed.{when}")

    def extra(self) -> dict[str, Any]:
        return {
            "raffle_id": self.raffle_id,
            "draw_at": self.draw_at.isoformat() if self.draw_at else None,
        }


class SalesStillOpen(RaffleError):
    """The draw needs sales to be closed first."""

    code = "sales_still_open"

    def __init__(self, *, raffle_id: int, sales_close_at: Any = None) -> None:
        self.raffle_id, self.sales_close_at = raffle_id, sales_close_at
        when = f" They close at {sales_close_at.isoformat()}." if sales_close_at else ""
        super().__init__(f"Sales are still open; the draw runs after they close.{when}")

    def extra(self) -> dict[str, Any]:
        return {
            "raffle_id": self.raffle_id,
            "sales_close_at": self.sales_close_at.isoformat() if self.sales_close_at else None,
        }


class OrdersStillPending(RaffleError):
    """Unpaid orders must be settled (or cancelled explicitly) before the draw."""

    code = "orders_still_pending"

    def __init__(self, *, raffle_id: int, order_ids: list[int]) -> None:
        self.raffle_id, self.order_ids = raffle_id, order_ids
        shown = ", ".join(f"#{pk}" for pk in order_ids[:20])
        more = f" and {len(order_ids) - 20} more" if len(order_ids) > 20 else ""
        super().__init__(
            f"{len(order_ids)} order(s) still wait for payment: {shown}{more}. Confirm or cancel "
            "them first, or ask the draw to cancel the unpaid ones."
        )

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id, "order_ids": self.order_ids}


class NoPrizes(RaffleError):
    """A raffle needs at least one prize before its draw."""

    code = "no_prizes"

    def __init__(self, *, raffle_id: int) -> None:
        self.raffle_id = raffle_id
        super().__init__("Add at least one prize before the draw.")

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id}


class AlreadyDrawn(RaffleError):
    """The raffle was drawn already, with other inputs: a draw happens once."""

    code = "already_drawn"

    def __init__(self, *, raffle_id: int) -> None:
        self.raffle_id = raffle_id
        super().__init__("This raffle was already drawn with other results; a draw runs once.")

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id}


class NotDrawn(RaffleError):
    """The raffle has not been drawn yet."""

    code = "not_drawn"
    http_status = 404

    def __init__(self, *, raffle_id: int) -> None:
        self.raffle_id = raffle_id
        super().__init__("This raffle has not been drawn yet.")

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id}


class InvalidLotteryResults(RaffleError):
    """The lottery results typed for the draw cannot decide every prize."""

    code = "invalid_lottery_results"
    http_status = 422

    def __init__(self, *, reason: str, needed: int | None = None) -> None:
        self.reason, self.needed = reason, needed
        super().__init__(reason)

    def extra(self) -> dict[str, Any]:
        return {"needed": self.needed} if self.needed is not None else {}


class LotteryResultsNotExpected(RaffleError):
    """A random draw takes no lottery results (and a lottery draw needs them)."""

    code = "lottery_results_not_expected"
    http_status = 422

    def __init__(self) -> None:
        super().__init__("This raffle is drawn at random: it takes no lottery results.")


class DrawSetupLocked(RaffleError):
    """The draw method and lottery are fixed once sales have opened."""

    code = "draw_setup_locked"

    def __init__(self, *, raffle_id: int, fields: list[str]) -> None:
        self.raffle_id, self.fields = raffle_id, fields
        super().__init__(
            "The draw method, lottery and unsold policy cannot change once sales have opened "
            f"({', '.join(fields)})."
        )

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id, "fields": self.fields}


class NoSeedCommitted(RaffleError):
    """A random draw needs the seed committed when sales opened; this raffle never opened."""

    code = "no_seed_committed"

    def __init__(self, *, raffle_id: int) -> None:
        self.raffle_id = raffle_id
        super().__init__("This raffle never opened for sale, so it has no committed seed to draw.")

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id}


class LotteryNotNamed(RaffleError):
    """An official lottery raffle must name its lottery and date."""

    code = "lottery_not_named"

    def __init__(self, *, raffle_id: int) -> None:
        self.raffle_id = raffle_id
        super().__init__("An official lottery draw needs the lottery's name and date.")

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id}


class BoardTooLarge(RaffleError):
    """The raffle has more numbers than a board picture can show."""

    code = "board_too_large"
    http_status = 422  # the raffle's size, not its state: asking again never works

    def __init__(self, *, raffle_id: int, size: int, limit: int) -> None:
        self.raffle_id, self.size, self.limit = raffle_id, size, limit
        super().__init__(
            f"This raffle has {size:,} numbers; a board picture shows at most {limit:,}."
        )

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id, "size": self.size, "limit": self.limit}


class BoardNotReady(RaffleError):
    """The raffle's numbers are still being generated, so there is no board to draw yet."""

    code = "board_not_ready"

    def __init__(self, *, raffle_id: int) -> None:
        self.raffle_id = raffle_id
        super().__init__("The raffle's numbers are still being generated; try again shortly.")

    def extra(self) -> dict[str, Any]:
        return {"raffle_id": self.raffle_id}
