"""The bot's memory: where each buyer is in the conversation, one row per WhatsApp contact."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["Conversation", "ConversationState"]


class ConversationState(models.TextChoices):
    MENU = "MENU", "Menu"
    CHOOSE_MODE = "CHOOSE_MODE", "Choosing pick or random"
    ASK_QTY = "ASK_QTY", "Asked how many"
    ASK_PICK_NUMBERS = "ASK_PICK_NUMBERS", "Asked which numbers"
    CONFIRM_RESERVATION = "CONFIRM_RESERVATION", "Confirming the reservation"
    WAIT_PROOF = "WAIT_PROOF", "Waiting for the payment proof"
    DONE = "DONE", "Done"


class Conversation(models.Model):
    """A buyer's place in the journey and the temporary data it needs (raffle, mode, order)."""

    contact = models.OneToOneField(
        "whatsapp.Contact", on_delete=models.CASCADE, related_name="conversation"
    )
    state = models.CharField(
        max_length=32, choices=ConversationState.choices, default=ConversationState.MENU
    )
    context = models.JSONField(default=dict, blank=True)
    # The order the deadline reminder was last sent for: one reminder per order, never two.
    # A plain id, not a foreign key, so the bot's memory never blocks deleting an order.
    reminder_sent_for = models.PositiveBigIntegerField(null=True, blank=True)
    # Handoff to a person: set when the buyer asks for one (or an operator steps in). The bot
    # stays quiet for this buyer until `handoff_until`, or until an operator hands back.
    handoff_since = models.DateTimeField(_("waiting for a person since"), null=True, blank=True)
    handoff_until = models.DateTimeField(_("bot quiet until"), null=True, blank=True)
    handoff_reason = models.CharField(_("what the buyer asked"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=ConversationState.values),
                name="conversation_state_known",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact} \u2014 {self.state}"
