"""State changes of the bot's memory that other parts (admin, API) may ask for."""

from __future__ import annotations

from django.db import transaction

from conversation.models import Conversation, ConversationState
from project.prepared import Prepared
from whatsapp.models import Contact

__all__ = ["conversation_for", "reset_conversation"]


# Read on every message inside the webhook's write transaction (project.prepared says why).
_conversation_of = Prepared(
    lambda contact_id: Conversation.objects.filter(contact_id=contact_id), int
)
_locked_conversation_of = Prepared(
    lambda contact_id: Conversation.objects.select_for_update().filter(contact_id=contact_id), int
)


def conversation_for(*, contact: Contact, lock: bool = False) -> Conversation:
    """The contact's conversation row, created in MENU on first contact."""
    conversation = (_locked_conversation_of if lock else _conversation_of).one(contact.pk)
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
