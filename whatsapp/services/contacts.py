"""Finding or creating the Contact a webhook message comes from."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from project.prepared import Prepared, update
from whatsapp.models import Contact

# The lookup of every inbound message, inside the webhook's write transaction (project.prepared).
_locked_by_wa_id = Prepared(
    lambda wa_id: Contact.objects.select_for_update().filter(wa_id=wa_id), str
)


# No savepoint of its own: it runs inside receive_message's transaction (queries per message).
@transaction.atomic(savepoint=False)
def upsert_contact(
    *, wa_id: str, user_id: str = "", profile_name: str = "", seen_at: datetime | None = None
) -> Contact:
    """The contact for an inbound message, updated with what Meta just told us.

    Keyed by `wa_id` (the phone-number id); a user known only by a business-scoped user id is keyed
    by that id, and takes its phone-number id once Meta sends one. The row is locked (PostgreSQL)
    until the caller's transaction ends, which serializes the messages of one buyer.
    """
    if not wa_id and not user_id:
        raise ValueError("a contact needs a wa_id or a user_id")
    key = wa_id or user_id
    contact = _locked_by_wa_id.one(key)
    if contact is None and user_id:
        # Same person seen before by BSUID only (or under another key).
        contact = Contact.objects.select_for_update().filter(user_id=user_id).order_by("pk").first()
    if contact is None:
        try:
            with transaction.atomic():
                return Contact.objects.create(
                    wa_id=key[:160],
                    user_id=user_id[:160],
                    profile_name=profile_name[:256],
                    last_inbound_at=seen_at,
                )
        except IntegrityError:
            # A concurrent first message from the same buyer created it: use theirs.
            contact = Contact.objects.select_for_update().get(wa_id=key)

    changed: list[str] = []
    if wa_id and contact.wa_id != wa_id:
        contact.wa_id = wa_id[:160]
        changed.append("wa_id")
    if user_id and contact.user_id != user_id:
        contact.user_id = user_id[:160]
        changed.append("user_id")
    if profile_name and contact.profile_name != profile_name:
        contact.profile_name = profile_name[:256]
        changed.append("profile_name")
    if seen_at and (contact.last_inbound_at is None or seen_at > contact.last_inbound_at):
        contact.last_inbound_at = seen_at
        changed.append("last_inbound_at")
    if changed:
        # The same statement as save(update_fields=...), built once (project.prepared): this
        # runs on most messages, inside SQLite's single write lock.
        contact.updated_at = timezone.now()
        changes = {name: getattr(contact, name) for name in [*changed, "updated_at"]}
        update(Contact, contact.pk, **changes)
    return contact
