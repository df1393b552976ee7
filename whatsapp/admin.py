"""WhatsApp in the back office: who the buyers are, everything said both ways, raw webhooks.

All read-only: messages are facts from Meta or decisions of the bot. `conversation` adds the
bot's state to the Contact admin (this app knows nothing of the bot).
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from project.files import private_file_response
from whatsapp import (
    outbound_admin,  # noqa: F401  (registers the outbox admin)
    templates_admin,  # noqa: F401  (registers the template admins)
)
from whatsapp.models import Contact, InboundMessage, WebhookCapture
from whatsapp.rendering import inbound_text
from whatsapp.selectors import contact_timeline

# The contact page shows this many messages, both ways, per page (newest page first): a buyer
# with hundreds of messages stays one screen, with links to older pages.
TIMELINE_LENGTH = 50
# The page of the conversation asked for by the request being answered (readonly fields are
# called with the object only; a context variable keeps each request's own page).
_timeline_page: ContextVar[int] = ContextVar("timeline_page", default=1)


def pretty_json(value: Any) -> str:
    return format_html(
        '<pre style="max-height:480px;overflow:auto;white-space:pre-wrap">{}</pre>',
        json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True),
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["wa_id", "profile_name", "last_inbound_at", "window"]
    search_fields = ["wa_id", "profile_name", "user_id"]
    list_filter = [("last_inbound_at", admin.DateFieldListFilter)]
    fields = [
        "wa_id",
        "profile_name",
        "user_id",
        "language",
        "last_inbound_at",
        "window",
        "timeline",
    ]
    # Only the language is the operator's to set: it picks a template's language.
    readonly_fields = [name for name in fields if name != "language"]
    inlines: list[Any] = []
    actions: list[Any] = []

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # contacts appear when they write to us

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # orders point at them

    @admin.display(description=_("24-hour window"))
    def window(self, contact: Contact) -> str:
        if contact.window_open:
            return format_html('<span class="badge text-bg-success">{}</span>', _("open"))
        return format_html('<span class="badge text-bg-secondary">{}</span>', _("closed"))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        raw = request.GET.get("messages_page", "1")
        page = int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1
        token = _timeline_page.set(page)
        try:
            return super().change_view(request, object_id, form_url, extra_context)
        finally:
            _timeline_page.reset(token)

    @admin.display(description=_("Conversation"))
    def timeline(self, contact: Contact) -> str:
        """Inbound and outbound interleaved in time order, with delivery statuses; one page."""
        page = _timeline_page.get()
        offset = (page - 1) * TIMELINE_LENGTH
        # One more than a page: whether older messages exist.
        entries = contact_timeline(contact=contact, limit=TIMELINE_LENGTH + 1, offset=offset)
        older = len(entries) > TIMELINE_LENGTH
        entries = entries[:TIMELINE_LENGTH]
        if not entries:
            return _("No messages yet.")
        rows = format_html_join(
            "",
            '<tr class="{}"><td class="text-nowrap">{}</td><td>{}</td>'
            '<td style="white-space:pre-wrap;overflow-wrap:anywhere">{}</td><td>{}</td></tr>',
            (
                (
                    "table-light" if entry.direction == "in" else "table-success",
                    timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
                    _("buyer →") if entry.direction == "in" else _("← bot"),
                    entry.text,
                    entry.status_label,
                )
                for entry in reversed(entries)  # oldest first, as a chat reads
            ),
        )
        links = []
        if older:
            links.append(
                format_html(
                    '<a id="older-messages" href="?messages_page={}">{}</a>',
                    page + 1,
                    _("← Older messages"),
                )
            )
        if page > 1:
            links.append(
                format_html(
                    '<a id="newer-messages" href="?messages_page={}">{}</a>',
                    page - 1,
                    _("Newer messages →"),
                )
            )
        nav = format_html(
            '<div class="d-flex justify-content-between my-1">{}</div>',
            format_html_join("", "<span>{}</span>", ((link,) for link in links)),
        )
        return format_html(
            '{}<div class="table-responsive"><table class="table table-sm" '
            'id="conversation-timeline" style="table-layout:fixed;width:100%">'
            '<colgroup><col style="width:10em"><col style="width:6em"><col>'
            '<col style="width:7em"></colgroup><tbody>{}</tbody></table></div>',
            nav,
            rows,
        )


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "contact", "msg_type", "summary", "state", "media_status"]
    list_filter = ["state", "msg_type", "media_status"]
    search_fields = ["wa_message_id", "contact__wa_id", "contact__profile_name", "text"]
    list_select_related = ["contact"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    exclude = ["raw"]
    readonly_fields = ["media_link", "raw_json"]

    @admin.display(description=_("Message"))
    def summary(self, message: InboundMessage) -> str:
        return inbound_text(message)[:80]

    @admin.display(description=_("Raw JSON"))
    def raw_json(self, message: InboundMessage) -> str:
        return pretty_json(message.raw)

    @admin.display(description=_("File"))
    def media_link(self, message: InboundMessage) -> str:
        if not message.media_file:
            return "—"
        url = reverse("admin:whatsapp_inboundmessage_file", args=[message.pk])
        return format_html('<a href="{}" target="_blank">Open the file</a>', url)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:message_id>/file/",
                self.admin_site.admin_view(self.file_view),
                name="whatsapp_inboundmessage_file",
            ),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, message_id: int) -> FileResponse:
        """Buyers' files may hold bank details: staff with view permission only, never public."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        message = get_object_or_404(InboundMessage, pk=message_id)
        if not message.media_file:
            raise Http404("No stored file.")
        try:
            handle = message.media_file.open("rb")
        except FileNotFoundError as exc:
            raise Http404("The stored file is missing.") from exc
        return private_file_response(
            handle,
            content_type=message.media_mime_type,
            filename=message.media_file.name.rsplit("/", 1)[-1],  # generated, never the buyer's
        )


@admin.register(WebhookCapture)
class WebhookCaptureAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at",
        "outcome",
        "messages",
        "duplicates",
        "statuses",
        "errors",
        "replayed",
    ]
    list_filter = ["outcome", "replayed"]
    search_fields = ["detail"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    exclude = ["body"]
    readonly_fields = ["body_json", "headers_json"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookCapture]:
        # The raw bodies reach 3 MB each; the list needs none of them.
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            return queryset.defer("body")
        return queryset

    @admin.display(description=_("Body"))
    def body_json(self, capture: WebhookCapture) -> str:
        raw = bytes(capture.body)
        try:
            return pretty_json(json.loads(raw))
        except ValueError:
            return format_html("<pre>{}</pre>", raw[:20_000].decode("utf-8", "replace"))

    @admin.display(description=_("Headers"))
    def headers_json(self, capture: WebhookCapture) -> str:
        return pretty_json(capture.headers)
