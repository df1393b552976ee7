"""Who buyers are on WhatsApp: phone-number id, business-scoped user id, last message time."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

__all__ = ["CUSTOMER_SERVICE_WINDOW", "Contact"]

# Meta lets a business send free-form messages only within 24 hours of the buyer's last message.
CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)


class Contact(models.Model):
    """A WhatsApp user: the buyer's identity. Conversation state lives in `conversation`.

    `wa_id` is the phone-number id Meta has always sent. A user who adopted a username may reach
    us with only a business-scoped user id (BSUID); such a contact is keyed by that BSUID (it is
    stored in both `wa_id` and `user_id`) until Meta tells us the phone number.
    """

    wa_id = models.CharField("WhatsApp ID", max_length=160, unique=True)
    profile_name = models.CharField(max_length=256, blank=True)
    user_id = models.CharField("business-scoped user ID", max_length=160, blank=True, db_index=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # Picks a template's language outside the 24-hour window; blank: the bot's LANGUAGE_CODE.
    language = models.CharField(
        max_length=16, blank=True, help_text="Meta's code (es, en_US...); blank: LANGUAGE_CODE."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.profile_name} ({self.wa_id})" if self.profile_name else self.wa_id

    @property
    def window_open(self) -> bool:
        """Whether a free-form reply is still allowed (the buyer wrote within 24 hours)."""
        if self.last_inbound_at is None:
            return False
        return timezone.now() - self.last_inbound_at < CUSTOMER_SERVICE_WINDOW
