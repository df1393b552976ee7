"""The bot's Django app: connects the raffles and transport signals to the bot's receivers."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationConfig(AppConfig):
    """The bot: per-contact state machine, parsing, reply wording, buyer notifications."""

    name = "conversation"
    verbose_name = _("Conversation")

    def ready(self) -> None:
        # Signals connect the apps: raffles and the transport announce facts, the bot words them.
        from conversation import notifications, proof_files
        from raffles import signals as raffle_signals
        from whatsapp import signals as whatsapp_signals

        raffle_signals.order_status_changed.connect(
            notifications.on_order_status_changed, dispatch_uid="conversation.status_changed"
        )
        raffle_signals.orders_expired.connect(
            notifications.on_orders_expired, dispatch_uid="conversation.orders_expired"
        )
        raffle_signals.proof_rejected.connect(
            notifications.on_proof_rejected, dispatch_uid="conversation.proof_rejected"
        )
        raffle_signals.raffle_drawn.connect(
            notifications.on_raffle_drawn, dispatch_uid="conversation.raffle_drawn"
        )
        whatsapp_signals.media_stored.connect(
            proof_files.on_media_stored, dispatch_uid="conversation.media_stored"
        )
        whatsapp_signals.media_failed.connect(
            proof_files.on_media_failed, dispatch_uid="conversation.media_failed"
        )
