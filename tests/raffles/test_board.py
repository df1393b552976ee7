"""The board picture: what each cell shows, and when the picture is drawn again."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image, ImageChops

from raffles.board_picture import STRIKE, STYLE, CellState
from raffles.errors import BoardNotReady, BoardTooLarge
from raffles.models import RaffleBoard
from raffles.services import confirm_payment, reserve_specific, submit_order
from raffles.services.board import Board, board_for
from tests.raffles.conftest import lapse, make_raffle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_render_throttle(settings):
    settings.BOARD_MIN_RENDER_SECONDS = 0


def sell(raffle, numbers, contact):
    order = submit_order(order=reserve_specific(raffle=raffle, numbers=numbers, contact=contact))
    return confirm_payment(order=order)


def pixel(board: Board, number: int, where: str) -> tuple[int, int, int]:
    """A pixel of a number's cell: its background ("corner", clear of the digits and the
    reserved border) or the left end of the strike line ("strike", clear of the digits)."""
    image = Image.open(io.BytesIO(board.png)).convert("RGB")
    x0, y0, x1, y1 = board.layout.cell_box(number)
    if where == "corner":
        return image.getpixel((x0 + 7, y0 + 7))
    pad = max(4, (x1 - x0) // 10)
    return image.getpixel((x0 + pad + 2, (y0 + y1) // 2))


def test_sold_cells_are_drawn_sold_and_struck_through_and_free_ones_free(raffle, buyer):
    sell(raffle, [7, 42], buyer)

    board = board_for(raffle=raffle)

    assert board.png.startswith(b"\x89PNG")
    for number in (7, 42):
        assert pixel(board, number, "corner") == STYLE[CellState.SOLD].fill
        assert pixel(board, number, "strike") == STRIKE
    for number in (0, 8, 41, 99):
        assert pixel(board, number, "corner") == STYLE[CellState.FREE].fill
        assert pixel(board, number, "strike") == STYLE[CellState.FREE].fill


def test_reserved_cells_have_their_own_colour_and_a_lapsed_reservation_shows_free(
    raffle, buyer, other_buyer
):
    reserve_specific(raffle=raffle, numbers=[3], contact=buyer)
    lapsed = reserve_specific(raffle=raffle, numbers=[4], contact=other_buyer)
    lapse(lapsed)

    board = board_for(raffle=raffle)

    assert pixel(board, 3, "strike") == STYLE[CellState.RESERVED].fill
    assert pixel(board, 4, "corner") == STYLE[CellState.FREE].fill


def test_a_thousand_number_board_puts_each_number_in_its_block(buyer):
    raffle = make_raffle(min_number=0, max_number=999)
    sell(raffle, [0, 437, 999], buyer)

    board = board_for(raffle=raffle)

    for number in (0, 437, 999):
        assert pixel(board, number, "strike") == STRIKE
    for number in (1, 436, 438, 998):
        assert pixel(board, number, "corner") == STYLE[CellState.FREE].fill
    # Block 400-499 is the left one of the third row of blocks, 437 in its row 3, column 7.
    x0, y0, _, _ = board.layout.cell_box(437)
    bx, by = board.layout.block_origin(4)
    assert (x0 - bx, y0 - by) == (7 * board.layout.cell_w, 3 * board.layout.cell_h)
    assert len(board.png) < 300 * 1024


def test_a_read_reuses_the_stored_picture(raffle, buyer):
    first = board_for(raffle=raffle)

    again = board_for(raffle=raffle, now=timezone.now() + timedelta(minutes=5))

    assert again.version == first.version
    assert again.png == first.png
    assert again.rendered_at == first.rendered_at


def test_a_sale_makes_a_new_picture(raffle, buyer):
    first = board_for(raffle=raffle)
    sell(raffle, [5], buyer)

    after_sale = board_for(raffle=raffle)

    assert after_sale.version != first.version
    assert pixel(after_sale, 5, "strike") == STRIKE
    assert RaffleBoard.objects.get(raffle=raffle).version == after_sale.version


def test_under_a_rush_of_sales_the_picture_is_redrawn_at_most_once_per_interval(
    raffle, buyer, settings
):
    settings.BOARD_MIN_RENDER_SECONDS = 10
    start = timezone.now()
    first = board_for(raffle=raffle, now=start)
    sell(raffle, [5], buyer)

    soon = board_for(raffle=raffle, now=start + timedelta(seconds=3))
    later = board_for(raffle=raffle, now=start + timedelta(seconds=11))

    assert soon.version == first.version  # still the earlier picture, with its own timestamp
    assert soon.rendered_at == first.rendered_at
    assert later.version != first.version
    assert pixel(later, 5, "strike") == STRIKE


def test_changing_the_title_makes_a_new_picture(raffle):
    first = board_for(raffle=raffle)
    raffle.title = "Another title"
    raffle.save()

    assert board_for(raffle=raffle).version != first.version


def test_a_raffle_over_a_thousand_numbers_has_no_board():
    raffle = make_raffle(min_number=1, max_number=1001)

    with pytest.raises(BoardTooLarge) as error:
        board_for(raffle=raffle)

    assert error.value.extra() == {"raffle_id": raffle.pk, "size": 1001, "limit": 1000}
    assert not RaffleBoard.objects.exists()


def test_a_raffle_still_generating_its_numbers_has_no_board_yet(raffle):
    raffle.__class__.objects.filter(pk=raffle.pk).update(tickets_ready=False, is_active=False)
    raffle.refresh_from_db()

    with pytest.raises(BoardNotReady):
        board_for(raffle=raffle)


def test_four_digit_numbers_stay_inside_their_cells(buyer):
    raffle = make_raffle(min_number=5000, max_number=5999)

    board = board_for(raffle=raffle)

    image = Image.open(io.BytesIO(board.png)).convert("RGB")
    for number in (5000, 5555, 5888, 5999):
        x0, y0, x1, y1 = board.layout.cell_box(number)
        inside = image.crop((x0 + 1, y0 + 1, x1, y1))  # the cell without its grid lines
        blank = Image.new("RGB", inside.size, STYLE[CellState.FREE].fill)
        left, _, right, _ = ImageChops.difference(inside, blank).getbbox()
        # The digits' ink keeps clear of both edges.
        assert left >= 2 and right <= inside.width - 2, (number, left, right, inside.width)


def test_a_partial_last_block_is_drawn(buyer):
    raffle = make_raffle(min_number=1, max_number=150)
    sell(raffle, [150], buyer)

    board = board_for(raffle=raffle)

    assert pixel(board, 150, "strike") == STRIKE
    assert pixel(board, 101, "corner") == STYLE[CellState.FREE].fill
