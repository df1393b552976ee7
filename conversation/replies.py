"""Everything the bot says, in one place, through Django's translation functions.

Each function returns one reply (a text, buttons or a list) built for WhatsApp's limits: at most
three buttons with titles up to 20 characters, lists up to 10 rows. English is the default; an
operator changes wording or language here (or in a translation catalogue) and nowhere else.
Objects are read by attribute (raffle.title, order.total_amount, ...), never changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from conversation.actions import Action, tap_id
from conversation.models import ConversationState as State
from raffles import errors
from raffles.formatting import local_deadline, money, raffle_zone
from raffles.models import DrawMethod, OrderStatus, PrizeOutcome
from raffles.selectors import sales_are_closed
from raffles.services.draw import UNPAID_CANCEL_REASON
from whatsapp.outgoing import (
    Button,
    ButtonsMessage,
    ImageMessage,
    ListMessage,
    ListRow,
    ListSection,
    OutgoingMessage,
    TextMessage,
)

# Raffles per list page when they do not all fit: 8 raffles + "More" + "My tickets" = 10 rows.
PAGE_SIZE = 8
LIST_ROWS = 10
_BODY_LIMIT = 1024  # buttons and list bodies
_TEXT_LIMIT = 4096


# --- formatting helpers ------------------------------------------------------------------------
def clip(text: str, limit: int) -> str:
    """Shorten to `limit` characters with an ellipsis, so titles never break WhatsApp's limits."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def when(moment: dt.datetime | None, *, raffle: Any = None, now: dt.datetime | None = None) -> str:
    """A deadline in the raffle's time zone, said the local way ("14:29", or with the day)."""
    if moment is None:
        return _("no deadline")
    return local_deadline(moment, zone=raffle_zone(raffle), now=now)


def numbers_of(order: Any) -> list[int]:
    numbers = order.numbers
    return list(numbers() if callable(numbers) else numbers)


def number_list(raffle: Any, numbers: Iterable[int], *, limit: int = 60) -> str:
    """ "05, 07, 12", cut after `limit` numbers with a count of the rest."""
    numbers = list(numbers)
    shown = ", ".join(raffle.format_number(n) for n in numbers[:limit])
    rest = len(numbers) - limit
    if rest > 0:
        shown += " " + ngettext("and %(n)d more", "and %(n)d more", rest) % {"n": rest}
    return shown


def join(*parts: str, limit: int = _BODY_LIMIT) -> str:
    text = "\n\n".join(part.strip() for part in parts if part and part.strip())
    return clip_block(text, limit)


def clip_block(text: str, limit: int) -> str:
    """Like `clip` but keeps line breaks (bodies are multi-line)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def say(*parts: str) -> TextMessage:
    return TextMessage(body=join(*parts, limit=_TEXT_LIMIT))


def _buttons(body: str, buttons: Sequence[tuple[str, str]]) -> ButtonsMessage:
    return ButtonsMessage(
        body=clip_block(body, _BODY_LIMIT),
        buttons=[Button(id=bid, title=clip(title, 20)) for bid, title in buttons[:3]],
    )


def _status_label(status: str) -> str:
    labels = {
        OrderStatus.DRAFT: _("reserved, not confirmed"),
        OrderStatus.PENDING_PAYMENT: _("waiting for payment"),
        OrderStatus.PAID: _("paid"),
        OrderStatus.CANCELLED: _("cancelled"),
        OrderStatus.EXPIRED: _("expired"),
    }
    return labels.get(status, str(status).lower())


def _order_status(order: Any) -> str:
    if order.is_under_review:
        return _("payment being checked")
    return _status_label(order.status)


# --- menu --------------------------------------------------------------------------------------
def no_raffles(*, prefix: str = "") -> TextMessage:
    return say(
        prefix,
        _(
            "There are no raffles open right now. Thank you for your interest! "
            "Write to us again later, or send MENU to check."
        ),
    )


def raffle_summary(raffle: Any, left: int) -> str:
    lines = [
        f"*{raffle.title}*",
        _("Price: %(price)s per number") % {"price": money(raffle.ticket_price, raffle.currency)},
        ngettext("%(left)d number left", "%(left)d numbers left", left) % {"left": left},
    ]
    if getattr(raffle, "draw_at", None):
        lines.append(_("Draw: %(when)s") % {"when": when(raffle.draw_at, raffle=raffle)})
    how = draw_method_line(raffle)
    if how:
        lines.append(how)
    if getattr(raffle, "description", ""):
        lines.append(clip(raffle.description, 300))
    return "\n".join(lines)


# --- the draw ------------------------------------------------------------------------------------
def draw_method_line(raffle: Any) -> str:
    """How the raffle is drawn, as buyers see it on its card."""
    method = getattr(raffle, "draw_method", "")
    if method == DrawMethod.LOTTERY and raffle.lottery_name:
        return _("Plays with the last %(k)d digits of %(lottery)s, %(date)s.") % {
            "k": raffle.number_width,
            "lottery": raffle.lottery_name,
            "date": date_format(raffle.lottery_date, "j M Y") if raffle.lottery_date else "",
        }
    if method == DrawMethod.RANDOM and getattr(raffle, "seed_commitment", ""):
        return _("Verifiable random draw. Seed commitment (SHA-256): %(commitment)s") % {
            "commitment": raffle.seed_commitment
        }
    return ""


def _ordinal(position: int) -> str:
    return _("Prize %(n)d") % {"n": position}


def prize_results(*, raffle: Any, prizes: Sequence[Any]) -> list[str]:
    """One line per prize: its winning number, or that the house keeps it."""
    lines = []
    for prize in prizes:
        if prize.outcome == PrizeOutcome.WON:
            lines.append(
                _("%(position)s (%(prize)s): number %(number)s")
                % {
                    "position": _ordinal(prize.position),
                    "prize": prize.title,
                    "number": raffle.format_number(prize.winning_number),
                }
            )
        else:
            lines.append(
                _("%(position)s (%(prize)s): no number sold won it; the house keeps it")
                % {"position": _ordinal(prize.position), "prize": prize.title}
            )
    return lines


def sales_closed_card(*, raffle: Any, prizes: Sequence[Any] = (), prefix: str = "") -> TextMessage:
    """The card of a raffle that no longer sells: when the draw is, or its result."""
    parts = [prefix, f"*{raffle.title}*"]
    if getattr(raffle, "drawn_at", None) and prizes:
        parts.append(_("This raffle has been drawn. The results:"))
        parts.append("\n".join(prize_results(raffle=raffle, prizes=prizes)))
    elif raffle.draw_at:
        parts.append(
            _("Sales are closed. The draw is %(when)s.")
            % {"when": when(raffle.draw_at, raffle=raffle)}
        )
    else:
        parts.append(_("Sales are closed."))
    parts.append(draw_method_line(raffle))
    parts.append(_("Send MENU to see the raffles."))
    return say(*parts)


def _proof_line(raffle: Any, draw: Any) -> str:
    if draw.method == DrawMethod.LOTTERY:
        return _("Lottery results: %(results)s.") % {"results": ", ".join(draw.lottery_results)}
    return _(
        "Check it yourself: the seed is %(seed)s and the sold numbers' SHA-256 is %(hash)s."
    ) % {"seed": draw.seed, "hash": draw.sold_sha256}


def notify_draw_result(*, raffle: Any, draw: Any, prizes: Sequence[Any]) -> TextMessage:
    """The same words for every buyer of the raffle: one INSERT for all of them."""
    return say(
        _("*%(raffle)s* has been drawn. The results:") % {"raffle": raffle.title},
        "\n".join(prize_results(raffle=raffle, prizes=prizes)),
        _proof_line(raffle, draw),
        _("Thank you for playing! Send MENU to see your tickets."),
    )


def notify_winner(*, raffle: Any, prize: Any) -> TextMessage:
    return say(
        _("Congratulations! Your number %(number)s won %(position)s in *%(raffle)s*: %(prize)s.")
        % {
            "number": raffle.format_number(prize.winning_number),
            "position": _ordinal(prize.position),
            "raffle": raffle.title,
            "prize": prize.title,
        },
        clip(prize.description, 500) if prize.description else "",
        _(
            "To claim your prize, reply to this message: we will tell you how you receive it. "
            "Keep this message and your order number #%(order)s."
        )
        % {"order": prize.winning_order_id},
    )


def menu(
    *, raffles: Sequence[tuple[Any, int]], page: int = 0, prefix: str = ""
) -> ListMessage | TextMessage:
    """The active raffles as a list (title, price, numbers left), plus "My tickets".

    With more raffles than fit in ten rows, each page shows PAGE_SIZE raffles and a "More" row.
    """
    if not raffles:
        return no_raffles(prefix=prefix)
    if len(raffles) + 1 <= LIST_ROWS:
        shown, has_more = list(raffles), False
    else:
        start = page * PAGE_SIZE
        shown = list(raffles[start : start + PAGE_SIZE])
        has_more = start + PAGE_SIZE < len(raffles)
    rows = [
        ListRow(
            id=tap_id(Action.RAFFLE, raffle.pk),
            title=clip(raffle.title, 24),
            description=clip(_row_description(raffle, left), 72),
        )
        for raffle, left in shown
    ]
    if has_more:
        rows.append(
            ListRow(
                id=tap_id(Action.PAGE, page + 1),
                title=_("More raffles"),
                description=_("Show the next raffles"),
            )
        )
    elif page > 0:
        rows.append(ListRow(id=tap_id(Action.PAGE, 0), title=_("Back to the start")))
    rows.append(
        ListRow(id=tap_id(Action.MINE), title=_("My tickets"), description=_("Your orders"))
    )
    return ListMessage(
        body=join(prefix, _("Which raffle would you like to play? Tap *Raffles* to choose.")),
        button=_("Raffles"),
        sections=[ListSection(title=clip(_("Open raffles"), 24), rows=rows)],
    )


def _row_description(raffle: Any, left: int) -> str:
    if getattr(raffle, "drawn_at", None):
        return _("drawn: see the results")
    if sales_are_closed(raffle):
        return _("sales closed · draw %(when)s") % {"when": when(raffle.draw_at, raffle=raffle)}
    return _("%(price)s · %(left)s") % {
        "price": money(raffle.ticket_price, raffle.currency),
        "left": (
            ngettext("%(n)d number left", "%(n)d numbers left", left) % {"n": left}
            if left
            else _("sold out")
        ),
    }


def choose_mode(*, raffle: Any, left: int, prefix: str = "", board: bool = False) -> ButtonsMessage:
    """The raffle card. With `board` (raffles small enough for a board picture), its third
    button shows the board; "My tickets" moves to the footer as a word to type."""
    message = _buttons(
        join(
            prefix,
            raffle_summary(raffle, left),
            _("Would you like to pick your numbers or get random ones?"),
        ),
        [
            (tap_id(Action.MODE, "pick", raffle.pk), _("Pick my numbers")),
            (tap_id(Action.MODE, "random", raffle.pk), _("Random numbers")),
            board_button(raffle) if board else (tap_id(Action.MINE), _("My tickets")),
        ],
    )
    if board:
        message = replace(message, footer=clip(_("Your orders: write MY TICKETS"), 60))
    return message


# --- the board picture -----------------------------------------------------------------------
def board_button(raffle: Any) -> tuple[str, str]:
    return tap_id(Action.BOARD, raffle.pk), _("See the board")


def board_caption(*, raffle: Any) -> str:
    return clip_block(
        _(
            "*%(title)s*: white numbers are free, yellow ones reserved, and grey struck-through "
            "ones sold."
        )
        % {"title": raffle.title},
        1024,
    )


def after_board(*, raffle: Any, left: int) -> ButtonsMessage:
    """What follows the board picture: how the buyer wants their numbers."""
    return _buttons(
        join(
            ngettext(
                "%(left)d number left. Pick yours from the board, or get random ones?",
                "%(left)d numbers left. Pick yours from the board, or get random ones?",
                left,
            )
            % {"left": left},
        ),
        [
            (tap_id(Action.MODE, "pick", raffle.pk), _("Pick my numbers")),
            (tap_id(Action.MODE, "random", raffle.pk), _("Random numbers")),
            (tap_id(Action.MINE), _("My tickets")),
        ],
    )


def board_unavailable() -> str:
    return _("Sorry, the board picture could not be sent right now.")


def live_order_offer(*, order: Any, prefix: str = "") -> ButtonsMessage:
    raffle = order.raffle
    return _buttons(
        join(
            prefix,
            _(
                "You have an order in progress: #%(id)s for *%(raffle)s*, numbers %(numbers)s "
                "(%(status)s). Continue with it, or cancel it to start another?"
            )
            % {
                "id": order.pk,
                "raffle": raffle.title,
                "numbers": number_list(raffle, numbers_of(order)),
                "status": _order_status(order),
            },
        ),
        [
            (tap_id(Action.CONTINUE, order.pk), _("Continue")),
            (tap_id(Action.CANCEL, order.pk), _("Cancel order")),
        ],
    )


def my_tickets(*, orders: Sequence[Any], prefix: str = "") -> TextMessage:
    if not orders:
        return say(prefix, _("You have no orders yet. Send MENU to see the raffles."))
    lines = [_("*Your orders*")]
    for order in orders:
        lines.append(
            _("#%(id)s %(raffle)s: %(numbers)s — %(status)s")
            % {
                "id": order.pk,
                "raffle": order.raffle.title,
                "numbers": number_list(order.raffle, numbers_of(order), limit=20),
                "status": _order_status(order),
            }
        )
        result = _ticket_result(order)
        if result:
            lines.append(result)
    return say(prefix, "\n".join(lines), _("Send MENU to see the raffles."))


def _ticket_result(order: Any) -> str:
    """Under a PAID order of a drawn raffle: what it won, or the winning numbers."""
    raffle = order.raffle
    if order.status != OrderStatus.PAID or not getattr(raffle, "drawn_at", None):
        return ""
    prizes = list(raffle.prizes.all())
    mine = [p for p in prizes if p.winning_order_id == order.pk]
    if mine:
        return "\n".join(
            _("🎉 You won %(position)s (%(prize)s) with number %(number)s!")
            % {
                "position": _ordinal(p.position),
                "prize": p.title,
                "number": raffle.format_number(p.winning_number),
            }
            for p in mine
        )
    won = [raffle.format_number(p.winning_number) for p in prizes if p.outcome == PrizeOutcome.WON]
    return _("Drawn: the winning numbers were %(numbers)s. Not this time!") % {
        "numbers": ", ".join(won) or "-"
    }


def raffle_closed(*, prefix: str = "") -> str:
    return join(prefix, _("That raffle is not open any more."))


def sold_out(*, raffle: Any) -> str:
    return _("Sorry, *%(raffle)s* is sold out.") % {"raffle": raffle.title}


# --- choosing numbers --------------------------------------------------------------------------
def _qty_options(most: int) -> list[int]:
    options = [n for n in (1, 2, 5) if n <= most]
    if most not in options and len(options) < 3:
        options.append(most)
    return options


def ask_quantity(*, raffle: Any, most: int, prefix: str = "") -> ButtonsMessage:
    body = join(
        prefix,
        _("How many numbers would you like? (1-%(max)d) Tap one or type the amount.")
        % {"max": most},
    )
    return _buttons(body, [(tap_id(Action.QTY, raffle.pk, n), str(n)) for n in _qty_options(most)])


def quantity_out_of_range(*, most: int) -> str:
    return _("Please choose between 1 and %(max)d numbers.") % {"max": most}


def ask_numbers(*, raffle: Any, most: int, prefix: str = "") -> TextMessage:
    return say(
        prefix,
        _(
            "Which numbers would you like? From %(low)s to %(high)s, up to %(max)d per order.\n"
            "Type them like: %(example)s"
        )
        % {
            "low": raffle.format_number(raffle.min_number),
            "high": raffle.format_number(raffle.max_number),
            "max": most,
            "example": "7, 12, 30-32",
        },
    )


def numbers_unreadable(*, junk: Sequence[str]) -> str:
    return _("I couldn't read %(junk)s as numbers. Type numbers like: 7, 12, 30-32") % {
        "junk": ", ".join(f"\u201c{clip(piece, 20)}\u201d" for piece in junk[:5])
    }


def numbers_missing() -> str:
    return _("Please type the numbers you want, like: 7, 12, 30-32")


def numbers_out_of_range(*, raffle: Any, numbers: Sequence[int]) -> str:
    return ngettext(
        "Number %(numbers)s is not in this raffle: numbers go from %(low)s to %(high)s.",
        "Numbers %(numbers)s are not in this raffle: numbers go from %(low)s to %(high)s.",
        len(numbers),
    ) % {
        "numbers": number_list(raffle, numbers, limit=10),
        "low": raffle.format_number(raffle.min_number),
        "high": raffle.format_number(raffle.max_number),
    }


def too_many_numbers(*, most: int) -> str:
    return ngettext(
        "You can take at most %(max)d number per order.",
        "You can take at most %(max)d numbers per order.",
        most,
    ) % {"max": most}


def numbers_taken(*, raffle: Any, taken: Sequence[int], suggestions: Sequence[int]) -> TextMessage:
    parts = [
        ngettext(
            "Sorry, %(numbers)s is already taken. Nothing was reserved.",
            "Sorry, %(numbers)s are already taken. Nothing was reserved.",
            len(taken),
        )
        % {"numbers": number_list(raffle, taken, limit=20)}
    ]
    if suggestions:
        parts.append(
            _("Still available, for example: %(numbers)s.")
            % {"numbers": number_list(raffle, suggestions)}
        )
    parts.append(_("Please send the numbers you want."))
    return say(*parts)


def order_total_too_large(*, most: int) -> str:
    """An older raffle's price times the quantity is more than one order can record."""
    return ngettext(
        "That many numbers would cost more than one order can hold. At this price you can take "
        "at most %(max)d number per order.",
        "That many numbers would cost more than one order can hold. At this price you can take "
        "at most %(max)d numbers per order.",
        most,
    ) % {"max": most}


def not_enough_left(*, left: int) -> str:
    return ngettext("Only %(left)d number is left.", "Only %(left)d numbers are left.", left) % {
        "left": left
    }


# --- reservation and payment -------------------------------------------------------------------
def confirm_reservation(*, order: Any, prefix: str = "", now: dt.datetime | None = None):
    raffle = order.raffle
    numbers = numbers_of(order)
    body = join(
        prefix,
        ngettext(
            "Reserved for you in *%(raffle)s*: number %(numbers)s.",
            "Reserved for you in *%(raffle)s*: numbers %(numbers)s.",
            len(numbers),
        )
        % {"raffle": raffle.title, "numbers": number_list(raffle, numbers)},
        _("Total: %(total)s") % {"total": money(order.total_amount, order.currency)},
        _("Please confirm before %(deadline)s or the numbers are released.")
        % {"deadline": when(order.expires_at, raffle=order.raffle, now=now)},
    )
    return _buttons(
        body,
        [
            (tap_id(Action.CONFIRM, order.pk), _("Confirm")),
            (tap_id(Action.CANCEL, order.pk), _("Cancel")),
        ],
    )


def payment_instructions(*, order: Any, prefix: str = "", now: dt.datetime | None = None):
    raffle = order.raffle
    return say(
        prefix,
        # Confirming holds the numbers; nothing is paid yet, so the words must not say "done".
        ngettext(
            "Order #%(id)s: number %(numbers)s is held for you. Total to pay: %(total)s.",
            "Order #%(id)s: numbers %(numbers)s are held for you. Total to pay: %(total)s.",
            len(numbers_of(order)),
        )
        % {
            "id": order.pk,
            "numbers": number_list(raffle, numbers_of(order)),
            "total": money(order.total_amount, order.currency),
        },
        (raffle.payment_instructions or "").strip(),
        _(
            "We await your payment until %(deadline)s: send a photo or PDF of your transfer "
            "here and we will check it."
        )
        % {"deadline": when(order.expires_at, raffle=order.raffle, now=now)},
    )


def proof_reminder(*, order: Any, now: dt.datetime | None = None) -> TextMessage:
    return say(
        _(
            "I'm waiting for a photo or PDF of your transfer for order #%(id)s "
            "(%(total)s). Please send it before %(deadline)s."
        )
        % {
            "id": order.pk,
            "total": money(order.total_amount, order.currency),
            "deadline": when(order.expires_at, raffle=order.raffle, now=now),
        },
        _("Send CANCEL to cancel the order, HELP for help."),
    )


def deadline_reminder(*, order: Any, now: dt.datetime | None = None) -> TextMessage:
    raffle = order.raffle
    return say(
        _(
            "Reminder: your numbers %(numbers)s in *%(raffle)s* are held until %(deadline)s. "
            "Send a photo or PDF of your transfer (%(total)s) before then to keep them."
        )
        % {
            "numbers": number_list(raffle, numbers_of(order)),
            "raffle": raffle.title,
            "deadline": when(order.expires_at, raffle=order.raffle, now=now),
            "total": money(order.total_amount, order.currency),
        }
    )


def proof_received(*, order: Any, late: bool = False) -> TextMessage:
    parts = [
        _("Thank you! We received your payment proof for order #%(id)s.") % {"id": order.pk},
        _("It is being reviewed; we will message you when it is checked."),
    ]
    if late:
        parts.insert(
            1,
            _(
                "It arrived after the deadline, so an operator will decide whether the "
                "numbers can still be yours."
            ),
        )
    return say(*parts)


def proof_added(*, order: Any) -> TextMessage:
    return say(
        _("Got it: this file was added to your payment proof for order #%(id)s.")
        % {"id": order.pk},
        _("It is being reviewed; we will message you when it is checked."),
    )


def proof_already_received(*, order: Any) -> TextMessage:
    return say(
        _("Your payment proof for order #%(id)s is being reviewed.") % {"id": order.pk},
        _("Send MENU to see the raffles."),
    )


# --- cancelling, expiry, stale taps ------------------------------------------------------------
def order_cancelled(*, order: Any) -> str:
    numbers = numbers_of(order)
    return ngettext(
        "Order #%(id)s is cancelled and its number %(numbers)s was released.",
        "Order #%(id)s is cancelled and its numbers %(numbers)s were released.",
        len(numbers),
    ) % {"id": order.pk, "numbers": number_list(order.raffle, numbers)}


def nothing_to_cancel() -> str:
    return _("You have no order in progress to cancel.")


def reservation_expired(
    *, order: Any, raffle: Any = None, numbers: Sequence[int] | None = None
) -> str:
    raffle = raffle or order.raffle
    numbers = list(numbers) if numbers is not None else numbers_of(order)
    return ngettext(
        "Your reservation #%(id)s expired and number %(numbers)s was released. "
        "Send MENU to start again.",
        "Your reservation #%(id)s expired and the numbers %(numbers)s were released. "
        "Send MENU to start again.",
        len(numbers),
    ) % {"id": order.pk, "numbers": number_list(raffle, numbers)}


def order_gone() -> str:
    return _("I can't find that order any more.")


def stale_order(*, order: Any) -> str:
    """A button from an old message whose order has moved on: say where it stands instead."""
    status = order.status
    if status == OrderStatus.PAID:
        return _("Order #%(id)s is already paid. Your numbers: %(numbers)s.") % {
            "id": order.pk,
            "numbers": number_list(order.raffle, numbers_of(order)),
        }
    if status == OrderStatus.CANCELLED:
        return _("Order #%(id)s was cancelled.") % {"id": order.pk}
    if status == OrderStatus.EXPIRED:
        return reservation_expired(order=order)
    return _("Order #%(id)s is %(status)s.") % {"id": order.pk, "status": _status_label(status)}


# --- refusals of the raffles services, worded by their code -----------------------------------
Extra = Mapping[str, Any]


def refused(*, code: str, extra: Extra | None = None, raffle: Any = None) -> str:
    """What the buyer is told when the raffles services refuse (a `RaffleError` with `code`
    and data `extra`), in the buyer's language. Never the service's own (English) text; a code
    without wording here gets a polite generic sentence."""
    wording = REFUSALS.get(code)
    if wording is None:
        return _refusal_generic()
    try:
        return wording(extra or {}, raffle)
    except (KeyError, TypeError, ValueError):
        return _refusal_generic()  # data missing or malformed: still a sentence, never a crash


def _refusal_generic() -> str:
    return _("Sorry, that can't be done right now. Send MENU to start again or HELP for help.")


def _listed(extra: Extra, raffle: Any) -> str:
    numbers = list(extra["numbers"])
    if raffle is not None:
        return number_list(raffle, numbers, limit=20)
    shown = ", ".join(str(n) for n in numbers[:20])
    rest = len(numbers) - 20
    if rest > 0:
        shown += " " + ngettext("and %(n)d more", "and %(n)d more", rest) % {"n": rest}
    return shown


def _status_of(extra: Extra) -> str:
    return _status_label(extra["status"])


# code -> wording(extra, raffle). Every `raffles.errors.RaffleError` code has an entry (a test
# discovers the error classes and checks each one is worded and translated).
REFUSALS: dict[str, Callable[[Extra, Any], str]] = {
    errors.RaffleError.code: lambda extra, raffle: _refusal_generic(),
    errors.RaffleInactive.code: lambda extra, raffle: _(
        "That raffle is not selling numbers right now."
    ),
    errors.RaffleNotReady.code: lambda extra, raffle: _("That raffle is not open yet."),
    errors.SoldOut.code: lambda extra, raffle: _("Every number of that raffle is taken."),
    errors.InvalidQuantity.code: lambda extra, raffle: (
        _("Please choose between %(min)d and %(max)d numbers.")
        % {"min": int(extra["min"]), "max": int(extra["max"])}
    ),
    errors.NumbersOutOfRange.code: lambda extra, raffle: (
        ngettext(
            "Number %(numbers)s is not in this raffle: numbers go from %(low)s to %(high)s.",
            "Numbers %(numbers)s are not in this raffle: numbers go from %(low)s to %(high)s.",
            len(extra.get("numbers") or []),
        )
        % {
            "numbers": _listed(extra, raffle),
            "low": raffle.format_number(extra["min"]) if raffle else extra["min"],
            "high": raffle.format_number(extra["max"]) if raffle else extra["max"],
        }
    ),
    errors.DuplicateNumbers.code: lambda extra, raffle: (
        _("You asked for %(numbers)s more than once. Please send each number once.")
        % {"numbers": _listed(extra, raffle)}
    ),
    errors.NotEnoughAvailable.code: lambda extra, raffle: not_enough_left(
        left=int(extra["available"])
    ),
    errors.TicketsTaken.code: lambda extra, raffle: (
        ngettext(
            "Sorry, %(numbers)s is already taken. Nothing was reserved.",
            "Sorry, %(numbers)s are already taken. Nothing was reserved.",
            len(extra["numbers"]),
        )
        % {"numbers": _listed(extra, raffle)}
    ),
    errors.LiveOrderExists.code: lambda extra, raffle: (
        _(
            "You already have order #%(id)s in progress in this raffle. "
            "Send MENU to continue with it or cancel it."
        )
        % {"id": extra["order_id"]}
    ),
    errors.InvalidTransition.code: lambda extra, raffle: (
        _("Order #%(id)s is %(status)s, so that can't be done any more.")
        % {"id": extra["order_id"], "status": _status_of(extra)}
    ),
    errors.OrderNotPending.code: lambda extra, raffle: (
        _("Order #%(id)s is not waiting for payment (it is %(status)s).")
        % {"id": extra["order_id"], "status": _status_of(extra)}
    ),
    errors.OrderExpired.code: lambda extra, raffle: (
        _("Order #%(id)s expired and its numbers were released. Send MENU to start again.")
        % {"id": extra["order_id"]}
    ),
    errors.NumbersLost.code: lambda extra, raffle: (
        _("Order #%(id)s expired and these numbers were taken since: %(numbers)s.")
        % {"id": extra["order_id"], "numbers": _listed(extra, raffle)}
    ),
    errors.ProofAlreadyReviewed.code: lambda extra, raffle: _(
        "That payment proof was already reviewed."
    ),
    errors.InvalidOrderRequest.code: lambda extra, raffle: _(
        "Please tell me which numbers you want, or how many."
    ),
    errors.InvalidRange.code: lambda extra, raffle: _("That range of numbers is not allowed."),
    errors.RangeHasTakenNumbers.code: lambda extra, raffle: _(
        "That change would drop numbers that are already reserved or sold."
    ),
    errors.RaffleInUse.code: lambda extra, raffle: _(
        "That raffle already has orders, so it can't be deleted."
    ),
    errors.PriceLocked.code: lambda extra, raffle: _(
        "That raffle already has orders, so its price can't change."
    ),
    errors.OrderTotalTooLarge.code: lambda extra, raffle: order_total_too_large(
        most=max(int(extra["max_qty"]), 1)
    ),
    errors.TooManyProofs.code: lambda extra, raffle: (
        ngettext(
            "Order #%(id)s already has %(limit)d payment proof, the most one order accepts. "
            "We will check what you sent and message you.",
            "Order #%(id)s already has %(limit)d payment proofs, the most one order accepts. "
            "We will check what you sent and message you.",
            int(extra["limit"]),
        )
        % {"id": extra["order_id"], "limit": int(extra["limit"])}
    ),
    errors.TooManyLiveOrders.code: lambda extra, raffle: (
        ngettext(
            "You already have %(limit)d order in progress, the most one buyer can have at a "
            "time. Pay or cancel it first; send MENU to see it.",
            "You already have %(limit)d orders in progress, the most one buyer can have at a "
            "time. Pay or cancel one of them first; send MENU to see them.",
            int(extra["limit"]),
        )
        % {"limit": int(extra["limit"])}
    ),
    errors.TooManyNumbersHeld.code: lambda extra, raffle: too_many_numbers(
        most=int(extra["limit"])
    ),
    errors.SalesClosed.code: lambda extra, raffle: (
        _("Sales of this raffle are closed: the draw is %(when)s.")
        % {"when": when(dt.datetime.fromisoformat(extra["draw_at"]))}
        if extra.get("draw_at")
        else _("This raffle no longer sells numbers: its sales are closed.")
    ),
    errors.SalesStillOpen.code: lambda extra, raffle: _(
        "This raffle is still selling; the draw happens after sales close."
    ),
    errors.OrdersStillPending.code: lambda extra, raffle: _(
        "Some orders of this raffle still wait for payment; the draw waits for them."
    ),
    errors.NoPrizes.code: lambda extra, raffle: _("This raffle has no prizes yet."),
    errors.AlreadyDrawn.code: lambda extra, raffle: _("This raffle has already been drawn."),
    errors.NotDrawn.code: lambda extra, raffle: _("The draw of this raffle has not happened yet."),
    errors.InvalidLotteryResults.code: lambda extra, raffle: _(
        "Those lottery results cannot decide every prize."
    ),
    errors.LotteryResultsNotExpected.code: lambda extra, raffle: _(
        "This raffle is drawn at random, not with lottery results."
    ),
    errors.NoSeedCommitted.code: lambda extra, raffle: _(
        "This raffle never opened for sale, so it cannot be drawn at random."
    ),
    errors.LotteryNotNamed.code: lambda extra, raffle: _(
        "A raffle drawn with an official lottery must say which lottery and on what date."
    ),
    errors.DrawSetupLocked.code: lambda extra, raffle: _(
        "How this raffle is drawn cannot change once sales have opened."
    ),
    errors.BoardTooLarge.code: lambda extra, raffle: _(
        "That raffle has too many numbers for a board picture."
    ),
    errors.BoardNotReady.code: lambda extra, raffle: _(
        "That raffle's board is not ready yet. Please try again in a moment."
    ),
}


# --- help and fallbacks ------------------------------------------------------------------------
def help_text() -> str:
    return _(
        "I sell raffle numbers. Choose a raffle, pick your numbers or get random ones, confirm, "
        "then send a photo or PDF of your transfer.\n"
        "Send MENU for the raffles, CANCEL to cancel your order, HELP for this message."
    )


def help_message(*, hint: str) -> TextMessage:
    return say(help_text(), hint)


def hint_for(state: str) -> str:
    """What the bot is waiting for in each state, for HELP and unknown input."""
    hints = {
        State.MENU: _("Send MENU to see the raffles."),
        State.CHOOSE_MODE: _("Tap *Pick my numbers* or *Random numbers*."),
        State.ASK_QTY: _("Type how many numbers you would like, for example 2."),
        State.ASK_PICK_NUMBERS: _("Type the numbers you want, for example 7, 12, 30-32."),
        State.CONFIRM_RESERVATION: _("Tap *Confirm* to keep your numbers or *Cancel*."),
        State.WAIT_PROOF: _("Send a photo or PDF of your transfer."),
        State.DONE: _("Send MENU to see the raffles."),
    }
    return hints.get(state, hints[State.MENU])


def handoff_started() -> TextMessage:
    return say(
        _("Got it: a person from our team will answer you here as soon as possible."),
        _("Your reserved numbers stay as they are. You can still send your payment proof."),
    )


def handoff_ended() -> TextMessage:
    return say(_("The bot is back to help you. Send MENU to see the raffles."))


def didnt_understand() -> str:
    return _("Sorry, I didn't understand that.")


def not_understood(*, state: str) -> TextMessage:
    return say(didnt_understand(), hint_for(state))


def unsupported(*, state: str) -> TextMessage:
    # No "only text" here: in some states the hint rightly asks for a photo or PDF.
    return say(_("Sorry, I can't read that kind of message."), hint_for(state))


def media_not_expected(*, state: str) -> TextMessage:
    return say(_("Thanks, but I wasn't expecting a file right now."), hint_for(state))


def prefixed(message: OutgoingMessage, prefix: str) -> OutgoingMessage:
    """The same reply with a sentence in front, so one message carries both (no bursts)."""
    if not prefix:
        return message
    if isinstance(message, TextMessage):
        return TextMessage(body=join(prefix, message.body, limit=_TEXT_LIMIT))
    if isinstance(message, ButtonsMessage | ListMessage):
        return replace(message, body=join(prefix, message.body))
    if isinstance(message, ImageMessage):
        return replace(message, caption=clip_block(join(prefix, message.caption), 1024))
    raise TypeError(f"cannot prefix a {type(message).__name__}")


# --- operator and system changes ---------------------------------------------------------------
def notify_paid(*, order: Any) -> TextMessage:
    raffle = order.raffle
    return say(
        _("Payment confirmed for order #%(id)s. Your numbers in *%(raffle)s*: %(numbers)s.")
        % {
            "id": order.pk,
            "raffle": raffle.title,
            "numbers": number_list(raffle, numbers_of(order), limit=200),
        },
        _("Good luck!"),
    )


def notify_cancelled(*, order: Any, reason: str) -> TextMessage:
    parts = [_("Your order #%(id)s was cancelled.") % {"id": order.pk}]
    if reason == UNPAID_CANCEL_REASON:
        reason = _("It was still unpaid when the raffle was drawn.")
    if reason:
        parts.append(_("Reason: %(reason)s") % {"reason": reason})
    parts.append(_("Send MENU to see the raffles."))
    return say(*parts)


def notify_proof_rejected(
    *, order: Any, reason: str, now: dt.datetime | None = None
) -> TextMessage:
    parts = [_("We could not accept the payment proof for order #%(id)s.") % {"id": order.pk}]
    if reason:
        parts.append(_("Reason: %(reason)s") % {"reason": reason})
    parts.append(
        _("Please send a new photo or PDF of your transfer before %(deadline)s.")
        % {"deadline": when(order.expires_at, raffle=order.raffle, now=now)}
    )
    return say(*parts)


def notify_expired_in(*, raffle: Any) -> TextMessage:
    """The same words for every buyer of a raffle, so a large sweep is cheap to announce."""
    return say(
        _(
            "Your reservation in *%(raffle)s* expired and its numbers were released. "
            "Send MENU to start again."
        )
        % {"raffle": raffle.title}
    )


def proof_file_problem(problem: str) -> str:
    """Why a file could not be used as a payment proof (`ProofFileProblem` values)."""
    problems = {
        "not_a_proof_file": _("it is not a photo (JPEG, PNG or WebP) or a PDF"),
        "too_large": _("the file is too large"),
        "unavailable": _("we could not download it from WhatsApp"),
    }
    return problems.get(problem, problems["unavailable"])


def notify_proof_file_refused(
    *, order: Any, problem: str, now: dt.datetime | None = None
) -> TextMessage:
    """A file the buyer sent as a payment proof could not be used; the deadline keeps running."""
    parts = [
        _("We could not use the file you sent for order #%(id)s: %(problem)s.")
        % {"id": order.pk, "problem": proof_file_problem(problem)}
    ]
    if order.is_under_review:
        parts.append(_("Your other payment proof is being reviewed."))
    else:
        parts.append(
            _("Please send a photo or PDF of your transfer before %(deadline)s.")
            % {"deadline": when(order.expires_at, raffle=order.raffle, now=now)}
        )
    return say(*parts)


def notify_proof_rejected_closed(*, order: Any, reason: str) -> TextMessage:
    parts = [_("We could not accept the payment proof for order #%(id)s.") % {"id": order.pk}]
    if reason:
        parts.append(_("Reason: %(reason)s") % {"reason": reason})
    parts.append(_("The reservation is no longer active and its numbers were released."))
    parts.append(_("Send MENU to start again."))
    return say(*parts)
