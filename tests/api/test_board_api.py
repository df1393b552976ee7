"""GET /api/v1/raffles/{id}/board.png: the board picture for n8n (groups, statuses)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from raffles import services
from raffles.board_picture import STRIKE
from raffles.services.board import board_for
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


def url(raffle_id: int) -> str:
    return f"/api/v1/raffles/{raffle_id}/board.png"


def test_the_board_is_a_png_showing_the_sales(api, raffle, make_order, settings):
    settings.BOARD_MIN_RENDER_SECONDS = 0
    services.confirm_payment(order=make_order(numbers=[7]))

    response = api.get(url(raffle.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    board = board_for(raffle=raffle)
    x0, y0, x1, y1 = board.layout.cell_box(7)
    assert image.getpixel((x0 + max(4, (x1 - x0) // 10) + 2, (y0 + y1) // 2)) == STRIKE
    assert response["ETag"] == f'"{board.version}"'


def test_an_unknown_raffle_is_404(api):
    response = api.get(url(999999))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_raffle_over_a_thousand_numbers_is_a_clear_422(api, make_raffle):
    big = make_raffle(min_number=1, max_number=5000)

    response = api.get(url(big.pk))

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "board_too_large"
    assert body["extra"] == {"raffle_id": big.pk, "size": 5000, "limit": 1000}


def test_the_board_needs_a_token_and_the_view_permission(anonymous, make_token, raffle):
    assert anonymous.get(url(raffle.pk)).status_code == 401
    assert ApiClient(make_token().key).get(url(raffle.pk)).status_code == 403
    allowed = ApiClient(make_token("raffles.view_raffle").key)
    assert allowed.get(url(raffle.pk)).status_code == 200


def test_unknown_query_parameters_are_refused(api, raffle):
    response = api.get(url(raffle.pk) + "?size=big")

    assert response.status_code == 422


def test_the_spec_documents_a_binary_png(api):
    spec = api.get("/api/v1/openapi.json").json()

    operation = spec["paths"]["/api/v1/raffles/{raffle_id}/board.png"]["get"]
    content = operation["responses"]["200"]["content"]
    assert content == {"image/png": {"schema": {"type": "string", "format": "binary"}}}
    assert {"404", "422"} <= set(operation["responses"])
