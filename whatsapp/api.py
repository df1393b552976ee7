"""Contacts router of the internal API: who the buyers are and what was said lately.

Read-only: contacts are created by the webhook (or by an order created for a buyer).
"""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from project.api_types import ObjectId, Timestamp
from project.auth import require_perm
from project.errors import error_responses
from project.pagination import PageOut, PageParams, forbid_unknown_query, paginate
from whatsapp.models import Contact
from whatsapp.selectors import contact_timeline

contacts_router = Router(tags=["contacts"])

LATEST_MESSAGES = 20


class ContactOut(Schema):
    id: int
    wa_id: str = Field(description="WhatsApp id (the phone number in international format).")
    name: str = Field(description="The WhatsApp profile name the buyer chose.")
    last_inbound_at: Timestamp | None = Field(description="When the buyer last wrote to us.")
    created_at: Timestamp
    updated_at: Timestamp

    @staticmethod
    def resolve_name(obj: Contact) -> str:
        return obj.profile_name


class ContactPage(PageOut):
    results: list[ContactOut]


class MessageOut(Schema):
    direction: Literal["in", "out"]
    id: int
    type: str = Field(description="Meta's message type (`text`, `image`, `interactive`...).")
    text: str = Field(
        description="What was said, as the admin shows it: the buyer's text, `[tapped] <title>` "
        "or `[<type>] <caption>`; the bot's text, or its body followed by the numbered buttons "
        "or list rows."
    )
    status: str = Field(description="Inbound: processing state. Outbound: delivery status.")
    at: Timestamp


class ContactDetailOut(ContactOut):
    latest_messages: list[MessageOut] = Field(
        description=f"The last {LATEST_MESSAGES} messages in either direction, newest first."
    )


class ContactFilters(Schema):
    search: str | None = Field(
        None, max_length=200, description="Part of the WhatsApp id or of the profile name."
    )


def _contacts(filters: ContactFilters) -> QuerySet[Contact]:
    contacts = Contact.objects.order_by("-id")
    if filters.search:
        term = filters.search.replace("\x00", "")
        contacts = contacts.filter(Q(wa_id__icontains=term) | Q(profile_name__icontains=term))
    return contacts


@contacts_router.get(
    "",
    response={200: ContactPage, **error_responses(401, 403, 422)},
    operation_id="contacts_list",
    summary="List buyers",
    description="Contacts (WhatsApp buyers), newest first; `search` matches id or name.",
)
def list_contacts(
    request: HttpRequest, filters: Query[ContactFilters], page: Query[PageParams]
) -> dict[str, Any]:
    require_perm(request, "whatsapp.view_contact")
    forbid_unknown_query(request, filters, page)
    return paginate(request, _contacts(filters), page)


@contacts_router.get(
    "/{contact_id}",
    response={200: ContactDetailOut, **error_responses(401, 403, 404, 422)},
    operation_id="contacts_get",
    summary="Get a buyer",
    description=f"One contact with its last {LATEST_MESSAGES} messages in either direction.",
)
def get_contact(request: HttpRequest, contact_id: ObjectId) -> Contact:
    require_perm(request, "whatsapp.view_contact")
    forbid_unknown_query(request)
    contact = get_object_or_404(Contact, pk=contact_id)
    contact.latest_messages = contact_timeline(  # type: ignore[attr-defined]
        contact=contact, limit=LATEST_MESSAGES
    )
    return contact
