"""The operators' back office for raffles: one module per screen. Every action calls a service."""

from raffles.admin import orders, raffles, tickets  # noqa: F401  (registers the model admins)
