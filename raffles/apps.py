"""The inventory's Django app."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RafflesConfig(AppConfig):
    """Inventory and orders: raffles, numbered tickets, orders, payment proofs."""

    name = "raffles"
    verbose_name = _("Raffles")

    def ready(self) -> None:
        from raffles import checks  # noqa: F401  (registers the stored-money check)
