"""State changes of the bot's memory that other parts (admin, API) may ask for."""

from __future__ import annotations

from django.db import transaction

from conversation.models import Conversation, ConversationState
from project.rows import one_or_none
from whatsapp.models import Contact

__all__ = ["conversation_for", "reset_conversation"]


def conversation_for(*, contact: Contact, lock: bool = False) -> Conversation:
    """The contact's conversation row, created in MENU on first contact."""
    manager = Conversation.objects.select_for_update() if lock else Conversation.objects
    conversation = one_or_none(manager, contact=contact)
    if conversation is None:
        conversation, _ = Conversation.objects.get_or_create(contact=contact)
    return conversation


@transaction.atomic
def reset_conversation(*, contact: Contact) -> Conversation:
    """Back to MENU with an empty context (admin action "reset to MENU"). Orders are untouched."""
    conversation = conversation_for(contact=contact, lock=True)
    conversation.state = ConversationState.MENU
    conversation.context = {}
    conversation.save(update_fields=["state", "context", "updated_at"])
    return conversation
