"""Admin for the outbox: operators see what was said, its delivery state and Meta's error codes.

Registers on import; `whatsapp/admin.py` imports it (`from whatsapp import outbound_admin`).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from whatsapp.models import OutboundMessage, OutboundStatus, PendingStatus
from whatsapp.rendering import render_payload
from whatsapp.services.delivery import retry_failed

__all__ = ["OutboundMessageAdmin", "PendingStatusAdmin"]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "contact",
        "message_text",
        "kind",
        "notice_kind",
        "status",
        "attempts",
        "last_error_code",
        "created_at",
        "sent_at",
        "next_attempt_at",
    ]
    list_filter = ["status", "kind", "notice_kind", "last_error_code"]
    search_fields = ["contact__wa_id", "contact__profile_name", "wa_message_id"]
    list_select_related = ["contact"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    readonly_fields = [f.name for f in OutboundMessage._meta.fields]
    show_full_result_count = False  # the outbox grows large; COUNT(*) on every page is wasted

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages come from the bot's decisions, through the services

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("Message"))
    def message_text(self, message: OutboundMessage) -> str:
        """What the buyer read (the first line, shortened), so the list says what was said."""
        text, _choices = render_payload(message.payload or {})
        return Truncator(" ".join((text or "—").split())).chars(90)

    @admin.action(
        description=_("Send failed messages (or those needing a template) again"),
        permissions=["change"],
    )
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutboundMessage]) -> None:
        again = [OutboundStatus.FAILED, OutboundStatus.NEEDS_TEMPLATE]
        ids = list(queryset.filter(status__in=again).values_list("pk", flat=True))
        count = retry_failed(outbound_ids=ids)
        self.message_user(
            request, _("%(count)s message(s) queued again.") % {"count": count}, messages.SUCCESS
        )


@admin.register(PendingStatus)
class PendingStatusAdmin(admin.ModelAdmin):
    list_display = ["wa_message_id", "status", "at", "created_at"]
    search_fields = ["wa_message_id"]
    readonly_fields = ["wa_message_id", "status", "at", "errors", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
