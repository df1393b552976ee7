from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    """Events to HTTP receivers (n8n): subscriptions, signed deliveries, their log."""

    name = "events"
    verbose_name = _("Events to n8n")

    def ready(self) -> None:
        # Raffles announce facts; this app records them for the receivers that asked.
        from events import receivers
        from raffles import signals

        signals.order_status_changed.connect(
            receivers.on_order_status_changed, dispatch_uid="events.order_status_changed"
        )
        signals.orders_expired.connect(
            receivers.on_orders_expired, dispatch_uid="events.orders_expired"
        )
        signals.proof_received.connect(
            receivers.on_proof_received, dispatch_uid="events.proof_received"
        )
        signals.proof_rejected.connect(
            receivers.on_proof_rejected, dispatch_uid="events.proof_rejected"
        )
        signals.raffle_sold_out.connect(
            receivers.on_raffle_sold_out, dispatch_uid="events.raffle_sold_out"
        )
        signals.raffle_drawn.connect(receivers.on_raffle_drawn, dispatch_uid="events.raffle_drawn")
