"""The limits a buyer runs into, read from settings in one place (see README "Security").

The raffles services enforce them, so the bot, the API and the admin agree; the bot reads them
too, to offer only what the services will accept.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

__all__ = [
    "download_grace",
    "live_orders_per_contact",
    "most_per_order",
    "numbers_held_per_raffle",
    "proofs_per_order",
    "review_waiting_alert",
]


def proofs_per_order() -> int:
    """Payment proofs one order accepts, rejected ones included."""
    return max(1, settings.PAYMENT_PROOFS_PER_ORDER)


def live_orders_per_contact() -> int:
    """Orders in progress (DRAFT or PENDING_PAYMENT, deadline not passed) one buyer may have."""
    return max(1, settings.LIVE_ORDERS_PER_CONTACT)


def numbers_held_per_raffle() -> int:
    """Unpaid numbers one buyer may hold in one raffle."""
    return max(1, settings.NUMBERS_HELD_PER_CONTACT_PER_RAFFLE)


def most_per_order(raffle: Any) -> int:
    """The most numbers one order of `raffle` may take: its own limit, capped by the site's.
    A buyer has at most one live order per raffle, so this is also what they may hold."""
    return min(raffle.max_tickets_per_order, numbers_held_per_raffle())


def download_grace() -> timedelta:
    """How far a deadline may move while a proof that arrived in time is being downloaded."""
    return timedelta(minutes=max(0, settings.PROOF_DOWNLOAD_GRACE_MINUTES))


def review_waiting_alert() -> timedelta:
    """A stopped clock older than this is shown to the operator as needing attention."""
    return timedelta(minutes=max(0, settings.REVIEW_WAITING_ALERT_MINUTES))
