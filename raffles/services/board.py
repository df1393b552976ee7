"""A raffle's board picture, drawn again only when what it shows has changed.

`board_for(raffle=...)` reads the numbers' states (only the taken ones: the rest are free) and
hashes them with the header into a *version*. The stored picture is reused while its version
matches, so reading never invalidates it and a sale always does. Under heavy sales a picture is
redrawn at most once every `BOARD_MIN_RENDER_SECONDS`; in between, buyers get the last one
(stamped with the time it was made, so it never pretends to be newer than it is).

The drawing itself is `raffles.board_picture` (pure); this module words the header and keeps
the cache.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from raffles.board_picture import (
    BOARD_MAX_NUMBERS,
    BoardLayout,
    BoardSnapshot,
    CellState,
    Legend,
    board_layout,
    render_board,
)
from raffles.errors import BoardNotReady, BoardTooLarge
from raffles.models import Raffle, RaffleBoard, TicketNumber, TicketStatus

__all__ = ["Board", "board_for", "check_board_possible", "has_board", "prize_lines"]

# Bump when the drawing changes, so every stored picture is drawn again once.
RENDERER_VERSION = "1"


@dataclass(frozen=True)
class Board:
    """One version of a raffle's board picture."""

    raffle_id: int
    version: str
    png: bytes
    rendered_at: datetime
    layout: BoardLayout  # where each number's cell is in the picture


def has_board(raffle: Raffle) -> bool:
    """Whether the raffle is small enough to have a board picture."""
    return raffle.size <= BOARD_MAX_NUMBERS


def check_board_possible(raffle: Raffle) -> None:
    """Raise the reason a raffle has no board picture, if it has none."""
    if not has_board(raffle):
        raise BoardTooLarge(raffle_id=raffle.pk, size=raffle.size, limit=BOARD_MAX_NUMBERS)
    if not raffle.tickets_ready:
        raise BoardNotReady(raffle_id=raffle.pk)


# The header is a few lines tall: more prizes than this are summed up in one line.
BOARD_PRIZE_LINES = 3


def prize_lines(raffle: Raffle) -> list[str]:
    """The prize lines under the title ("Prize 1: a car"), in order. Part of the picture's
    version, so editing a prize draws the board again."""
    prizes = list(raffle.prizes.order_by("position").values_list("position", "title"))
    lines = [
        _("Prize %(position)d: %(title)s") % {"position": position, "title": title}
        for position, title in prizes[:BOARD_PRIZE_LINES]
    ]
    more = len(prizes) - BOARD_PRIZE_LINES
    if more > 0:
        lines.append(ngettext("and %(n)d more prize", "and %(n)d more prizes", more) % {"n": more})
    return lines


def board_for(*, raffle: Raffle, now: datetime | None = None) -> Board:
    """The raffle's current board picture: the stored one when still current, else drawn now.

    Raises BoardTooLarge (over 1,000 numbers) or BoardNotReady (numbers still generating).
    The picture is drawn outside any transaction (SQLite has one writer; ~50 ms of drawing
    must not hold it), then stored in a short one.
    """
    check_board_possible(raffle)
    now = now or timezone.now()
    states = _states(raffle, now)
    title, lines, legend = _header(raffle, states)
    version = _version(title, lines, legend, states)
    layout = board_layout(
        min_number=raffle.min_number, max_number=raffle.max_number, header_lines=len(lines)
    )
    stored = RaffleBoard.objects.filter(raffle=raffle).only("version", "rendered_at").first()
    if stored is not None and _still_good(stored, version, now):
        png = RaffleBoard.objects.values_list("png", flat=True).get(pk=stored.pk)
        return Board(raffle.pk, stored.version, bytes(png), stored.rendered_at, layout)
    snapshot = BoardSnapshot(
        title=title,
        lines=lines,
        made_at=_("Updated %(when)s") % {"when": _moment(now)},
        legend=legend,
        min_number=raffle.min_number,
        max_number=raffle.max_number,
        states=states,
    )
    png = render_board(snapshot)
    with transaction.atomic():
        RaffleBoard.objects.update_or_create(
            raffle=raffle, defaults={"version": version, "png": png, "rendered_at": now}
        )
    return Board(raffle.pk, version, png, now, layout)


def _still_good(stored: RaffleBoard, version: str, now: datetime) -> bool:
    if stored.version == version:
        return True
    # Changed, but drawn moments ago: under a rush of sales, one picture every few seconds.
    return now - stored.rendered_at < timedelta(seconds=settings.BOARD_MIN_RENDER_SECONDS)


def _states(raffle: Raffle, now: datetime) -> bytes:
    """One CellState per number, from the raffle's first. Only taken numbers are read; a
    reservation past its deadline shows as free, as it blocks no buyer (lazy expiry)."""
    states = bytearray(raffle.size)
    taken = TicketNumber.objects.filter(raffle=raffle).filter(
        Q(status=TicketStatus.SOLD)
        | Q(status=TicketStatus.RESERVED)
        & (Q(reserved_until__isnull=True) | Q(reserved_until__gt=now))
    )
    for number, status in taken.values_list("number", "status"):
        index = number - raffle.min_number
        if 0 <= index < len(states):
            states[index] = CellState.SOLD if status == TicketStatus.SOLD else CellState.RESERVED
    return bytes(states)


def _header(raffle: Raffle, states: bytes) -> tuple[str, list[str], Legend]:
    lines: list[str] = []
    description = " ".join(raffle.description.split())
    if description:
        lines.append(description)
    lines.extend(prize_lines(raffle))
    lines.append(
        _("Price: %(price)s %(currency)s per number")
        % {"price": formats.number_format(raffle.ticket_price, 2), "currency": raffle.currency}
    )
    if raffle.draw_at:
        lines.append(_("Draw: %(when)s") % {"when": _moment(raffle.draw_at)})
    else:
        lines.append(_("Draw date to be announced"))
    sold = states.count(CellState.SOLD)
    reserved = states.count(CellState.RESERVED)
    free = len(states) - sold - reserved
    legend = Legend(
        free=ngettext("Free (%(n)d)", "Free (%(n)d)", free) % {"n": free},
        reserved=ngettext("Reserved (%(n)d)", "Reserved (%(n)d)", reserved) % {"n": reserved},
        sold=ngettext("Sold (%(n)d)", "Sold (%(n)d)", sold) % {"n": sold},
    )
    return raffle.title, lines, legend


def _moment(moment: datetime) -> str:
    """A date and time in the operator's time zone, in the active language."""
    local = timezone.localtime(moment)
    return f"{formats.date_format(local, 'j M Y H:i')} {local.tzname() or ''}".strip()


def _version(title: str, lines: list[str], legend: Legend, states: bytes) -> str:
    digest = hashlib.sha256()
    for part in (RENDERER_VERSION, translation.get_language() or "", title, *lines):
        digest.update(part.encode())
        digest.update(b"\x00")
    digest.update(f"{legend.free}\x00{legend.reserved}\x00{legend.sold}\x00".encode())
    digest.update(states)
    return digest.hexdigest()
