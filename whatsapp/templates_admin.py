"""Admin for message templates: Meta's registry (read-only, "Sync now") and the notice mapping.

Registers on import; `whatsapp/admin.py` imports it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from whatsapp.models import MessageTemplate, NoticeTemplate
from whatsapp.services.templates import TemplateSyncError, sync_message_templates

__all__ = ["MessageTemplateAdmin", "NoticeTemplateAdmin"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "language", "category", "status", "parameters", "synced_at"]
    list_filter = ["status", "category", "language"]
    search_fields = ["name"]
    readonly_fields = [f.name for f in MessageTemplate._meta.fields] + ["body"]
    change_list_template = "admin/whatsapp/messagetemplate/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # templates are made in WhatsApp Manager and synced from Meta

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Body parameters")
    def parameters(self, template: MessageTemplate) -> int:
        return len(template.body_placeholders)

    @admin.display(description="Body")
    def body(self, template: MessageTemplate) -> str:
        return template.body_text

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_sync": self._may_sync(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "sync/",
                self.admin_site.admin_view(require_POST(self.sync_view)),
                name="whatsapp_messagetemplate_sync",
            ),
            *super().get_urls(),
        ]

    def _may_sync(self, request: HttpRequest) -> bool:
        # The rows are Meta's (never edited here), but a sync rewrites them: a change right.
        return request.user.has_perm("whatsapp.change_messagetemplate")

    def sync_view(self, request: HttpRequest) -> HttpResponse:
        """The same sync as `manage.py sync_message_templates`."""
        if not self._may_sync(request):
            raise PermissionDenied
        try:
            result = sync_message_templates()
        except TemplateSyncError as error:
            self.message_user(request, f"Templates not synced: {error}", messages.ERROR)
        else:
            self.message_user(request, f"Synced {result.summary()}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:whatsapp_messagetemplate_changelist"))


class NoticeTemplateForm(forms.ModelForm):
    class Meta:
        model = NoticeTemplate
        fields = ["notice_kind", "language", "template_name", "parameters"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = sorted(settings.WHATSAPP_NOTICE_TEMPLATES)
        self.fields["notice_kind"] = forms.ChoiceField(choices=[(k, k) for k in kinds])

    def clean_parameters(self) -> list[str]:
        value = self.cleaned_data.get("parameters")
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise forms.ValidationError('A list of notice value names, e.g. ["buyer_name"].')
        return value


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(admin.ModelAdmin):
    form = NoticeTemplateForm
    list_display = ["notice_kind", "language", "template_name", "parameters", "updated_at"]
    list_filter = ["notice_kind"]
    search_fields = ["template_name"]
