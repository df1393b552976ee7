"""Typed schemas of the draw's API operations (GET/POST /api/v1/raffles/{id}/draw)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from project.api_types import STRICT_BODY, Timestamp
from raffles.models import Draw, Raffle

LotteryResult = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,32}$"),
    Field(description="A published result as digits, e.g. `4507` (leading zeros kept)."),
]


class PrizeOut(Schema):
    position: int = Field(description="1 for the first prize, 2 for the second...")
    title: str
    description: str
    outcome: Literal["PENDING", "WON", "HOUSE_KEEPS"] = Field(
        description="PENDING until the draw; HOUSE_KEEPS when no sold number won it."
    )
    winning_number: str | None = Field(
        description="As buyers see it (leading zeros); set for an unsold lottery number too."
    )
    winning_order_id: int | None
    lottery_result: str = Field(description="The lottery result that decided it, as typed.")


class DrawOut(Schema):
    """A raffle's draw: its setup and published commitments before, its result and proof after."""

    raffle_id: int
    method: Literal["RANDOM", "LOTTERY"]
    lottery_name: str
    lottery_date: dt.date | None
    unsold_policy: Literal["HOUSE_KEEPS", "NEXT_RESULT"]
    draw_at: Timestamp | None
    sales_close_at: Timestamp | None = Field(description="draw_at minus the raffle's cut-off.")
    sales_closed_at: Timestamp | None
    seed_commitment: str = Field(
        description="SHA-256 (hex) of the secret seed, published when sales opened (random)."
    )
    closing_sold_sha256: str = Field(
        description="SHA-256 of the sorted sold numbers, one per line, when sales closed."
    )
    closing_sold_count: int | None
    drawn: bool
    drawn_at: Timestamp | None
    seed: str | None = Field(description="The revealed seed (random draw, after the draw).")
    sold_sha256: str | None = Field(description="The sold-list hash the draw used.")
    sold_count: int | None
    lottery_results: list[str]
    cancelled_order_ids: list[int] = Field(
        description="Orders the draw cancelled because they were still unpaid."
    )
    prizes: list[PrizeOut]


class DrawIn(Schema):
    # Strict, and an unknown field is a 422: a misspelt `cancel_unpaid` must not draw anyway.
    model_config = STRICT_BODY

    lottery_results: list[LotteryResult] = Field(
        default_factory=list,
        max_length=100,
        description=(
            "Official lottery: each published result, in prize order (extra results when a "
            "prize waits for another). Empty for a random draw."
        ),
    )
    cancel_unpaid: bool = Field(
        False, description="Cancel orders still waiting for payment (their buyers are told)."
    )


def draw_output(raffle: Raffle) -> dict[str, Any]:
    """The draw state of `raffle` as `DrawOut` reads it (one query for the draw, one for
    the prizes)."""
    draw = Draw.objects.filter(raffle_id=raffle.pk).first()
    prizes = [
        {
            "position": p.position,
            "title": p.title,
            "description": p.description,
            "outcome": p.outcome,
            "winning_number": (
                raffle.format_number(p.winning_number) if p.winning_number is not None else None
            ),
            "winning_order_id": p.winning_order_id,
            "lottery_result": p.lottery_result,
        }
        for p in raffle.prizes.order_by("position")
    ]
    return {
        "raffle_id": raffle.pk,
        "method": raffle.draw_method,
        "lottery_name": raffle.lottery_name,
        "lottery_date": raffle.lottery_date,
        "unsold_policy": raffle.unsold_policy,
        "draw_at": raffle.draw_at,
        "sales_close_at": raffle.sales_close_at,
        "sales_closed_at": raffle.sales_closed_at,
        "seed_commitment": raffle.seed_commitment,
        "closing_sold_sha256": raffle.closing_sold_sha256,
        "closing_sold_count": raffle.closing_sold_count,
        "drawn": draw is not None,
        "drawn_at": draw.drawn_at if draw else None,
        "seed": (draw.seed or None) if draw else None,
        "sold_sha256": draw.sold_sha256 if draw else None,
        "sold_count": draw.sold_count if draw else None,
        "lottery_results": draw.lottery_results if draw else [],
        "cancelled_order_ids": draw.cancelled_order_ids if draw else [],
        "prizes": prizes,
    }
