"""Orders and payment proofs: where operators confirm, reject and cancel.

Confirm/cancel/reject go through `raffles.services` (same rules and buyer notifications as the
API); the change page shows the proofs, numbers and history and offers those three buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from project.files import private_file_response
from raffles import services
from raffles.admin.outcomes import Outcomes
from raffles.errors import RaffleError
from raffles.formatting import money
from raffles.models import (
    LIVE_STATUSES,
    Order,
    OrderEvent,
    OrderStatus,
    PaymentProof,
    ProofStatus,
)

STATUS_COLOURS = {
    OrderStatus.DRAFT: "secondary",
    OrderStatus.PENDING_PAYMENT: "warning",
    OrderStatus.PAID: "success",
    OrderStatus.CANCELLED: "dark",
    OrderStatus.EXPIRED: "danger",
}
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


class HasProofFilter(admin.SimpleListFilter):
    title = _("payment proof")
    parameter_name = "has_proof"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("yes", _("Has a proof")),
            ("waiting", _("Proof waiting for review")),
            ("no", _("No proof")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        proofs = PaymentProof.objects.filter(order=OuterRef("pk"))
        if self.value() == "yes":
            return queryset.filter(Exists(proofs))
        if self.value() == "waiting":
            return queryset.filter(Exists(proofs.filter(status=ProofStatus.PENDING)))
        if self.value() == "no":
            return queryset.exclude(Exists(proofs))
        return queryset


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        help_text=_("The buyer is told this reason on WhatsApp."),
    )


class PaymentProofInline(admin.TabularInline):
    model = PaymentProof
    extra = 0
    can_delete = False
    fields = [
        "preview",
        "original_filename",
        "received_at",
        "status",
        "late_mark",
        "review_note",
        "reviewed_by",
        "actions",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("late"))
    def late_mark(self, proof: PaymentProof) -> str:
        """A mark only for a late proof: a red cross on every punctual one read as an alarm."""
        if not proof.late:
            return ""
        return format_html('<span class="badge text-bg-danger">{}</span>', _("late"))

    @admin.display(description=_("Proof"))
    def preview(self, proof: PaymentProof) -> str:
        if not proof.file:
            return format_html('<span class="text-muted">{}</span>', _("file not downloaded yet"))
        url = reverse("admin:raffles_paymentproof_file", args=[proof.pk])
        if proof.mime_type in IMAGE_TYPES:
            return format_html(
                '<a href="{}" target="_blank"><img src="{}" alt="proof #{}" class="proof-preview"'
                ' style="max-height:240px;max-width:320px;border:1px solid #ccc"></a>',
                url,
                url,
                proof.pk,
            )
        return format_html(
            '<a href="{}" target="_blank">{}</a>', url, _("Open %(id)s (PDF)") % {"id": proof.pk}
        )

    @admin.display(description="")
    def actions(self, proof: PaymentProof) -> str:
        if proof.status not in (ProofStatus.PENDING, ProofStatus.RECEIVING):
            return ""
        url = reverse("admin:raffles_order_reject_proof", args=[proof.order_id, proof.pk])
        return format_html(
            '<a class="btn btn-sm btn-outline-danger" href="{}">{}</a>', url, _("Reject…")
        )


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    verbose_name_plural = _("History")
    fields = ["at", "from_status", "to_status", "source", "actor", "note"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status_badge",
        "buyer",
        "raffle",
        "numbers_display",
        "total",
        "deadline",
        "proof_indicator",
        "created_at",
    ]
    list_display_links = ["id", "status_badge"]
    list_filter = ["status", "raffle", HasProofFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["contact__wa_id", "contact__profile_name"]
    search_help_text = "Buyer phone or name, or a ticket number."
    list_select_related = ["contact", "raffle"]
    list_per_page = 50
    date_hierarchy = "created_at"
    actions = ["confirm_selected", "cancel_selected"]
    inlines = [PaymentProofInline, OrderEventInline]
    fields = [
        "raffle",
        "contact",
        "status",
        "numbers_display",
        "qty",
        "unit_price",
        "total_amount",
        "expires_at",
        "confirmed_by",
        "confirmed_at",
        "cancelled_by",
        "cancelled_at",
        "cancel_reason",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    change_form_template = "admin/raffles/order/change_form.html"

    # --- who may do what -----------------------------------------------------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from the bot or the API, never typed in here

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an order changes only through its buttons (confirm, reject, cancel)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # history is kept; cancel instead

    def has_confirm_payment_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("raffles.confirm_payment")

    def has_cancel_order_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("raffles.cancel_order")

    # --- list ----------------------------------------------------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related("order_tickets__ticket")
            .annotate(
                proof_waiting=Exists(
                    PaymentProof.objects.filter(order=OuterRef("pk"), status=ProofStatus.PENDING)
                ),
                proof_any=Exists(PaymentProof.objects.filter(order=OuterRef("pk"))),
            )
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        # ASCII digits only: str.isdigit() is also true for "²" or "٣", which int() refuses or
        # reads as another number; and no more digits than a ticket number can have.
        if term.isascii() and term.isdigit() and len(term) <= 10:
            # A ticket number: the orders that held it (the buyer's phone matched above).
            by_number = queryset.filter(order_tickets__ticket__number=int(term))
            results = queryset.filter(Q(pk__in=results.values("pk")) | Q(pk__in=by_number))
        return results, may_have_duplicates

    @admin.display(description=_("Status"), ordering="status")
    def status_badge(self, order: Order) -> str:
        colour = STATUS_COLOURS.get(order.status, "secondary")
        return format_html(
            '<span class="badge text-bg-{}">{}</span>', colour, order.get_status_display()
        )

    @admin.display(description=_("Buyer"), ordering="contact__profile_name")
    def buyer(self, order: Order) -> str:
        return str(order.contact)

    @admin.display(description=_("Numbers"))
    def numbers_display(self, order: Order) -> str:
        numbers = sorted(ot.ticket.number for ot in order.order_tickets.all())
        shown = ", ".join(order.raffle.format_number(n) for n in numbers[:20])
        return shown + (f" … (+{len(numbers) - 20})" if len(numbers) > 20 else "")

    @admin.display(description=_("Total"), ordering="total_amount")
    def total(self, order: Order) -> str:
        return money(order.total_amount, order.currency)

    @admin.display(description=_("Deadline"), ordering="expires_at")
    def deadline(self, order: Order) -> str:
        if order.status not in LIVE_STATUSES:
            return "—"
        if order.is_under_review:
            return _("stopped (proof in review)")
        if order.expires_at is None or order.expires_at <= timezone.now():
            return _("lapsed")
        return _("in %(minutes)s min") % {"minutes": _minutes(order.expires_at)}

    @admin.display(description=_("Proof"), boolean=False)
    def proof_indicator(self, order: Order) -> str:
        if getattr(order, "proof_waiting", False):
            return format_html('<span class="badge text-bg-warning">{}</span>', _("to review"))
        if getattr(order, "proof_any", False):
            return format_html('<span class="badge text-bg-light">{}</span>', _("reviewed"))
        return "—"

    # --- bulk actions --------------------------------------------------------------------------
    @admin.action(
        description=_("Confirm payment of selected orders"), permissions=["confirm_payment"]
    )
    def confirm_selected(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        outcomes = Outcomes(verb=_("confirmed"))
        for order in queryset.order_by("pk"):
            if order.status == OrderStatus.PAID:
                outcomes.unchanged.append(order.pk)
                continue
            try:
                services.confirm_payment(order=order, by=request.user)
            except RaffleError as error:
                outcomes.refuse(order.pk, error)
            else:
                outcomes.done.append(order.pk)
        self._report(request, outcomes)

    @admin.action(description=_("Cancel selected orders…"), permissions=["cancel_order"])
    def cancel_selected(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> TemplateResponse | None:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/raffles/order/reason.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Cancel orders"),
                    "form": form,
                    "orders": queryset,
                    "action": "cancel_selected",
                    "opts": self.model._meta,
                    "bulk": True,
                },
            )
        outcomes = Outcomes(verb=_("cancelled"))
        for order in queryset.order_by("pk"):
            if order.status == OrderStatus.CANCELLED:
                outcomes.unchanged.append(order.pk)
                continue
            try:
                services.cancel_order(
                    order=order, by=request.user, reason=form.cleaned_data["reason"]
                )
            except RaffleError as error:
                outcomes.refuse(order.pk, error)
            else:
                outcomes.done.append(order.pk)
        self._report(request, outcomes)
        return None

    def _report(self, request: HttpRequest, outcomes: Outcomes) -> None:
        level = messages.WARNING if outcomes.any_refused else messages.SUCCESS
        self.message_user(request, outcomes.summary(), level)

    # --- one order: buttons on the change page -------------------------------------------------
    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:order_id>/confirm/",
                wrap(require_POST(self.confirm_view)),
                name="raffles_order_confirm",
            ),
            path("<int:order_id>/cancel/", wrap(self.cancel_view), name="raffles_order_cancel"),
            path(
                "<int:order_id>/proofs/<int:proof_id>/reject/",
                wrap(self.reject_proof_view),
                name="raffles_order_reject_proof",
            ),
            path(
                "proofs/<int:proof_id>/file/",
                wrap(self.proof_file_view),
                name="raffles_paymentproof_file",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra = {
            **(extra_context or {}),
            "can_confirm": self.has_confirm_payment_permission(request),
            "can_cancel": self.has_cancel_order_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def confirm_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        if not self.has_confirm_payment_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        try:
            services.confirm_payment(order=order, by=request.user)
        except RaffleError as error:
            self.message_user(
                request, _("Not confirmed: %(error)s") % {"error": error.message}, messages.ERROR
            )
        else:
            self.message_user(
                request, _("Order #%(id)s is paid.") % {"id": order.pk}, messages.SUCCESS
            )
        return self._back_to(order)

    def cancel_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        if not self.has_cancel_order_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        return self._with_reason(
            request,
            order,
            title=_("Cancel order #%(id)s") % {"id": order.pk},
            act=lambda reason: services.cancel_order(order=order, by=request.user, reason=reason),
            done=_("Order #%(id)s is cancelled.") % {"id": order.pk},
            refused=_("Not cancelled"),
        )

    def reject_proof_view(self, request: HttpRequest, order_id: int, proof_id: int) -> HttpResponse:
        if not self.has_confirm_payment_permission(request):
            raise PermissionDenied
        proof = get_object_or_404(PaymentProof, pk=proof_id, order_id=order_id)
        return self._with_reason(
            request,
            proof.order,
            title=_("Reject the proof of order #%(id)s") % {"id": order_id},
            act=lambda reason: services.reject_proof(proof=proof, by=request.user, reason=reason),
            done=_("Proof rejected; the buyer of order #%(id)s is asked for another.")
            % {"id": order_id},
            refused=_("Not rejected"),
        )

    def _with_reason(
        self,
        request: HttpRequest,
        order: Order,
        *,
        title: str,
        act: Callable[[str], object],
        done: str,
        refused: str,
    ) -> HttpResponse:
        """Ask for the reason the buyer will read, then act once it is given."""
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                act(form.cleaned_data["reason"])
            except RaffleError as error:
                self.message_user(request, f"{refused}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, done, messages.SUCCESS)
            return self._back_to(order)
        return self._reason_page(request, form, order, title=title)

    def proof_file_view(self, request: HttpRequest, proof_id: int) -> FileResponse:
        """Proofs hold buyers' bank details: only staff who may view orders get the file."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        proof = get_object_or_404(PaymentProof, pk=proof_id)
        if not proof.file:
            raise Http404("This proof's file has not been downloaded yet.")
        try:
            handle = proof.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404("This proof's file is missing from storage.") from exc
        return private_file_response(
            handle, content_type=proof.mime_type, filename=proof.file.name.rsplit("/", 1)[-1]
        )

    def _reason_page(
        self, request: HttpRequest, form: ReasonForm, order: Order, *, title: str
    ) -> TemplateResponse:
        return TemplateResponse(
            request,
            "admin/raffles/order/reason.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "form": form,
                "orders": [order],
                "opts": self.model._meta,
                "original": order,
                "bulk": False,
            },
        )

    def _back_to(self, order: Order) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:raffles_order_change", args=[order.pk]))


def _minutes(when: Any) -> int:
    return max(0, int((when - timezone.now()).total_seconds() // 60))
