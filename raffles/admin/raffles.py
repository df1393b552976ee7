"""Raffles: set up, open and close sales, watch them sell, export who bought what, and read
every change made to a raffle (its history, kept after the raffle is deleted)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from project.files import spreadsheet_cell
from raffles import selectors, services
from raffles.admin.board import BoardAdminMixin
from raffles.admin.draw import RUN_DRAW_PERMISSION, PrizeInline, draw_proof, run_draw_view
from raffles.errors import RaffleError
from raffles.formatting import list_separator, local_stamp, money
from raffles.models import OrderStatus, OrderTicket, Raffle, RaffleEvent, TicketStatus

# Fields the operator sets when creating a raffle; `create_raffle` takes exactly these.
CREATE_FIELDS = [
    "title",
    "description",
    "ticket_price",
    "currency",
    "min_number",
    "max_number",
    "is_active",
    "max_tickets_per_order",
    "reservation_ttl_minutes",
    "payment_instructions",
    "draw_at",
    "sales_cutoff_minutes",
    "draw_method",
    "lottery_name",
    "lottery_date",
    "unsold_policy",
    "time_zone",
]


# How the raffle is drawn: left out of a submitted form, each keeps its default.
_DRAW_DEFAULTS = ("sales_cutoff_minutes", "draw_method", "unsold_policy")


class RaffleForm(forms.ModelForm):
    class Meta:
        model = Raffle
        fields = CREATE_FIELDS
        # The field's name is the code's; operators read what it does.
        labels = {"reservation_ttl_minutes": _("Minutes a buyer has to pay")}
        # Django's NumberInput misses the theme's input class: it rendered as a bare box.
        widgets = {
            "ticket_price": forms.NumberInput(attrs={"class": "form-control", "step": "0.01"})
        }
        help_texts = {
            "reservation_ttl_minutes": _(
                "How long reserved numbers are held for a buyer before they are released; "
                "empty uses the site default."
            )
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in _DRAW_DEFAULTS:
            if name in self.fields:
                self.fields[name].required = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in _DRAW_DEFAULTS:
            if name in self.fields and cleaned.get(name) in (None, ""):
                cleaned[name] = Raffle._meta.get_field(name).get_default()
                self.instance.__dict__[name] = cleaned[name]
        return cleaned


class RaffleChangeList(ChangeList):
    """The raffle list, each raffle of the page carrying its ticket counts per status."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        counts = selectors.ticket_counts(raffle.pk for raffle in self.result_list)
        for raffle in self.result_list:
            raffle.ticket_counts = counts.get(raffle.pk, {})


def _count(raffle: Raffle, status: str) -> int:
    return getattr(raffle, "ticket_counts", {}).get(status, 0)


def _changes_table(event: RaffleEvent) -> str:
    if not event.changes:
        return "—"
    return format_html_join(
        mark_safe("<br>"),
        "<b>{}</b>: {} → {}",
        (
            (name, _shown(values.get("before")), _shown(values.get("after")))
            for name, values in event.changes.items()
        ),
    )


def _shown(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


@admin.register(RaffleEvent)
class RaffleEventAdmin(admin.ModelAdmin):
    """Every raffle change, deleted raffles included (their id and title are kept here)."""

    list_display = ["at", "raffle_title", "raffle_pk", "change", "what_changed", "source", "actor"]
    list_filter = ["change", "source"]
    search_fields = ["raffle_title", "=raffle_pk"]
    list_select_related = ["actor"]
    fields = [
        "at",
        "raffle",
        "raffle_pk",
        "raffle_title",
        "change",
        "what_changed",
        "source",
        "actor",
        "note",
    ]
    readonly_fields = fields

    # History rows are written by the raffle services only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Before → after"))
    def what_changed(self, event: RaffleEvent) -> str:
        return _changes_table(event)


@admin.register(Raffle)
class RaffleAdmin(BoardAdminMixin, admin.ModelAdmin):
    form = RaffleForm
    list_display = [
        "title",
        "price",
        "number_range",
        "sold",
        "reserved",
        "available",
        "progress",
        "is_active",
        "draw_at",
        "sales_state",
    ]
    list_filter = ["is_active"]
    search_fields = ["title"]
    actions = ["activate", "deactivate", "generate_missing_tickets", "export_sold_csv", "run_draw"]
    inlines = [PrizeInline]
    readonly_fields = [
        "draw_proof",
        "orders_of_raffle",
        "availability_summary",
        "tickets_ready",
        "board_picture",
        "history",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["title", "description", "is_active", "draw_at", "time_zone"]}),
        (
            _("Price and numbers"),
            {"fields": ["ticket_price", "currency", "min_number", "max_number"]},
        ),
        (
            # Rules for buyers' orders, and a way to the orders themselves (the tab's name
            # promised orders and showed only settings).
            _("Orders"),
            {
                "fields": [
                    "orders_of_raffle",
                    "max_tickets_per_order",
                    "reservation_ttl_minutes",
                    "payment_instructions",
                ]
            },
        ),
        (
            _("Draw"),
            {
                "fields": [
                    "draw_method",
                    "lottery_name",
                    "lottery_date",
                    "unsold_policy",
                    "sales_cutoff_minutes",
                    "draw_proof",
                ]
            },
        ),
        (_("Availability"), {"fields": ["availability_summary", "tickets_ready"]}),
        (_("Board"), {"fields": ["board_picture"]}),
        (_("History"), {"fields": ["history"]}),
        (_("Timestamps"), {"fields": ["created_at", "updated_at"]}),
    ]

    # --- list: counts per status for the page's raffles in one grouped query ------------------
    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RaffleChangeList

    @admin.display(description=_("Sales"))
    def sales_state(self, raffle: Raffle) -> str:
        if raffle.drawn_at:
            return "drawn"
        if selectors.sales_are_closed(raffle):
            return "closed"
        return "open" if raffle.is_active else "—"

    @admin.display(description=_("Price"), ordering="ticket_price")
    def price(self, raffle: Raffle) -> str:
        return money(raffle.ticket_price, raffle.currency)

    @admin.display(description=_("Numbers"))
    def number_range(self, raffle: Raffle) -> str:
        return _span(raffle, raffle.min_number, raffle.max_number)

    @admin.display(description=_("Sold"))
    def sold(self, raffle: Raffle) -> int:
        return _count(raffle, TicketStatus.SOLD)

    @admin.display(description=_("Reserved"))
    def reserved(self, raffle: Raffle) -> int:
        return _count(raffle, TicketStatus.RESERVED)

    @admin.display(description=_("Available"))
    def available(self, raffle: Raffle) -> int:
        return _count(raffle, TicketStatus.AVAILABLE)

    @admin.display(description=_("Sold %"))
    def progress(self, raffle: Raffle) -> str:
        sold = _count(raffle, TicketStatus.SOLD)
        reserved = _count(raffle, TicketStatus.RESERVED)
        sold_pct = 100 * sold / raffle.size
        reserved_pct = 100 * reserved / raffle.size
        return format_html(
            '<div class="progress" style="min-width:120px" title="{} sold, {} reserved">'
            '<div class="progress-bar bg-success" style="width:{}%"></div>'
            '<div class="progress-bar bg-warning" style="width:{}%"></div></div>'
            "<small>{}%</small>",
            sold,
            reserved,
            f"{sold_pct:.2f}",
            f"{reserved_pct:.2f}",
            f"{sold_pct:.1f}",
        )

    @admin.display(description=_("Draw and its proof"))
    def draw_proof(self, raffle: Raffle) -> str:
        return draw_proof(raffle)

    @admin.display(description=_("Availability"))
    def availability_summary(self, raffle: Raffle) -> str:
        if raffle.pk is None:
            return "—"
        report = services.availability(raffle=raffle)
        ranges = report.available_ranges
        shown = ", ".join(_span(raffle, lo, hi) for lo, hi in ranges[:30])
        more = f" … and {len(ranges) - 30} more ranges" if len(ranges) > 30 else ""
        return format_html(
            "<b>{}</b> sold, <b>{}</b> reserved, <b>{}</b> available<br><small>{}{}</small>"
            '<br><a href="{}">Download sold numbers with buyers (CSV)</a>',
            report.counts.get(TicketStatus.SOLD, 0),
            report.counts.get(TicketStatus.RESERVED, 0),
            report.available,
            shown or "none",
            more,
            reverse("admin:raffles_raffle_sold_csv", args=[raffle.pk]),
        )

    @admin.display(description=_("Orders of this raffle"))
    def orders_of_raffle(self, raffle: Raffle) -> str:
        if raffle.pk is None:
            return "—"
        counts = dict(
            raffle.orders.values("status").annotate(n=Count("pk")).values_list("status", "n")
        )
        url = reverse("admin:raffles_order_changelist") + f"?raffle__id__exact={raffle.pk}"
        parts = format_html_join(
            " ",
            '<a class="badge text-bg-light" href="{}&status__exact={}">{}: {}</a>',
            ((url, status, label, counts.get(status, 0)) for status, label in OrderStatus.choices),
        )
        return format_html(
            '<a href="{}">{}</a> {}',
            url,
            _("%(count)s orders") % {"count": sum(counts.values())},
            parts,
        )

    @admin.display(description=_("Changes"))
    def history(self, raffle: Raffle) -> str:
        """Every change of this raffle, oldest first (a read-only table, not a formset)."""
        if raffle.pk is None:
            return "—"
        events = RaffleEvent.objects.filter(raffle=raffle).select_related("actor")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    date_format(localtime(event.at), "SHORT_DATETIME_FORMAT"),
                    event.get_change_display(),
                    _changes_table(event),
                    event.actor or event.get_source_display(),
                    event.note or "",
                )
                for event in events
            ),
        )
        return format_html(
            '<table class="table table-sm raffle-history"><thead><tr><th>{}</th>'
            "<th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("When"),
            _("Change"),
            _("Before → after"),
            _("By"),
            _("Note"),
            rows or format_html('<tr><td colspan="5">{}</td></tr>', _("No changes recorded.")),
        )

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # Prizes are added once the raffle exists (its page, not the creation form).
        return super().get_inline_instances(request, obj) if obj is not None else []

    # --- saving goes through the services -------------------------------------------------------
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly.append("is_active")  # opened and closed with the actions, which check rules
        return readonly

    def save_model(self, request: HttpRequest, obj: Raffle, form: Any, change: bool) -> None:
        if not change:
            created = services.create_raffle(
                **{f: form.cleaned_data[f] for f in CREATE_FIELDS}, by=request.user
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_raffle(
                raffle=Raffle.objects.get(pk=obj.pk), changes=changes, by=request.user
            )
        except RaffleError as error:
            self.message_user(
                request, _("Not saved: %(error)s") % {"error": error.message}, messages.ERROR
            )

    # --- actions -------------------------------------------------------------------------------
    @admin.action(description=_("Activate (open sales)"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Raffle]) -> None:
        self._each(
            request,
            queryset,
            lambda raffle: services.activate_raffle(raffle=raffle, by=request.user),
            _("%(count)s raffle(s) activated."),
        )

    @admin.action(description=_("Deactivate (close sales)"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Raffle]) -> None:
        self._each(
            request,
            queryset,
            lambda raffle: services.deactivate_raffle(raffle=raffle, by=request.user),
            _("%(count)s raffle(s) deactivated."),
        )

    @admin.action(description=_("Generate missing ticket numbers"), permissions=["change"])
    def generate_missing_tickets(self, request: HttpRequest, queryset: QuerySet[Raffle]) -> None:
        self._each(
            request,
            queryset,
            lambda raffle: services.generate_tickets(raffle=raffle),
            _("%(count)s raffle(s) checked for missing numbers."),
        )

    @admin.action(description=_("Run the draw…"), permissions=["run_draw"])
    def run_draw(self, request: HttpRequest, queryset: QuerySet[Raffle]) -> HttpResponse | None:
        """To the confirmation page: one raffle at a time, never a bulk draw."""
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one raffle to draw."), messages.WARNING)
            return None
        return HttpResponseRedirect(
            reverse("admin:raffles_raffle_run_draw", args=[queryset.get().pk])
        )

    def has_run_draw_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RUN_DRAW_PERMISSION)

    @admin.action(description=_("Export sold numbers with buyers (CSV)"), permissions=["view"])
    def export_sold_csv(self, request: HttpRequest, queryset: QuerySet[Raffle]) -> HttpResponse:
        return sold_numbers_csv(list(queryset))

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[Raffle],
        service: Callable[[Raffle], object],
        done_message: str,
    ) -> None:
        done, refused = 0, []
        for raffle in queryset:
            try:
                service(raffle)
            except RaffleError as error:
                refused.append(f"{raffle.title}: {error.message}")
            else:
                done += 1
        self.message_user(request, done_message % {"count": done}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, _("Skipped %(line)s") % {"line": line}, messages.WARNING)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:raffle_id>/draw/",
                self.admin_site.admin_view(self.run_draw_view),
                name="raffles_raffle_run_draw",
            ),
            path(
                "<int:raffle_id>/sold.csv",
                self.admin_site.admin_view(self.sold_csv_view),
                name="raffles_raffle_sold_csv",
            ),
            *super().get_urls(),
        ]

    def run_draw_view(self, request: HttpRequest, raffle_id: int) -> HttpResponse:
        return run_draw_view(self, request, raffle_id)

    def sold_csv_view(self, request: HttpRequest, raffle_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return sold_numbers_csv([get_object_or_404(Raffle, pk=raffle_id)])


def _span(raffle: Raffle, lo: int, hi: int) -> str:
    if lo == hi:
        return raffle.format_number(lo)
    return f"{raffle.format_number(lo)}-{raffle.format_number(hi)}"


class _Echo:
    """A file-like object whose write returns the line, for streaming CSV."""

    def write(self, value: str) -> str:
        return value


def sold_numbers_csv(raffles: list[Raffle]) -> StreamingHttpResponse:
    """Every SOLD number with its buyer and order, streamed (a raffle may sell a million)."""
    writer = csv.writer(_Echo(), delimiter=list_separator())
    rows = (
        OrderTicket.objects.filter(
            order__raffle__in=raffles,
            order__status=OrderStatus.PAID,
            ticket__status=TicketStatus.SOLD,
        )
        .select_related("order__raffle", "order__contact", "ticket")
        .order_by("order__raffle_id", "ticket__number")
        .iterator(chunk_size=2000)
    )

    def lines():
        # A byte order mark: without it Excel reads UTF-8 as ANSI and "María" as "MarÃ­a".
        yield "\ufeff"
        yield writer.writerow(
            ["raffle", "number", "order", "buyer_wa_id", "buyer_name", "paid_at", "amount"]
        )
        for row in rows:
            order = row.order
            # Every cell neutralised: a buyer names themselves on WhatsApp ("=HYPERLINK(...)").
            yield writer.writerow(
                spreadsheet_cell(cell)
                for cell in (
                    order.raffle.title,
                    order.raffle.format_number(row.ticket.number),
                    order.pk,
                    order.contact.wa_id,
                    order.contact.profile_name,
                    local_stamp(order.confirmed_at, raffle=order.raffle),
                    money(order.unit_price, order.raffle.currency),
                )
            )

    name = "sold-numbers.csv" if len(raffles) != 1 else f"raffle-{raffles[0].pk}-sold.csv"
    response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
