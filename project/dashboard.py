"""What needs an operator now: the figures and lists behind the admin's landing page.

Read-only queries across apps; `project` is the one place allowed to look at all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.timesince import timesince

from conversation.handoff import waiting_for_a_person
from conversation.models import Conversation
from events.models import EventSubscription
from raffles.limits import review_waiting_alert
from raffles.models import LIVE_STATUSES, Order, OrderStatus, PaymentProof, ProofStatus
from whatsapp.models import OutboundMessage, OutboundStatus

# How far ahead "about to expire" looks, and how many rows each list shows.
EXPIRING_WITHIN = timedelta(minutes=10)
LIST_SIZE = 10


@dataclass(frozen=True)
class RaffleSales:
    raffle_id: int
    title: str
    currency: str
    orders: int
    tickets: int
    revenue: Decimal


@dataclass(frozen=True)
class Dashboard:
    proofs_waiting: list[PaymentProof]
    proofs_waiting_count: int
    # Orders whose clock has been stopped (under review) longer than REVIEW_WAITING_ALERT_MINUTES:
    # their numbers are held with no deadline until an operator decides.
    stalled_reviews: list[Order]
    stalled_reviews_count: int
    stalled_after: timedelta
    expiring: list[Order]
    expiring_count: int
    sales_today: list[RaffleSales]
    failed_messages: list[OutboundMessage]
    failed_messages_count: int
    # Notices the 24-hour window closed on, with no approved template to carry them.
    needs_template: list[OutboundMessage]
    needs_template_count: int
    # Webhook receivers turned off by the system (410, or failing too long), and failing ones.
    receivers_disabled: list[EventSubscription]
    receivers_failing: list[EventSubscription]
    now: datetime
    # Buyers who asked for a person; the bot is quiet for them.
    waiting_for_a_person: list[Conversation] = field(default_factory=list)
    waiting_for_a_person_count: int = 0

    @property
    def stalled_after_words(self) -> str:
        """REVIEW_WAITING_ALERT_MINUTES as words ("2 hours")."""
        return timesince(self.now - self.stalled_after, self.now)

    @property
    def receivers_needing_attention(self) -> int:
        return len(self.receivers_disabled) + len(self.receivers_failing)


def build_dashboard(*, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    waiting = (
        PaymentProof.objects.filter(status=ProofStatus.PENDING, order__status__in=LIVE_STATUSES)
        .select_related("order", "order__contact", "order__raffle")
        .order_by("received_at")
    )
    expiring = (
        Order.objects.filter(
            status__in=LIVE_STATUSES, expires_at__gt=now, expires_at__lte=now + EXPIRING_WITHIN
        )
        .select_related("contact", "raffle")
        .order_by("expires_at")
    )
    failed = OutboundMessage.objects.filter(status=OutboundStatus.FAILED).select_related("contact")
    needs_template = OutboundMessage.objects.filter(
        status=OutboundStatus.NEEDS_TEMPLATE
    ).select_related("contact")
    stalled_after = review_waiting_alert()
    stalled = (
        Order.objects.under_review()
        .filter(clock_stopped_at__lte=now - stalled_after)
        .select_related("contact", "raffle")
        .order_by("clock_stopped_at", "pk")
    )
    handoffs = waiting_for_a_person(now=now)
    return Dashboard(
        proofs_waiting=list(waiting[:LIST_SIZE]),
        proofs_waiting_count=waiting.count(),
        stalled_reviews=list(stalled[:LIST_SIZE]),
        stalled_reviews_count=stalled.count(),
        stalled_after=stalled_after,
        waiting_for_a_person=list(handoffs[:LIST_SIZE]),
        waiting_for_a_person_count=handoffs.count(),
        expiring=list(expiring[:LIST_SIZE]),
        expiring_count=expiring.count(),
        sales_today=sales_since(start_of_today(now)),
        failed_messages=list(failed.order_by("-updated_at")[:LIST_SIZE]),
        failed_messages_count=failed.count(),
        needs_template=list(needs_template.order_by("-updated_at")[:LIST_SIZE]),
        needs_template_count=needs_template.count(),
        receivers_disabled=list(
            EventSubscription.objects.filter(active=False, disabled_at__isnull=False).order_by(
                "-disabled_at"
            )[:LIST_SIZE]
        ),
        receivers_failing=list(
            EventSubscription.objects.filter(active=True, failing_since__isnull=False).order_by(
                "failing_since"
            )[:LIST_SIZE]
        ),
        now=now,
    )


def start_of_today(now: datetime) -> datetime:
    """Midnight in the operators' time zone (TIME_ZONE), as an aware datetime."""
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def sales_since(since: datetime) -> list[RaffleSales]:
    rows = (
        Order.objects.filter(status=OrderStatus.PAID, confirmed_at__gte=since)
        .values("raffle_id", "raffle__title", "raffle__currency")
        .annotate(orders=Count("id"), tickets=Sum("qty"), revenue=Sum("total_amount"))
        .order_by("-revenue", "raffle_id")
    )
    return [
        RaffleSales(
            raffle_id=row["raffle_id"],
            title=row["raffle__title"],
            currency=row["raffle__currency"],
            orders=row["orders"],
            tickets=row["tickets"] or 0,
            revenue=Decimal(row["revenue"] or 0).quantize(Decimal("0.01")),
        )
        for row in rows
    ]
