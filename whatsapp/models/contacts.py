"""Who buyers are on WhatsApp, and the messages exchanged with them."""

from django.db import models

__all__ = ["Contact"]


class Contact(models.Model):
    """A WhatsApp user: the buyer's identity. Conversation state lives in `conversation`."""

    wa_id = models.CharField("WhatsApp ID", max_length=64, unique=True)
    profile_name = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.profile_name} ({self.wa_id})" if self.profile_name else self.wa_id
