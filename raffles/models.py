"""Raffles, their numbered tickets, the orders that hold them, payment proofs, and the history
of orders and raffles.

Models hold data and the rules the database can enforce (constraints); every workflow lives in
`raffles.services`.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Abs
from django.db.models.lookups import LessThan
from django.utils.translation import gettext_lazy as _

__all__ = [
    "LIVE_STATUSES",
    "PROOF_FILES_DIR",
    "ChangeSource",
    "Draw",
    "DrawMethod",
    "Order",
    "OrderEvent",
    "OrderQuerySet",
    "OrderStatus",
    "OrderTicket",
    "PaymentProof",
    "Prize",
    "PrizeOutcome",
    "ProofStatus",
    "Raffle",
    "RaffleBoard",
    "RaffleChange",
    "RaffleEvent",
    "TicketNumber",
    "TicketStatus",
    "UnsoldPolicy",
]


class TicketStatus(models.TextChoices):
    AVAILABLE = "AVAILABLE", _("Available")
    RESERVED = "RESERVED", _("Reserved")
    SOLD = "SOLD", _("Sold")


class OrderStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Draft")
    PENDING_PAYMENT = "PENDING_PAYMENT", _("Pending payment")
    PAID = "PAID", _("Paid")
    CANCELLED = "CANCELLED", _("Cancelled")
    EXPIRED = "EXPIRED", _("Expired")


# An order in one of these statuses holds its tickets as RESERVED.
LIVE_STATUSES: tuple[str, ...] = (OrderStatus.DRAFT, OrderStatus.PENDING_PAYMENT)


class ChangeSource(models.TextChoices):
    BUYER = "BUYER", _("Buyer")
    OPERATOR = "OPERATOR", _("Operator")
    SYSTEM = "SYSTEM", _("System")


class ProofStatus(models.TextChoices):
    # The buyer sent it; its file is being downloaded and checked. It stops no clock yet.
    RECEIVING = "RECEIVING", _("File on its way")
    PENDING = "PENDING", _("Pending review")
    ACCEPTED = "ACCEPTED", _("Accepted")
    REJECTED = "REJECTED", _("Rejected")


class DrawMethod(models.TextChoices):
    # Commit-reveal: a secret seed committed (SHA-256) when sales open, revealed at the draw.
    RANDOM = "RANDOM", _("Verifiable random draw")
    # The last digits of an official lottery's published results, one result per prize.
    LOTTERY = "LOTTERY", _("Official lottery")


class UnsoldPolicy(models.TextChoices):
    """What happens to a prize whose lottery number was not sold."""

    HOUSE_KEEPS = "HOUSE_KEEPS", _("The house keeps the prize")
    NEXT_RESULT = "NEXT_RESULT", _("The prize waits for another result")


# The money bounds, declared once here on the fields (`raffles.bounds` reads them back for the
# API schemas, the spec, the admin and the guards). Together they keep every order total inside
# `Order.total_amount` (12 integer digits): 9,999,999.99 x 100,000 = 999,999,999,000. The
# columns keep their older, larger sizes so raffles and orders stored before the bounds still
# load; `manage.py check --database default` lists those that cannot.
_TICKET_PRICE_MAX = Decimal("9999999.99")
_TICKETS_PER_ORDER_MAX = 100_000


def default_time_zone() -> str:
    """New raffles run in the site's time zone until the operator picks the buyers' own."""
    return settings.TIME_ZONE


def validate_time_zone(value: str) -> None:
    if not value:
        return
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("Unknown time zone %(zone)s. Use a name such as America/Argentina/Buenos_Aires."),
            params={"zone": value},
        ) from None


class Raffle(models.Model):
    """A raffle selling the numbers `min_number`..`max_number` at one price."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    ticket_price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(_TICKET_PRICE_MAX)],
    )
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("An ISO 4217 code such as USD."))],
        help_text=_("ISO 4217 code, e.g. USD."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=default_time_zone,
        blank=True,  # empty: the site's TIME_ZONE
        validators=[validate_time_zone],
        help_text=_(
            "Where the buyers live, e.g. America/Mexico_City: deadlines are told in its time."
        ),
    )
    min_number = models.PositiveIntegerField(default=0)
    max_number = models.PositiveIntegerField(default=999)
    is_active = models.BooleanField(
        default=False, help_text=_("Buyers can reserve numbers. Needs every number generated.")
    )
    max_tickets_per_order = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(_TICKETS_PER_ORDER_MAX)]
    )
    reservation_ttl_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Minutes a reservation is held; empty uses the site default."),
    )
    payment_instructions = models.TextField(blank=True, help_text=_("Bank details for buyers."))
    draw_at = models.DateTimeField(null=True, blank=True)
    # --- the draw (see raffles.services.sales and raffles.services.draw) ---
    sales_cutoff_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MaxValueValidator(60 * 24 * 30)],
        help_text=_("Sales close this many minutes before the draw."),
    )
    draw_method = models.CharField(
        max_length=16,
        choices=DrawMethod.choices,
        default=DrawMethod.RANDOM,
        help_text=_("Chosen before sales open; it cannot change once the raffle has sold."),
    )
    lottery_name = models.CharField(
        max_length=100, blank=True, help_text=_("e.g. Lotería de Medellín (official lottery).")
    )
    lottery_date = models.DateField(null=True, blank=True)
    unsold_policy = models.CharField(
        max_length=16,
        choices=UnsoldPolicy.choices,
        default=UnsoldPolicy.HOUSE_KEEPS,
        help_text=_("Official lottery: what happens when a result's number was not sold."),
    )
    # SHA-256 (hex) of `draw_seed`, published from the moment sales open.
    seed_commitment = models.CharField(max_length=64, blank=True, editable=False)
    # The secret: 64 hex characters, shown to nobody until the draw reveals it.
    draw_seed = models.CharField(max_length=64, blank=True, editable=False)
    # Set once, when sales close (the `close_sales` job, or the draw itself).
    sales_closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # SHA-256 of the sorted sold numbers when sales closed (see raffles.services.draw).
    closing_sold_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    closing_sold_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    drawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    tickets_ready = models.BooleanField(
        default=False,
        editable=False,
        help_text=_("Every number of the range exists as a ticket."),
    )
    # A large range is generated in the background; the operator's wish to activate the raffle
    # is kept here and honoured when the last number exists.
    activate_when_ready = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("run_draw", "Can run the draw of a raffle")]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_number__gte=F("min_number")), name="raffle_range_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(ticket_price__gte=0), name="raffle_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(max_tickets_per_order__gte=1), name="raffle_max_per_order_positive"
            ),
            models.CheckConstraint(
                condition=Q(reservation_ttl_minutes__isnull=True)
                | Q(reservation_ttl_minutes__gte=1),
                name="raffle_ttl_positive",
            ),
            # A raffle sells nothing until all its numbers exist.
            models.CheckConstraint(
                condition=Q(is_active=False) | Q(tickets_ready=True),
                name="raffle_active_only_when_ready",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def size(self) -> int:
        return self.max_number - self.min_number + 1

    @property
    def ttl(self) -> timedelta:
        minutes = self.reservation_ttl_minutes or settings.RESERVATION_TTL_MINUTES
        return timedelta(minutes=minutes)

    @property
    def number_width(self) -> int:
        """Digits of a number as buyers see it: 00-99 -> 2, 000-999 -> 3."""
        return len(str(self.max_number))

    @property
    def sales_close_at(self):
        """When sales close: `draw_at` minus the cut-off; None without a draw date."""
        if self.draw_at is None:
            return None
        return self.draw_at - timedelta(minutes=self.sales_cutoff_minutes)

    @property
    def is_drawn(self) -> bool:
        return self.drawn_at is not None

    def format_number(self, number: int) -> str:
        """`7` -> `"007"` when the raffle goes up to `999`."""
        return str(number).zfill(len(str(self.max_number)))

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        super().clean()
        if self.min_number is not None and self.max_number is not None:
            if self.max_number < self.min_number:
                raise ValidationError({"max_number": _("Must not be below the first number.")})
            if self.size > settings.RAFFLE_MAX_NUMBERS:
                raise ValidationError(
                    {
                        "max_number": _("A raffle has at most %(limit)s numbers.")
                        % {"limit": f"{settings.RAFFLE_MAX_NUMBERS:,}"}
                    }
                )
        self._clean_largest_order()
        named = (self.lottery_name or "").strip() and self.lottery_date
        if self.draw_method == DrawMethod.LOTTERY and not named:
            raise ValidationError(
                {"lottery_name": _("An official lottery draw needs the lottery's name and date.")}
            )

    def _clean_largest_order(self) -> None:
        """The largest order the raffle allows (its price times its maximum per order) must
        fit an order's total. Within the fields' bounds it always does; this catches a raffle
        stored before them whose other value is changed."""
        from django.core.exceptions import ValidationError

        from raffles.bounds import check_order_total
        from raffles.errors import OrderTotalTooLarge

        if self.ticket_price is None or not self.max_tickets_per_order:
            return
        try:
            check_order_total(unit_price=self.ticket_price, qty=self.max_tickets_per_order)
        except OrderTotalTooLarge as error:
            raise ValidationError(
                _(
                    "At this price an order of %(qty)s numbers would total %(total)s, more than "
                    "one order can hold (%(limit)s). Lower the price, or allow at most "
                    "%(max_qty)s numbers per order."
                ),
                code=OrderTotalTooLarge.code,
                params={
                    "qty": error.qty,
                    "total": error.total,
                    "limit": error.limit,
                    "max_qty": error.max_qty,
                },
            ) from error


class OrderQuerySet(models.QuerySet["Order"]):
    def under_review(self) -> OrderQuerySet:
        """Orders whose payment proof waits for an operator: `Order.is_under_review` in SQL."""
        return self.filter(status=OrderStatus.PENDING_PAYMENT, expires_at__isnull=True)


class Order(models.Model):
    """A buyer's order for some numbers of one raffle, from reservation to payment."""

    raffle = models.ForeignKey(Raffle, on_delete=models.PROTECT, related_name="orders")
    contact = models.ForeignKey(
        "whatsapp.Contact", on_delete=models.PROTECT, related_name="raffle_orders"
    )
    qty = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    # The raffle's currency when the order was made: with `unit_price`, what the buyer owes
    # stays as it was told to them (a raffle with orders cannot change either; see PriceLocked).
    currency = models.CharField(max_length=3, editable=False)
    total_amount = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    # The one deadline; NULL while a received proof waits for review (the clock is stopped).
    expires_at = models.DateTimeField(null=True, blank=True)
    # When the clock stopped, while it is stopped: how long the order has waited for review.
    clock_stopped_at = models.DateTimeField(null=True, blank=True, editable=False)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("confirm_payment", "Can confirm the payment of an order"),
            ("cancel_order", "Can cancel an order"),
        ]
        indexes = [
            # The expiry sweep: live orders by deadline.
            models.Index(fields=["status", "expires_at"], name="order_status_expires"),
            # The API's order lists, newest first, filtered by status (n8n polls PENDING_PAYMENT):
            # a page is a short index walk and the count an index-only scan.
            models.Index(fields=["status", "-id"], name="order_status_newest"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(qty__gte=1), name="order_qty_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_price_not_negative"),
            # SQLite keeps decimals as floating point: compare to the cent, not exactly.
            models.CheckConstraint(
                condition=LessThan(
                    Abs(F("total_amount") - F("unit_price") * F("qty")), Decimal("0.005")
                ),
                name="order_total_is_price_times_qty",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in OrderStatus]), name="order_status_valid"
            ),
            # One live order per buyer and raffle: the database settles two racing requests.
            models.UniqueConstraint(
                fields=["raffle", "contact"],
                condition=Q(status__in=LIVE_STATUSES),
                name="order_one_live_per_buyer_and_raffle",
            ),
        ]

    def __str__(self) -> str:
        return _("Order #%(id)s (%(status)s)") % {
            "id": self.pk,
            "status": self.get_status_display(),
        }

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def is_under_review(self) -> bool:
        """The buyer sent a payment proof in time and it waits for an operator.

        The one rule for "under review", read from the order's own columns so answering a
        buyer costs no query: a proof whose file arrived before the deadline and is a JPEG,
        PNG, WebP or PDF stops the clock (`expires_at` becomes NULL, see
        `raffles.services.proofs`), and nothing else does.
        `OrderQuerySet.under_review` is the same rule in SQL.
        """
        return self.status == OrderStatus.PENDING_PAYMENT and self.expires_at is None

    @property
    def numbers(self) -> list[int]:
        """The numbers this order holds or held, ascending."""
        return list(
            self.order_tickets.order_by("ticket__number").values_list("ticket__number", flat=True)
        )


class TicketNumber(models.Model):
    """One number of a raffle and who, if anyone, holds it."""

    # No index of its own: the unique (raffle, number) index serves every lookup by raffle,
    # and each index costs time when a million numbers are generated.
    raffle = models.ForeignKey(
        Raffle, on_delete=models.CASCADE, related_name="tickets", db_index=False
    )
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=TicketStatus.choices, default=TicketStatus.AVAILABLE
    )
    # The live order reserving it or the PAID order it was sold to. Indexed only where set
    # (partial index below): a million AVAILABLE rows would otherwise fill an index with NULLs.
    reserved_by_order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="held_tickets",
        db_index=False,
    )
    # Mirrors the order's `expires_at` (NULL while a proof waits for review).
    reserved_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        # By the column, not the relation: ordering by "raffle" would join raffles_raffle to
        # follow its default ordering, on every ticket query.
        ordering = ["raffle_id", "number"]
        indexes = [
            # "Available numbers of a raffle", random picks walking from a number, availability.
            models.Index(fields=["raffle", "status", "number"], name="ticket_raffle_status_number"),
            models.Index(
                fields=["reserved_by_order"],
                condition=Q(reserved_by_order__isnull=False),
                name="ticket_held_by_order",
            ),
            # The taken numbers of a raffle, in number order, with what availability needs to
            # tell a lapsed hold: only reserved or sold rows, so it costs nothing to generate.
            models.Index(
                fields=["raffle", "number", "status", "reserved_until"],
                condition=Q(status__in=[TicketStatus.RESERVED, TicketStatus.SOLD]),
                name="ticket_taken_by_number",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["raffle", "number"], name="ticket_unique_number"),
            models.CheckConstraint(
                condition=(
                    Q(
                        status=TicketStatus.AVAILABLE,
                        reserved_by_order__isnull=True,
                        reserved_until__isnull=True,
                    )
                    | Q(status=TicketStatus.RESERVED, reserved_by_order__isnull=False)
                    | Q(
                        status=TicketStatus.SOLD,
                        reserved_by_order__isnull=False,
                        reserved_until__isnull=True,
                    )
                ),
                name="ticket_holder_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.raffle_id}:{self.number} {self.status}"


class OrderTicket(models.Model):
    """Which numbers an order held; kept after the tickets are released."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="order_tickets")
    ticket = models.ForeignKey(TicketNumber, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "ticket"], name="order_ticket_unique"),
        ]
        indexes = [models.Index(fields=["ticket"], name="order_ticket_ticket")]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.ticket_id}"


PROOF_FILES_DIR = "payment_proofs"


def _proof_upload_to(proof: PaymentProof, filename: str) -> str:
    # `filename` is generated by the proofs service (proof-<id>.<ext>), never the buyer's.
    return f"{PROOF_FILES_DIR}/{proof.order_id}/{filename}"


class PaymentProof(models.Model):
    """A photo or PDF of a bank transfer a buyer sent for an order, and its review."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="proofs")
    media_id = models.CharField(_("Meta media id"), max_length=128, blank=True)
    # Default storage is private (outside any public URL); see settings.STORAGES.
    file = models.FileField(upload_to=_proof_upload_to, blank=True, max_length=255)
    mime_type = models.CharField(max_length=100, blank=True)
    # The name the buyer's file had, as data only: stored files get generated names.
    original_filename = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=ProofStatus.choices, default=ProofStatus.PENDING
    )
    late = models.BooleanField(default=False, help_text=_("Arrived after the order expired."))
    review_note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # Meta retries a webhook; the same media must not become a second proof.
            models.UniqueConstraint(
                fields=["order", "media_id"],
                condition=~Q(media_id=""),
                name="proof_unique_media_per_order",
            ),
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="proof_status_received")]

    def __str__(self) -> str:
        return _("Proof #%(id)s for order #%(order)s (%(status)s)") % {
            "id": self.pk,
            "order": self.order_id,
            "status": self.get_status_display(),
        }


class OrderEvent(models.Model):
    """One status change of an order: the order's history."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices)
    at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=ChangeSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '-'} -> {self.to_status}"


class RaffleChange(models.TextChoices):
    CREATED = "CREATED", _("Created")
    UPDATED = "UPDATED", _("Updated")
    RANGE_CHANGED = "RANGE_CHANGED", _("Range changed")
    ACTIVATED = "ACTIVATED", _("Activated")
    DEACTIVATED = "DEACTIVATED", _("Deactivated")
    SEED_COMMITTED = "SEED_COMMITTED", _("Draw seed committed")
    SALES_CLOSED = "SALES_CLOSED", _("Sales closed")
    DRAWN = "DRAWN", _("Drawn")
    DELETED = "DELETED", _("Deleted")


class RaffleEvent(models.Model):
    """One change of a raffle's setup (who, what, before, after): the raffle's history.

    It outlives the raffle: deleting a raffle leaves its events, with the raffle's id and title
    copied here, and the link set to NULL.
    """

    raffle = models.ForeignKey(
        Raffle, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    raffle_pk = models.PositiveBigIntegerField(_("raffle id"), db_index=True)
    raffle_title = models.CharField(max_length=200)
    change = models.CharField(max_length=16, choices=RaffleChange.choices)
    # {"field": {"before": ..., "after": ...}} for every field the change touched (JSON values:
    # prices and dates as strings).
    changes = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=ChangeSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(change__in=[c.value for c in RaffleChange]),
                name="raffle_event_change_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.raffle_title} (#{self.raffle_pk}): {self.get_change_display()}"


class PrizeOutcome(models.TextChoices):
    PENDING = "PENDING", _("Not drawn yet")
    WON = "WON", _("Won")
    # Nobody holds it: an unsold lottery number (house keeps), or fewer sold numbers than prizes.
    HOUSE_KEEPS = "HOUSE_KEEPS", _("The house keeps it")


class Prize(models.Model):
    """One prize of a raffle, in order (1st, 2nd...), and once drawn, who won it."""

    raffle = models.ForeignKey(Raffle, on_delete=models.CASCADE, related_name="prizes")
    position = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    outcome = models.CharField(
        max_length=16,
        choices=PrizeOutcome.choices,
        default=PrizeOutcome.PENDING,
        editable=False,
    )
    winning_number = models.PositiveIntegerField(null=True, blank=True, editable=False)
    winning_order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="prizes_won",
    )
    # Official lottery: the published result that decided this prize, as typed.
    lottery_result = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        ordering = ["raffle_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["raffle", "position"], name="prize_unique_position"),
            models.CheckConstraint(condition=Q(position__gte=1), name="prize_position_positive"),
            models.CheckConstraint(
                condition=Q(outcome__in=[o.value for o in PrizeOutcome]),
                name="prize_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class Draw(models.Model):
    """The draw of a raffle, once: its inputs, its outputs and who ran it (the audit record).

    Everything needed to check it is here: the seed and its commitment, the hash of the sorted
    sold numbers, the lottery results as typed, and the winners (`results`)."""

    raffle = models.OneToOneField(Raffle, on_delete=models.PROTECT, related_name="draw")
    method = models.CharField(max_length=16, choices=DrawMethod.choices)
    drawn_at = models.DateTimeField()
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=10, choices=ChangeSource.choices)
    seed = models.CharField(max_length=64, blank=True)
    seed_commitment = models.CharField(max_length=64, blank=True)
    sold_sha256 = models.CharField(max_length=64)
    sold_count = models.PositiveIntegerField()
    lottery_results = models.JSONField(default=list, blank=True)
    # [{"position", "title", "outcome", "number", "order_id", "lottery_result"}], by position.
    results = models.JSONField(default=list)
    # Orders cancelled because they were still unpaid when the draw ran (asked for explicitly).
    cancelled_order_ids = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Draw of raffle #{self.raffle_id}"


class RaffleBoard(models.Model):
    """The last board picture drawn for a raffle (`raffles.services.board`): a cache, kept in
    the database so every app process and worker shares it and a restart keeps it."""

    raffle = models.OneToOneField(Raffle, on_delete=models.CASCADE, related_name="board")
    # A hash of everything the picture shows but its timestamp: the numbers' states, the
    # header's wording, the language and the drawing code's version.
    version = models.CharField(max_length=64)
    png = models.BinaryField()
    rendered_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Board of raffle #{self.raffle_id} ({self.version[:12]})"
