"""The draw: the seed committed when sales open, then, once sales are closed and every order
is settled, the winners picked (commit-reveal at random, or from an official lottery's results),
recorded with their proof, and announced. Atomic, idempotent and audited.

The arithmetic lives in `raffles.services.draw_proof`, which is all a buyer needs to check it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from raffles.errors import (
    AlreadyDrawn,
    InvalidLotteryResults,
    LotteryResultsNotExpected,
    NoPrizes,
    NoSeedCommitted,
    NotDrawn,
    OrdersStillPending,
    SalesStillOpen,
)
from raffles.models import (
    LIVE_STATUSES,
    ChangeSource,
    Draw,
    DrawMethod,
    Order,
    OrderStatus,
    Prize,
    PrizeOutcome,
    Raffle,
    RaffleChange,
    TicketNumber,
    TicketStatus,
    UnsoldPolicy,
)
from raffles.services.draw_proof import (
    lottery_picks,
    new_seed,
    random_winners,
    seed_commitment,
    sold_list_sha256,
)
from raffles.services.expiry import expire_due
from raffles.services.orders import cancel_order
from raffles.services.raffle_history import record_raffle_change
from raffles.services.sales import close_sales, db_now, sold_numbers
from raffles.signals import raffle_drawn

__all__ = [
    "UNPAID_CANCEL_REASON",
    "VerifyReport",
    "commit_seed",
    "orders_to_settle",
    "run_draw",
    "verify_draw",
]

logger = logging.getLogger(__name__)

UNPAID_CANCEL_REASON = "Still unpaid when the draw ran."


def commit_seed(*, raffle: Raffle, by: Any = None, source: str = ChangeSource.SYSTEM) -> None:
    """Make the secret seed of a random draw and publish its commitment, once (called inside
    the transaction that opens sales). A lottery raffle needs none."""
    if raffle.draw_method != DrawMethod.RANDOM or raffle.seed_commitment:
        return
    seed = new_seed()
    commitment = seed_commitment(seed)
    updated = Raffle.objects.filter(pk=raffle.pk, seed_commitment="").update(
        draw_seed=seed, seed_commitment=commitment
    )
    if not updated:
        return
    raffle.draw_seed, raffle.seed_commitment = seed, commitment
    # The history names the commitment, never the seed.
    record_raffle_change(
        raffle=raffle,
        change=RaffleChange.SEED_COMMITTED,
        changes={"seed_commitment": {"before": "", "after": commitment}},
        source=source,
        actor=by,
    )


def orders_to_settle(*, raffle: Raffle) -> list[Order]:
    """Orders of the raffle still waiting for payment (after lazy expiry), oldest first: what
    the operator confirms or cancels before the draw."""
    expire_due(raffle_id=raffle.pk)
    return list(
        Order.objects.filter(raffle_id=raffle.pk, status__in=LIVE_STATUSES)
        .select_related("contact")
        .order_by("pk")
    )


@transaction.atomic
def run_draw(
    *,
    raffle: Raffle,
    lottery_results: Sequence[str] = (),
    cancel_unpaid: bool = False,
    by: Any = None,
    source: ChangeSource | str = ChangeSource.OPERATOR,
) -> Draw:
    """Draw the raffle and return its record. Running it again returns the same record and
    changes nothing; a lottery draw asked again with other results is `AlreadyDrawn`.

    Refused while sales are open (`SalesStillOpen`), without prizes (`NoPrizes`) and while
    orders wait for payment (`OrdersStillPending`), unless `cancel_unpaid` cancels those (their
    buyers are told, as for any cancellation)."""
    locked = Raffle.objects.select_for_update().get(pk=raffle.pk)
    results = [str(r).strip() for r in lottery_results]
    existing = Draw.objects.filter(raffle_id=locked.pk).first()
    if existing is not None:
        if (
            locked.draw_method == DrawMethod.LOTTERY
            and results
            and results != existing.lottery_results
        ):
            raise AlreadyDrawn(raffle_id=locked.pk)
        return existing
    prizes = list(Prize.objects.filter(raffle_id=locked.pk).order_by("position"))
    if not prizes:
        raise NoPrizes(raffle_id=locked.pk)
    _check_inputs(locked, results)
    if locked.sales_closed_at is None:
        close_at = locked.sales_close_at
        if close_at is None or db_now() < close_at:
            raise SalesStillOpen(raffle_id=locked.pk, sales_close_at=close_at)
        close_sales(raffle=locked, source=ChangeSource.SYSTEM)
    cancelled = _settle_unpaid(locked, cancel_unpaid=cancel_unpaid, by=by, source=source)
    sold = sold_numbers(locked)
    width = locked.number_width
    digest = sold_list_sha256(sold, width=width)
    if locked.draw_method == DrawMethod.LOTTERY:
        outcomes = _lottery_outcomes(locked, prizes, results, sold)
    else:
        winners = random_winners(
            seed=locked.draw_seed, sold=sold, sold_sha256=digest, prizes=len(prizes)
        )
        outcomes = [(n, "") for n in winners] + [(None, "")] * (len(prizes) - len(winners))
    holders = _holders(locked, [n for n, _ in outcomes if n is not None])
    now = timezone.now()
    entries, won = [], []
    for prize, (number, result) in zip(prizes, outcomes, strict=True):
        order_id = holders.get(number) if number is not None else None
        prize.outcome = PrizeOutcome.WON if order_id else PrizeOutcome.HOUSE_KEEPS
        prize.winning_number, prize.winning_order_id, prize.lottery_result = (
            number,
            order_id,
            result,
        )
        entries.append(
            {
                "position": prize.position,
                "title": prize.title,
                "outcome": prize.outcome,
                "number": locked.format_number(number) if number is not None else None,
                "order_id": order_id,
                "lottery_result": result,
            }
        )
        if order_id:
            won.append(prize)
    Prize.objects.bulk_update(
        prizes, ["outcome", "winning_number", "winning_order", "lottery_result"]
    )
    draw = Draw.objects.create(
        raffle=locked,
        method=locked.draw_method,
        drawn_at=now,
        drawn_by=by if getattr(by, "pk", None) else None,
        source=source,
        seed=locked.draw_seed if locked.draw_method == DrawMethod.RANDOM else "",
        seed_commitment=locked.seed_commitment,
        sold_sha256=digest,
        sold_count=len(sold),
        lottery_results=results,
        results=entries,
        cancelled_order_ids=cancelled,
    )
    Raffle.objects.filter(pk=locked.pk).update(drawn_at=now)
    locked.drawn_at = now
    raffle.drawn_at = now
    _record(locked, draw, by=by, source=source)
    winners_with_orders = _winners(won)
    paid_contacts = list(
        Order.objects.filter(raffle_id=locked.pk, status=OrderStatus.PAID)
        .values_list("contact_id", flat=True)
        .distinct()
        .order_by("contact_id")
    )
    raffle_drawn.send(
        sender=Raffle,
        raffle=locked,
        draw=draw,
        winners=winners_with_orders,
        paid_contact_ids=paid_contacts,
    )
    return draw


def _check_inputs(raffle: Raffle, results: list[str]) -> None:
    if raffle.draw_method == DrawMethod.RANDOM:
        if results:
            raise LotteryResultsNotExpected()
        if not raffle.seed_commitment:
            # Never opened for sale with this method: there is nothing committed to reveal.
            raise NoSeedCommitted(raffle_id=raffle.pk)
    elif not results:
        raise InvalidLotteryResults(reason="Type the lottery's published results, one per prize.")


def _settle_unpaid(raffle: Raffle, *, cancel_unpaid: bool, by: Any, source: str) -> list[int]:
    unpaid = orders_to_settle(raffle=raffle)
    if unpaid and not cancel_unpaid:
        raise OrdersStillPending(raffle_id=raffle.pk, order_ids=[o.pk for o in unpaid])
    for order in unpaid:
        cancel_order(order=order, by=by, reason=UNPAID_CANCEL_REASON, source=source)
    return [o.pk for o in unpaid]


def _lottery_outcomes(
    raffle: Raffle, prizes: list[Prize], results: list[str], sold: list[int]
) -> list[tuple[int | None, str]]:
    try:
        picks = lottery_picks(
            results=results,
            prizes=len(prizes),
            width=raffle.number_width,
            sold=set(sold),
            next_result=raffle.unsold_policy == UnsoldPolicy.NEXT_RESULT,
        )
    except ValueError as error:
        raise InvalidLotteryResults(reason=f"Lottery results: {error}.") from error
    return [(p.number, p.result) for p in picks if not p.void]


def _holders(raffle: Raffle, numbers: list[int]) -> dict[int, int]:
    """Winning number -> the PAID order it was sold to."""
    return dict(
        TicketNumber.objects.filter(
            raffle_id=raffle.pk, number__in=numbers, status=TicketStatus.SOLD
        ).values_list("number", "reserved_by_order_id")
    )


def _winners(prizes: list[Prize]) -> list[tuple[Prize, Order]]:
    orders = Order.objects.select_related("contact").in_bulk([p.winning_order_id for p in prizes])
    return [(p, orders[p.winning_order_id]) for p in prizes]


def _record(raffle: Raffle, draw: Draw, *, by: Any, source: str) -> None:
    changes: dict[str, dict[str, Any]] = {
        "drawn_at": {"before": None, "after": draw.drawn_at.isoformat()},
        "sold_numbers_sha256": {"before": raffle.closing_sold_sha256, "after": draw.sold_sha256},
        "sold_count": {"before": raffle.closing_sold_count, "after": draw.sold_count},
        "winners": {"before": None, "after": [e["number"] for e in draw.results]},
    }
    if draw.seed:
        changes["seed"] = {"before": "", "after": draw.seed}
    if draw.lottery_results:
        changes["lottery_results"] = {"before": None, "after": draw.lottery_results}
    note = ""
    if draw.cancelled_order_ids:
        note = f"cancelled unpaid orders {draw.cancelled_order_ids}"
    record_raffle_change(
        raffle=raffle,
        change=RaffleChange.DRAWN,
        changes=changes,
        source=source,
        actor=by,
        note=note,
    )


# --- verification --------------------------------------------------------------------------


@dataclass
class VerifyReport:
    """What `verify_draw` checked: each line is (what, whether it holds, detail)."""

    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def add(self, what: str, ok: bool, detail: str = "") -> None:
        self.checks.append((what, ok, detail))


def verify_draw(*, raffle: Raffle) -> VerifyReport:
    """Recompute the draw from its published values and the numbers sold; nothing changes."""
    draw = Draw.objects.filter(raffle_id=raffle.pk).first()
    if draw is None:
        raise NotDrawn(raffle_id=raffle.pk)
    report = VerifyReport()
    width = raffle.number_width
    sold = sold_numbers(raffle)
    digest = sold_list_sha256(sold, width=width)
    report.add(
        "sold list hash",
        digest == draw.sold_sha256,
        f"{len(sold)} sold numbers hash to {digest}; published {draw.sold_sha256}",
    )
    winners = [e["number"] for e in draw.results]
    if draw.method == DrawMethod.RANDOM:
        report.add(
            "seed matches its commitment",
            seed_commitment(draw.seed) == draw.seed_commitment,
            f"SHA-256(seed) = {seed_commitment(draw.seed)}; committed {draw.seed_commitment}",
        )
        picked = random_winners(
            seed=draw.seed, sold=sold, sold_sha256=draw.sold_sha256, prizes=len(draw.results)
        )
        expected = [raffle.format_number(n) for n in picked]
        expected += [None] * (len(draw.results) - len(expected))
    else:
        try:
            picks = lottery_picks(
                results=draw.lottery_results,
                prizes=len(draw.results),
                width=width,
                sold=set(sold),
                next_result=raffle.unsold_policy == UnsoldPolicy.NEXT_RESULT,
            )
            expected = [raffle.format_number(p.number) for p in picks if not p.void]
        except ValueError as error:
            expected = [f"unreadable: {error}"]
    report.add(
        "winning numbers",
        expected == winners,
        f"recomputed {expected}; recorded {winners}",
    )
    holders = _holders(raffle, [int(n) for n in winners if n is not None])
    owners_ok = all(
        (e["order_id"] == holders.get(int(e["number"])))
        if e["number"] is not None
        else e["order_id"] is None
        for e in draw.results
    )
    report.add("winners hold their numbers", owners_ok, "each won prize's order holds its number")
    return report
