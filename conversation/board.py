"""Sending a buyer the board picture, then the machine's reply, in that order.

The picture needs a media id, and getting one may mean an upload to Meta: that must not happen
inside the transaction that answers the buyer (SQLite has one writer; it would wait on Meta).
So the handler asks for the board on commit (`request_board`) and a task draws it (cached per
inventory version), uploads it (once per version, reused while its id lives), and queues the
image followed by the reply the machine decided. If the picture cannot be had, the reply goes
alone, saying so: the buyer can always go on choosing numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict
from functools import partial
from typing import Any

from django.db import transaction
from django.tasks import task

from conversation import replies
from raffles.errors import RaffleError
from raffles.models import Raffle
from raffles.services.board import board_for
from whatsapp.client import GraphError
from whatsapp.models import Contact
from whatsapp.outgoing import Button, ButtonsMessage, ImageMessage, OutgoingMessage, TextMessage
from whatsapp.services.outbox import queue_message
from whatsapp.services.uploads import media_id_for

__all__ = ["request_board", "send_board", "send_board_now", "sending_boards_inline"]

logger = logging.getLogger(__name__)


# Set by `sending_boards_inline()`: the `chat` command has no task worker, so it sends the
# picture itself, right after the turn commits.
_inline: ContextVar[bool] = ContextVar("board_inline", default=False)


@contextmanager
def sending_boards_inline() -> Iterator[None]:
    token = _inline.set(True)
    try:
        yield
    finally:
        _inline.reset(token)


def request_board(*, contact: Contact, raffle_id: int, then: OutgoingMessage) -> None:
    """Send the board of `raffle_id`, then `then`, once the caller's transaction commits."""
    transaction.on_commit(
        partial(
            send_board_now if _inline.get() else _enqueue_board,
            contact_id=contact.pk,
            raffle_id=raffle_id,
            then=_stored(then),
        ),
        robust=True,
    )


def _enqueue_board(*, contact_id: int, raffle_id: int, then: dict[str, Any]) -> None:
    send_board.enqueue(contact_id=contact_id, raffle_id=raffle_id, then=then)


@task
def send_board(contact_id: int, raffle_id: int, then: dict[str, Any]) -> str:
    return send_board_now(contact_id=contact_id, raffle_id=raffle_id, then=then)


def send_board_now(*, contact_id: int, raffle_id: int, then: dict[str, Any]) -> str:
    """Draw, upload and queue the picture, then the reply. Returns what was sent."""
    contact = Contact.objects.filter(pk=contact_id).first()
    raffle = Raffle.objects.filter(pk=raffle_id).first()
    if contact is None:
        return "no contact"
    follow_up = _restored(then)
    picture: ImageMessage | None = None
    if raffle is not None:
        try:
            board = board_for(raffle=raffle)
            media_id = media_id_for(
                content=board.png,
                mime_type="image/png",
                filename=f"board-{raffle.pk}.png",
            )
            picture = ImageMessage(media_id=media_id, caption=replies.board_caption(raffle=raffle))
        except (RaffleError, GraphError) as error:
            logger.warning("board of raffle %s not sent: %s", raffle_id, error)
    with transaction.atomic():
        if picture is not None:
            queue_message(contact=contact, message=picture)
        else:
            follow_up = replies.prefixed(follow_up, replies.board_unavailable())
        queue_message(contact=contact, message=follow_up)
    return "board" if picture is not None else "reply only"


# Task arguments are JSON: the reply travels as its fields and comes back as the same value.
_KINDS: dict[str, type] = {ButtonsMessage.kind: ButtonsMessage, TextMessage.kind: TextMessage}


def _stored(message: OutgoingMessage) -> dict[str, Any]:
    if message.kind not in _KINDS:
        raise TypeError(f"a {message.kind} message cannot follow the board")
    return {"kind": message.kind, **asdict(message)}


def _restored(data: dict[str, Any]) -> OutgoingMessage:
    fields = {key: value for key, value in data.items() if key != "kind"}
    if data["kind"] == ButtonsMessage.kind:
        fields["buttons"] = [Button(**button) for button in fields["buttons"]]
    return _KINDS[data["kind"]](**fields)
