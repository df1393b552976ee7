"""Whose message the bot is answering right now, so notifications can stay quiet about it.

Inventory changes made during a buyer's own turn (an expiry found at confirm time, a cancel)
are answered by the state machine in its one reply; the signal receivers in
`conversation.notifications` ask `answering()` and say nothing to that buyer.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

__all__ = ["answering", "answering_contact"]

_answering: contextvars.ContextVar[int | None] = contextvars.ContextVar("answering", default=None)


def answering() -> int | None:
    """The id of the contact whose message is being handled, if any."""
    return _answering.get()


@contextlib.contextmanager
def answering_contact(contact_id: int) -> Iterator[None]:
    """Mark `contact_id` as the buyer being answered for the duration of the block."""
    token = _answering.set(contact_id)
    try:
        yield
    finally:
        _answering.reset(token)
