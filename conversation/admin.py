"""The bot's memory in the back office: where each buyer is, and a way to start them over."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversation import handoff
from conversation.models import Conversation
from conversation.services import reset_conversation
from whatsapp.admin import ContactAdmin
from whatsapp.models import Contact


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["contact", "state", "updated_at"]
    list_filter = ["state"]
    search_fields = ["contact__wa_id", "contact__profile_name"]
    list_select_related = ["contact"]
    readonly_fields = [
        "contact",
        "state",
        "context",
        "reminder_sent_for",
        "created_at",
        "updated_at",
    ]
    actions = ["reset_to_menu"]

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path(
                "contact/<int:contact_id>/reply/",
                view(self.reply_view),
                name="conversation_handoff_reply",
            ),
            path(
                "contact/<int:contact_id>/hand-back/",
                view(self.hand_back_view),
                name="conversation_handoff_back",
            ),
            *super().get_urls(),
        ]

    def _contact_for(self, request: HttpRequest, contact_id: int) -> Contact:
        if request.method != "POST":
            raise PermissionDenied
        if not request.user.has_perm("conversation.change_conversation"):
            raise PermissionDenied
        return get_object_or_404(Contact, pk=contact_id)

    def reply_view(self, request: HttpRequest, contact_id: int) -> HttpResponseRedirect:
        """An operator's own words to the buyer, through the outbox."""
        contact = self._contact_for(request, contact_id)
        try:
            handoff.reply_as_operator(
                contact=contact, text=request.POST.get("operator_reply", ""), by=request.user
            )
        except handoff.HandoffRefused as refusal:
            self.message_user(request, str(refusal), messages.ERROR)
        else:
            self.message_user(request, _("Message queued for %(contact)s.") % {"contact": contact})
        return HttpResponseRedirect(reverse("admin:whatsapp_contact_change", args=[contact.pk]))

    def hand_back_view(self, request: HttpRequest, contact_id: int) -> HttpResponseRedirect:
        contact = self._contact_for(request, contact_id)
        handoff.hand_back(contact=contact)
        self.message_user(request, _("The bot answers %(contact)s again.") % {"contact": contact})
        return HttpResponseRedirect(reverse("admin:whatsapp_contact_change", args=[contact.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a conversation starts with the buyer's first message

    @admin.action(description=_("Reset to MENU (orders are not touched)"), permissions=["change"])
    def reset_to_menu(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        for conversation in queryset.select_related("contact"):
            reset_conversation(contact=conversation.contact)
        self.message_user(
            request,
            _("%(count)s conversation(s) reset to MENU.") % {"count": queryset.count()},
            messages.SUCCESS,
        )


class ConversationInline(admin.StackedInline):
    """For the Contact admin: the buyer's conversation state beside who they are."""

    model = Conversation
    can_delete = False
    extra = 0
    max_num = 1
    readonly_fields = [
        "state",
        "handoff_since",
        "handoff_until",
        "handoff_reason",
        "context",
        "reminder_sent_for",
        "updated_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def may_reset_conversations(modeladmin: admin.ModelAdmin, request: HttpRequest) -> bool:
    """Resetting a buyer's conversation changes it: a view-only user (a Cashier) may not."""
    return request.user.has_perm("conversation.change_conversation")


@admin.action(
    description=_("Reset the bot conversation to MENU (orders are not touched)"),
    permissions=["reset_conversation"],
)
def reset_contacts_conversation(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Contact]
) -> None:
    for contact in queryset:
        reset_conversation(contact=contact)
    modeladmin.message_user(
        request,
        _("%(count)s conversation(s) reset to MENU.") % {"count": queryset.count()},
        messages.SUCCESS,
    )


def contact_page_with_handoff(
    self: admin.ModelAdmin,
    request: HttpRequest,
    object_id: str,
    form_url: str = "",
    extra_context: dict[str, Any] | None = None,
) -> Any:
    """The contact's page, with what the handoff panel needs."""
    conversation = Conversation.objects.filter(contact_id=object_id).first()
    now = timezone.now()
    quiet = conversation is not None and handoff.bot_is_quiet(conversation, now=now)
    context = {
        **(extra_context or {}),
        "can_answer": request.user.has_perm("conversation.change_conversation"),
        "handoff_active": quiet,
        "handoff_until": conversation.handoff_until if quiet else None,
        "handoff_reason": conversation.handoff_reason if quiet else "",
    }
    return _contact_change_view(self, request, object_id, form_url, context)


# The transport's Contact admin leaves these hooks for the bot (it knows nothing of it).
ContactAdmin.inlines = [*ContactAdmin.inlines, ConversationInline]
ContactAdmin.actions = [*ContactAdmin.actions, reset_contacts_conversation]
ContactAdmin.change_form_template = "admin/whatsapp/contact/change_form.html"
_contact_change_view = ContactAdmin.change_view  # the transport's own (the messages' page)
ContactAdmin.change_view = contact_page_with_handoff  # type: ignore[method-assign]
ContactAdmin.has_reset_conversation_permission = may_reset_conversations  # type: ignore[attr-defined]
