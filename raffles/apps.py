"""The inventory's Django app."""

from django.apps import AppConfig


class RafflesConfig(AppConfig):
    """Inventory and orders: raffles, numbered tickets, orders, payment proofs."""

    name = "raffles"
    verbose_name = "Raffles"

    def ready(self) -> None:
        from raffles import checks  # noqa: F401  (registers the stored-money check)
