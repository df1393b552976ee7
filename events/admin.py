"""Admin for webhook subscriptions and their delivery log.

Every change goes through `events.services` (the API's rules). A new subscription's secret is
shown on the page right after it is created, and never again.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from events.errors import EventsError
from events.models import DeliveryAttempt, DeliveryStatus, EventDelivery, EventSubscription
from events.services import delivery, recording, subscriptions
from events.types import SUBSCRIBABLE, EventType

LOG_SIZE = 20
LOG_COLUMNS = [(c,) for c in ("#", "Event", "Status", "Tries", "Code", "Answer", "ms", "Next try")]
STATUS_COLOURS = {
    DeliveryStatus.PENDING: "warning",
    DeliveryStatus.SENDING: "info",
    DeliveryStatus.DELIVERED: "success",
    DeliveryStatus.FAILED: "danger",
}


def _badge(colour: str, text: str) -> str:
    return format_html('<span class="badge text-bg-{}">{}</span>', colour, text)


class SubscriptionForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=[(t, EventType(t).label) for t in SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
        help_text="The events this receiver is sent.",
    )

    class Meta:
        model = EventSubscription
        fields = ["url", "description", "event_types", "active"]
        widgets = {"url": forms.TextInput(attrs={"size": 80})}

    def clean_url(self) -> str:
        try:
            return subscriptions.validate_target_url(self.cleaned_data["url"])
        except EventsError as error:
            raise forms.ValidationError(error.message) from error

    def clean_event_types(self) -> list[str]:
        try:
            return subscriptions.validate_event_types(self.cleaned_data["event_types"])
        except EventsError as error:
            raise forms.ValidationError(error.message) from error


@admin.register(EventSubscription)
class EventSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["__str__", "url", "state", "types", "last_success_at", "failing_since"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    readonly_fields = [
        "secret_hint",
        "health",
        "last_success_at",
        "created_at",
        "updated_at",
        "delivery_log",
    ]
    change_form_template = "admin/events/eventsubscription/change_form.html"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        editable = ["url", "description", "event_types", "active"]
        if obj is None:
            return editable
        return [*editable, "secret_hint", "health", "last_success_at", "created_at", "delivery_log"]

    # --- list ----------------------------------------------------------------------------------
    @admin.display(description=_("State"), ordering="active")
    def state(self, sub: EventSubscription) -> str:
        if not sub.active:
            return _badge("danger" if sub.disabled_at else "secondary", "off")
        if sub.failing_since:
            return _badge("warning", "failing")
        return _badge("success", "on")

    @admin.display(description=_("Events"))
    def types(self, sub: EventSubscription) -> str:
        return ", ".join(sub.event_types or [])

    # --- one subscription ----------------------------------------------------------------------
    @admin.display(description=_("Secret"))
    def secret_hint(self, sub: EventSubscription) -> str:
        return f"{sub.secret_hint} (shown once, when created)"

    @admin.display(description=_("Receiver health"))
    def health(self, sub: EventSubscription) -> str:
        if sub.disabled_at:
            return format_html(
                "Disabled {} UTC: {}. Turn it on again once the receiver works.",
                f"{sub.disabled_at:%Y-%m-%d %H:%M}",
                sub.disabled_reason,
            )
        if sub.failing_since:
            return format_html(
                "Failing since {} UTC ({} failures in a row); next try after {}.",
                f"{sub.failing_since:%Y-%m-%d %H:%M}",
                sub.consecutive_failures,
                f"{sub.paused_until:%H:%M:%S}" if sub.paused_until else "now",
            )
        return "Healthy" if sub.last_success_at else "Nothing sent yet"

    @admin.display(description=_("Delivery log"))
    def delivery_log(self, sub: EventSubscription) -> str:
        rows = list(
            EventDelivery.objects.filter(subscription=sub)
            .order_by("-id")
            .prefetch_related("log")[:LOG_SIZE]
        )
        if not rows:
            return "No event sent yet."
        header = format_html("<tr>{}</tr>", format_html_join("", "<th>{}</th>", LOG_COLUMNS))
        body = format_html_join("", "<tr>{}</tr>", ((self._log_row(row),) for row in rows))
        more = (
            reverse("admin:events_eventdelivery_changelist") + f"?subscription__id__exact={sub.pk}"
        )
        return format_html(
            '<table class="table table-sm" id="delivery-log">{}{}</table>'
            '<a href="{}">The whole log</a>',
            header,
            body,
            more,
        )

    def _log_row(self, row: EventDelivery) -> str:
        attempts = list(row.log.all())
        last: DeliveryAttempt | None = attempts[-1] if attempts else None
        link = reverse("admin:events_eventdelivery_change", args=[row.pk])
        return format_html(
            '<td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
            "<td><code>{}</code></td><td>{}</td><td>{}</td>",
            link,
            row.pk,
            row.event_type,
            _badge(STATUS_COLOURS.get(row.status, "secondary"), row.get_status_display()),
            row.attempts,
            row.last_status_code or "—",
            ((last.response_excerpt or last.error)[:120] if last else "") or "—",
            last.duration_ms if last else "—",
            f"{row.next_attempt_at:%Y-%m-%d %H:%M:%S}"
            if row.next_attempt_at and row.status == DeliveryStatus.PENDING
            else "—",
        )

    # --- saving through the services -----------------------------------------------------------
    def save_model(self, request: HttpRequest, obj: EventSubscription, form: Any, change: bool):
        data = form.cleaned_data
        if change:
            subscriptions.update_subscription(
                subscription=obj,
                changes={k: data[k] for k in ("url", "description", "event_types", "active")},
            )
            return
        created = subscriptions.create_subscription(
            url=data["url"],
            event_types=data["event_types"],
            description=data.get("description", ""),
            active=data.get("active", True),
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def response_add(self, request: HttpRequest, obj: EventSubscription, *args: Any) -> Any:
        """The secret, once, instead of the usual redirect (never stored in a message)."""
        response = TemplateResponse(
            request,
            "admin/events/eventsubscription/secret.html",
            {
                **self.admin_site.each_context(request),
                "title": "Copy the signing secret now",
                "subscription": obj,
                "opts": self.model._meta,
                "change_url": reverse("admin:events_eventsubscription_change", args=[obj.pk]),
            },
        )
        return response  # admin views are never cached: the secret stays on this page

    def delete_model(self, request: HttpRequest, obj: EventSubscription) -> None:
        subscriptions.delete_subscription(subscription=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[EventSubscription]) -> None:
        for sub in queryset:
            subscriptions.delete_subscription(subscription=sub)

    # --- buttons -------------------------------------------------------------------------------
    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:subscription_id>/send-test/",
                wrap(require_POST(self.send_test_view)),
                name="events_eventsubscription_send_test",
            ),
            *super().get_urls(),
        ]

    def send_test_view(self, request: HttpRequest, subscription_id: int) -> HttpResponse:
        sub = get_object_or_404(EventSubscription, pk=subscription_id)
        if not self.has_change_permission(request, sub):
            raise PermissionDenied
        try:
            test = recording.record_test(subscription=sub)
        except EventsError as error:
            self.message_user(request, f"Not sent: {error.message}", messages.ERROR)
        else:
            self.message_user(
                request,
                f"Test event {test.message_id} queued; its outcome shows in the log below.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:events_eventsubscription_change", args=[sub.pk]))


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    verbose_name_plural = "Attempts"
    fields = ["number", "at", "status_code", "duration_ms", "response_excerpt", "error",
              "next_attempt_at"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EventDelivery)
class EventDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "subscription",
        "event_type",
        "status_badge",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    ]
    list_display_links = ["id", "event_type"]
    list_filter = ["status", "event_type", "subscription"]
    search_fields = ["message_id"]
    search_help_text = "A webhook-id (msg_...)."
    list_select_related = ["subscription"]
    actions = ["send_again"]
    inlines = [DeliveryAttemptInline]
    readonly_fields = [
        "subscription",
        "message_id",
        "event_type",
        "occurred_at",
        "subject_id",
        "status",
        "attempts",
        "next_attempt_at",
        "retry_until",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "data",
    ]
    fields = readonly_fields
    show_full_result_count = False  # a busy raffle writes many events: no COUNT(*) per page
    change_form_template = "admin/events/eventdelivery/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # events are recorded by what happens to orders and raffles

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_send_again_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("events.change_eventsubscription")

    @admin.display(description=_("Status"), ordering="status")
    def status_badge(self, row: EventDelivery) -> str:
        return _badge(STATUS_COLOURS.get(row.status, "secondary"), row.get_status_display())

    @admin.action(description=_("Send selected events again"), permissions=["send_again"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[EventDelivery]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        try:
            queued = delivery.send_again(delivery_ids=ids)
        except EventsError as error:
            self.message_user(request, f"Not sent again: {error.message}", messages.ERROR)
            return
        skipped = len(ids) - queued
        note = f" ({skipped} skipped: subscription off, or being sent now)" if skipped else ""
        self.message_user(request, f"{queued} event(s) queued again{note}.", messages.SUCCESS)

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:delivery_id>/send-again/",
                wrap(require_POST(self.send_again_view)),
                name="events_eventdelivery_send_again",
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
        extra = {**(extra_context or {}), "can_send_again": self.has_send_again_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def send_again_view(self, request: HttpRequest, delivery_id: int) -> HttpResponse:
        if not self.has_send_again_permission(request):
            raise PermissionDenied
        row = get_object_or_404(EventDelivery, pk=delivery_id)
        try:
            delivery.send_again(delivery_ids=[row.pk])
        except EventsError as error:
            self.message_user(request, f"Not sent again: {error.message}", messages.ERROR)
        else:
            self.message_user(request, f"Event #{row.pk} queued again.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:events_eventdelivery_change", args=[row.pk]))
