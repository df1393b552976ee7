"""Buyers operators name by WhatsApp id (orders taken by phone or in person): found, or added
before their first message to the bot."""

from __future__ import annotations

from django.db import transaction

from project.rows import one_or_none
from whatsapp.models import Contact
from whatsapp.services.contacts import upsert_contact

__all__ = ["buyer_with_wa_id"]


@transaction.atomic
def buyer_with_wa_id(*, wa_id: str, name: str = "") -> Contact:
    """The buyer with this WhatsApp id, added if new. A known buyer keeps the name WhatsApp
    gave us: `name` only names a new one."""
    known = one_or_none(Contact.objects, wa_id=wa_id)
    if known is not None:
        return known
    return upsert_contact(wa_id=wa_id, profile_name=name)
