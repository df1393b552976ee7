"""The ids carried by the bot's buttons and list rows, and reading them back.

Every id names its object ("confirm:42" confirms order 42), so a tap on a button from an old
message is judged against that object's current state, never against where the chat is now.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Action", "Tap", "parse_tap", "tap_id"]


class Action(enum.StrEnum):
    RAFFLE = "raffle"  # raffle:<raffle_id>        open a raffle from the menu
    PAGE = "page"  # page:<n>                      the next page of the raffle list
    MINE = "mine"  # mine                          "My tickets"
    MENU = "menu"  # menu                          back to the menu
    MODE = "mode"  # mode:<pick|random>:<raffle_id>
    QTY = "qty"  # qty:<raffle_id>:<n>
    CONFIRM = "confirm"  # confirm:<order_id>
    CANCEL = "cancel"  # cancel:<order_id>
    CONTINUE = "continue"  # continue:<order_id>
    BOARD = "board"  # board:<raffle_id>             the board picture of a raffle


@dataclass(frozen=True)
class Tap:
    """A button or list row the buyer tapped, read back from its id."""

    action: Action
    args: tuple[str, ...] = ()

    def int_arg(self, index: int) -> int | None:
        try:
            return int(self.args[index])
        except (IndexError, ValueError):
            return None


def tap_id(action: Action, *args: object) -> str:
    return ":".join([action.value, *(str(arg) for arg in args)])


def parse_tap(reply_id: str) -> Tap | None:
    """The tap an id stands for, or None for ids this bot never sent."""
    head, *args = (reply_id or "").split(":")
    try:
        action = Action(head)
    except ValueError:
        return None
    return Tap(action=action, args=tuple(args))
