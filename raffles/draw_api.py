"""The draw's operations on the raffles router: read a raffle's draw, run it.

Kept apart from `raffles.api` (registered by `project.api`); thin like the rest: parse, call
`raffles.services.draw`, shape.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from project.api_types import ObjectId
from project.auth import require_perm
from project.errors import error_responses
from project.pagination import forbid_unknown_query
from raffles.api import POST_EXTRA, raffles_router
from raffles.draw_schemas import DrawIn, DrawOut, draw_output
from raffles.models import ChangeSource, Raffle
from raffles.services.draw import run_draw


@raffles_router.get(
    "/{raffle_id}/draw",
    response={200: DrawOut, **error_responses(401, 403, 404, 422)},
    operation_id="raffles_draw_get",
    summary="Get a raffle's draw",
    description=(
        "The draw method and what is published before the draw (seed commitment, close of "
        "sales, the sold-list hash at the close), then the result and its proof (revealed "
        "seed, sold-list hash used, lottery results, winners). `drawn` says which."
    ),
)
def get_draw(request: HttpRequest, raffle_id: ObjectId) -> dict[str, Any]:
    require_perm(request, "raffles.view_raffle")
    forbid_unknown_query(request)
    return draw_output(get_object_or_404(Raffle, pk=raffle_id))


@raffles_router.post(
    "/{raffle_id}/draw",
    response={200: DrawOut, **error_responses(401, 403, 404, 409, 422)},
    operation_id="raffles_draw_run",
    summary="Run a raffle's draw",
    description=(
        "Draws the raffle once and tells every buyer. Idempotent: running it again returns the "
        "same result (a lottery draw sent other results: 409 `already_drawn`). 409 "
        "`sales_still_open` before the close of sales, `orders_still_pending` (with "
        "`extra.order_ids`) while orders wait for payment unless `cancel_unpaid`, `no_prizes`. "
        "422 `invalid_lottery_results` when the results cannot decide every prize. Needs the "
        "`raffles.run_draw` permission."
    ),
    openapi_extra=POST_EXTRA,
)
def post_draw(
    request: HttpRequest, raffle_id: ObjectId, body: DrawIn | None = None
) -> dict[str, Any]:
    require_perm(request, "raffles.run_draw")
    forbid_unknown_query(request)
    body = body or DrawIn()
    raffle = get_object_or_404(Raffle, pk=raffle_id)
    run_draw(
        raffle=raffle,
        lottery_results=body.lottery_results,
        cancel_unpaid=body.cancel_unpaid,
        by=request.auth,
        source=ChangeSource.OPERATOR,
    )
    raffle.refresh_from_db()
    return draw_output(raffle)
