"""Drawing a raffle's number board as a PNG: pure rendering, no database and no cache.

`render_board(snapshot)` turns a `BoardSnapshot` (the header lines and one state per number)
into PNG bytes; `board_layout(...)` says where each number's cell is, so tests can check pixels.
The font ships with a dependency (`font-roboto`), so every machine draws the same picture.

Layouts: up to 100 numbers, one 10-column grid (the classic "tabla" 00-99). Up to 1,000, the
numbers in blocks of a hundred (each a 10 x 10 grid, labelled "400-499"), two blocks across:
a buyer finds 437 in block 400, row 3, column 7, and a block stays readable on a phone screen
once WhatsApp scales the picture down.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import font_roboto
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "BOARD_MAX_NUMBERS",
    "STYLE",
    "BoardLayout",
    "BoardSnapshot",
    "CellState",
    "Legend",
    "board_layout",
    "render_board",
]

# The picture stops being readable past a thousand cells; bigger raffles get no board.
BOARD_MAX_NUMBERS = 1000


class CellState(enum.IntEnum):
    """What a cell shows. Stored as one byte per number in a snapshot."""

    FREE = 0
    RESERVED = 1
    SOLD = 2


@dataclass(frozen=True)
class CellStyle:
    fill: tuple[int, int, int]
    text: tuple[int, int, int]


# Colours chosen to stay apart for the common colour blindnesses (light / amber / dark), and
# the states differ by more than colour: reserved cells carry a thick border, sold ones are
# struck through.
STYLE = {
    CellState.FREE: CellStyle(fill=(255, 255, 255), text=(20, 60, 120)),
    CellState.RESERVED: CellStyle(fill=(255, 196, 61), text=(60, 40, 0)),
    CellState.SOLD: CellStyle(fill=(96, 96, 96), text=(235, 235, 235)),
}
STRIKE = (200, 30, 30)
RESERVED_BORDER = (150, 95, 0)
GRID = (170, 178, 190)
BACKGROUND = (240, 243, 247)
INK = (25, 30, 40)
MUTED = (90, 98, 110)

WIDTH = 1080
MARGIN = 30


@dataclass(frozen=True)
class Legend:
    """The legend's labels, already translated, with the count of each state."""

    free: str
    reserved: str
    sold: str


@dataclass(frozen=True)
class BoardSnapshot:
    """Everything the picture shows, already worded (the caller translates)."""

    title: str
    lines: Sequence[str]  # description, prizes, price, draw: one entry per line
    made_at: str  # "Updated 3 Dec 2026 18:02"
    legend: Legend
    min_number: int
    max_number: int
    states: bytes  # CellState per number, from min_number up

    @property
    def size(self) -> int:
        return self.max_number - self.min_number + 1


@dataclass(frozen=True)
class BoardLayout:
    """Where the cells are: 10 x 10 blocks of a hundred numbers, `blocks_across` side by side."""

    min_number: int
    max_number: int
    top: int  # y of the first block's grid (below the header)
    cell_w: int
    cell_h: int
    blocks_across: int
    block_gap: int
    label_h: int  # room above each block for its "400-499" label (0: no labels)
    height: int

    @property
    def block_w(self) -> int:
        return self.cell_w * 10

    @property
    def block_h(self) -> int:
        return self.label_h + self.cell_h * 10

    def block_origin(self, block: int) -> tuple[int, int]:
        """Top-left corner of a block's grid (under its label)."""
        across, down = block % self.blocks_across, block // self.blocks_across
        x = MARGIN + across * (self.block_w + self.block_gap)
        y = self.top + down * (self.block_h + self.block_gap) + self.label_h
        return x, y

    def cell_box(self, number: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of a number's cell, edges included."""
        if not self.min_number <= number <= self.max_number:
            raise ValueError(f"{number} is not on this board")
        index = number - self.min_number
        x, y = self.block_origin(index // 100)
        row, col = divmod(index % 100, 10)
        x0, y0 = x + col * self.cell_w, y + row * self.cell_h
        return x0, y0, x0 + self.cell_w, y0 + self.cell_h


@cache
def _font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_roboto.RobotoBold if bold else font_roboto.Roboto, size)


@cache
def _label_font(size: int, *, digits: int, room: int) -> ImageFont.FreeTypeFont:
    """The bold font at `size`, smaller if need be so a label of `digits` fits `room` pixels
    (a 1,000-number raffle may run from 5000 to 5999, or higher)."""
    font = _font(size, bold=True)
    while size > 8 and font.getlength("0" * digits) > room:
        size -= 1
        font = _font(size, bold=True)
    return font


def _header_height(lines: int) -> int:
    # title 56 + the lines 36 each + "updated" 32 + legend 60
    return MARGIN + 56 + 36 * lines + 32 + 60 + 16


def board_layout(*, min_number: int, max_number: int, header_lines: int = 0) -> BoardLayout:
    size = max_number - min_number + 1
    if size < 1 or size > BOARD_MAX_NUMBERS:
        raise ValueError(f"a board has 1 to {BOARD_MAX_NUMBERS} numbers, not {size}")
    top = _header_height(header_lines)
    if size <= 100:
        rows = -(-size // 10)
        cell_w = (WIDTH - 2 * MARGIN) // 10
        layout = BoardLayout(min_number, max_number, top, cell_w, 72, 1, 0, 0, 0)
        height = top + rows * layout.cell_h + MARGIN
    else:
        gap = 24
        cell_w = (WIDTH - 2 * MARGIN - gap) // 20
        blocks = -(-size // 100)
        layout = BoardLayout(min_number, max_number, top, cell_w, 40, 2, gap, 30, 0)
        block_rows = -(-blocks // 2)
        height = top + block_rows * layout.block_h + (block_rows - 1) * gap + MARGIN
    return BoardLayout(**{**layout.__dict__, "height": height})


def render_board(snapshot: BoardSnapshot) -> bytes:
    """The board as PNG bytes."""
    if len(snapshot.states) != snapshot.size:
        raise ValueError(f"{len(snapshot.states)} states for {snapshot.size} numbers")
    layout = board_layout(
        min_number=snapshot.min_number,
        max_number=snapshot.max_number,
        header_lines=len(snapshot.lines),
    )
    image = Image.new("RGB", (WIDTH, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    _draw_header(image, draw, snapshot)
    _draw_cells(image, draw, layout, snapshot)
    out = io.BytesIO()
    # Every pixel is one of our flat colours or an anti-aliased blend of a text colour over its
    # background, so a fixed palette of those blends loses nothing visible and makes the file
    # less than half the RGB one. Mapping to a known palette costs ~15 ms (an adaptive one
    # ~60 ms); zlib level 3 is the knee between time and size for these pictures.
    image.quantize(palette=_palette(), dither=Image.Dither.NONE).save(
        out, format="PNG", compress_level=3
    )
    return out.getvalue()


@cache
def _palette() -> Image.Image:
    """The flat colours, plus 8 steps from each background to the text drawn on it."""
    pairs = [(style.fill, style.text) for style in STYLE.values()]
    pairs += [(BACKGROUND, INK), (BACKGROUND, MUTED)]
    colours = [
        tuple(round(a + (b - a) * step / 7) for a, b in zip(back, fore, strict=True))
        for back, fore in pairs
        for step in range(8)
    ]
    colours += [STRIKE, GRID, RESERVED_BORDER]
    unique = list(dict.fromkeys(colours))
    palette = Image.new("P", (1, 1))
    palette.putpalette([channel for colour in unique for channel in colour])
    return palette


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """Text cut with an ellipsis to fit the picture's width."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _draw_header(image: Image.Image, draw: ImageDraw.ImageDraw, snapshot: BoardSnapshot) -> None:
    width = WIDTH - 2 * MARGIN
    y = MARGIN
    title_font = _font(44, bold=True)
    draw.text((MARGIN, y), _fit(draw, snapshot.title, title_font, width), font=title_font, fill=INK)
    y += 56
    line_font = _font(28)
    for line in snapshot.lines:
        draw.text((MARGIN, y), _fit(draw, line, line_font, width), font=line_font, fill=INK)
        y += 36
    draw.text((MARGIN, y), snapshot.made_at, font=_font(22), fill=MUTED)
    y += 32 + 12
    _draw_legend(image, draw, snapshot.legend, y)


def _draw_legend(image: Image.Image, draw: ImageDraw.ImageDraw, legend: Legend, y: int) -> None:
    font = _font(26)
    x = MARGIN
    for state, label in (
        (CellState.FREE, legend.free),
        (CellState.RESERVED, legend.reserved),
        (CellState.SOLD, legend.sold),
    ):
        box = (x, y, x + 56, y + 40)
        _draw_cell(image, draw, box, state, "07", _font(24, bold=True))
        x += 56 + 10
        draw.text((x, y + 20), label, font=font, fill=INK, anchor="lm")
        x += int(draw.textlength(label, font=font)) + 30


def _draw_cells(
    image: Image.Image, draw: ImageDraw.ImageDraw, layout: BoardLayout, snapshot: BoardSnapshot
) -> None:
    width = len(str(snapshot.max_number))
    font = _label_font(30 if snapshot.size <= 100 else 21, digits=width, room=layout.cell_w - 10)
    if layout.label_h:
        label_font = _font(20, bold=True)
        for block in range(-(-snapshot.size // 100)):
            first = snapshot.min_number + block * 100
            last = min(first + 99, snapshot.max_number)
            x, y = layout.block_origin(block)
            label = f"{str(first).zfill(width)}-{str(last).zfill(width)}"
            draw.text((x, y - 4), label, font=label_font, fill=MUTED, anchor="ld")
    for index, state in enumerate(snapshot.states):
        number = snapshot.min_number + index
        box = layout.cell_box(number)
        _draw_cell(image, draw, box, CellState(state), str(number).zfill(width), font)


@dataclass(frozen=True)
class _Glyphs:
    """A font's digits drawn once as masks: a board pastes them instead of asking FreeType to
    lay out a thousand labels (the difference between ~250 and ~80 ms for 1,000 numbers)."""

    masks: dict[str, Image.Image]
    advance: int
    height: int


@cache
def _glyphs(font: ImageFont.FreeTypeFont) -> _Glyphs:
    ascent, descent = font.getmetrics()
    # Roboto's digits share one advance (tabular figures), so a label is digits side by side.
    advance = round(font.getlength("0"))
    masks = {}
    for digit in "0123456789":
        mask = Image.new("L", (advance, ascent + descent), 0)
        ImageDraw.Draw(mask).text((0, ascent), digit, font=font, fill=255, anchor="ls")
        masks[digit] = mask
    return _Glyphs(masks=masks, advance=advance, height=ascent + descent)


def _paste_label(
    image: Image.Image,
    middle: tuple[int, int],
    label: str,
    font: ImageFont.FreeTypeFont,
    colour: tuple[int, int, int],
) -> None:
    glyphs = _glyphs(font)
    x = middle[0] - glyphs.advance * len(label) // 2
    y = middle[1] - glyphs.height // 2
    for digit in label:
        mask = glyphs.masks[digit]
        image.paste(colour, (x, y, x + glyphs.advance, y + glyphs.height), mask)
        x += glyphs.advance


def _draw_cell(
    image: Image.Image,
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    state: CellState,
    label: str,
    font: ImageFont.FreeTypeFont,
) -> None:
    x0, y0, x1, y1 = box
    style = STYLE[state]
    draw.rectangle((x0, y0, x1, y1), fill=style.fill, outline=GRID, width=1)
    if state == CellState.RESERVED:
        draw.rectangle((x0 + 2, y0 + 2, x1 - 2, y1 - 2), outline=RESERVED_BORDER, width=3)
    middle = ((x0 + x1) // 2, (y0 + y1) // 2)
    _paste_label(image, middle, label, font, style.text)
    if state == CellState.SOLD:
        # Struck through edge to edge, so "taken" reads without telling the colours apart.
        pad = max(4, (x1 - x0) // 10)
        draw.line((x0 + pad, middle[1], x1 - pad, middle[1]), fill=STRIKE, width=3)
