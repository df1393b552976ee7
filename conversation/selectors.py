"""Read-only queries of the bot's own: which buyers are due a deadline reminder."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, F, OuterRef, QuerySet

from raffles.models import Order, PaymentProof, ProofStatus
from raffles.selectors import pending_orders_due

__all__ = ["orders_to_remind"]


def orders_to_remind(*, now: dt.datetime, lead: dt.timedelta) -> QuerySet[Order]:
    """PENDING_PAYMENT orders due within `lead` whose buyer was not reminded of them yet and
    sent no proof that is still on its way.

    An order whose proof waits for review has no deadline, so it is never among them.
    """
    arriving = PaymentProof.objects.filter(order=OuterRef("pk"), status=ProofStatus.RECEIVING)
    return (
        pending_orders_due(after=now, until=now + lead)
        .exclude(contact__conversation__reminder_sent_for=F("pk"))
        .exclude(Exists(arriving))
    )
