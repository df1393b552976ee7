"""Operators can put a buyer back at the menu; nothing else about their orders changes."""

from __future__ import annotations

import pytest
from model_bakery import baker

from conversation.models import Conversation, ConversationState
from conversation.services import reset_conversation
from whatsapp.models import Contact


@pytest.mark.django_db
def test_reset_conversation_goes_back_to_the_menu_with_an_empty_context():
    contact = baker.make(Contact, wa_id="5491100000009")
    Conversation.objects.create(
        contact=contact, state=ConversationState.WAIT_PROOF, context={"order_id": 3}
    )

    conversation = reset_conversation(contact=contact)

    assert conversation.state == ConversationState.MENU
    assert Conversation.objects.get(contact=contact).context == {}


@pytest.mark.django_db
def test_reset_conversation_creates_the_row_for_a_new_contact():
    contact = baker.make(Contact, wa_id="5491100000010")

    assert reset_conversation(contact=contact).state == ConversationState.MENU


@pytest.mark.django_db
def test_the_admin_action_resets_selected_conversations(admin_client):
    contact = baker.make(Contact, wa_id="5491100000011")
    conversation = Conversation.objects.create(contact=contact, state=ConversationState.ASK_QTY)

    response = admin_client.post(
        "/admin/conversation/conversation/",
        {"action": "reset_to_menu", "_selected_action": [conversation.pk]},
    )

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.MENU


@pytest.mark.django_db
def test_the_contact_page_shows_the_bots_state_and_can_reset_it(admin_client):
    contact = baker.make(Contact, wa_id="5491100000012")
    Conversation.objects.create(contact=contact, state=ConversationState.WAIT_PROOF)

    page = admin_client.get(f"/admin/whatsapp/contact/{contact.pk}/change/")
    response = admin_client.post(
        "/admin/whatsapp/contact/",
        {"action": "reset_contacts_conversation", "_selected_action": [contact.pk]},
    )

    assert page.status_code == 200 and b"WAIT_PROOF" in page.content
    assert response.status_code == 302
    assert Conversation.objects.get(contact=contact).state == ConversationState.MENU
