"""The inbound handler the transport calls (settings.WHATSAPP_INBOUND_HANDLER).

It loads the buyer's conversation, lets the state machine decide, stores the new state and
queues the one reply, all in the transaction that marks the message processed: if anything
fails, nothing is half-done and the transport keeps the message as FAILED for a retry.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from conversation import handoff
from conversation.answering import answering_contact
from conversation.board import request_board
from conversation.inventory import RafflesInventory
from conversation.machine import Inbound, InboundKind, Machine
from conversation.models import Conversation
from conversation.proof_files import attach_stored_file
from conversation.services import conversation_for
from project.prepared import update
from whatsapp.models import InboundMessage, MessageType
from whatsapp.services.media import request_media_download
from whatsapp.services.outbox import queue_message

__all__ = ["handle_inbound", "inbound_from"]


_TAPS = {MessageType.INTERACTIVE, MessageType.BUTTON}
_MEDIA = {MessageType.IMAGE, MessageType.DOCUMENT}


def inbound_from(message: InboundMessage) -> Inbound:
    """The machine's view of a stored message (Meta's many shapes reduced to four kinds)."""
    kind = message.msg_type
    if kind == MessageType.TEXT and message.text.strip():
        return Inbound(kind=InboundKind.TEXT, text=message.text)
    if kind in _TAPS and message.reply_id:
        return Inbound(
            kind=InboundKind.TAP,
            reply_id=message.reply_id,
            text=message.reply_title or message.text,
        )
    if kind in _MEDIA and message.media_id:
        return Inbound(
            kind=InboundKind.MEDIA, media_id=message.media_id, mime_type=message.media_mime_type
        )
    # Reactions carry the reacted message's id in reply_id: they are never taps.
    return Inbound(kind=InboundKind.OTHER)


def handle_inbound(message: InboundMessage) -> None:
    """Answer one stored inbound message: decide, store the state, queue one reply."""
    contact = message.contact
    # The transport already runs us in a savepoint of our own: no second one.
    with answering_contact(contact.pk), transaction.atomic(savepoint=False):
        conversation = conversation_for(contact=contact, lock=True)
        machine = Machine(inventory=RafflesInventory(), contact=contact, now=timezone.now())
        inbound = inbound_from(message)
        if handoff.screen(conversation=conversation, inbound=inbound, now=machine.now):
            return  # a person answers this buyer; the message waits on the contact's page
        turn = machine.step(state=conversation.state, context=conversation.context, inbound=inbound)
        # The statement save(update_fields=...) would send, built once (project.prepared).
        update(
            Conversation,
            conversation.pk,
            state=turn.state,
            context=turn.context,
            updated_at=timezone.now(),
        )
        if turn.show_board is not None and turn.reply is not None:
            # The picture goes first; the reply follows it once the picture is uploaded.
            request_board(contact=contact, raffle_id=turn.show_board, then=turn.reply)
        elif turn.reply is not None:
            queue_message(contact=contact, message=turn.reply)
        if turn.fetch_media:
            # Only a file that became a payment proof is downloaded (after this commits).
            request_media_download(message=message)
            # A message answered again after its download finished: the file is already here.
            attach_stored_file(message)
