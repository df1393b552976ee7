"""The bot's memory in the back office: where each buyer is, and a way to start them over."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a conversation starts with the buyer's first message

    @admin.action(description="Reset to MENU (orders are not touched)", permissions=["change"])
    def reset_to_menu(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        for conversation in queryset.select_related("contact"):
            reset_conversation(contact=conversation.contact)
        self.message_user(
            request, f"{queryset.count()} conversation(s) reset to MENU.", messages.SUCCESS
        )


class ConversationInline(admin.StackedInline):
    """For the Contact admin: the buyer's conversation state beside who they are."""

    model = Conversation
    can_delete = False
    extra = 0
    max_num = 1
    readonly_fields = ["state", "context", "reminder_sent_for", "updated_at"]
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def may_reset_conversations(modeladmin: admin.ModelAdmin, request: HttpRequest) -> bool:
    """Resetting a buyer's conversation changes it: a view-only user (a Cashier) may not."""
    return request.user.has_perm("conversation.change_conversation")


@admin.action(
    description="Reset the bot conversation to MENU (orders are not touched)",
    permissions=["reset_conversation"],
)
def reset_contacts_conversation(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Contact]
) -> None:
    for contact in queryset:
        reset_conversation(contact=contact)
    modeladmin.message_user(
        request, f"{queryset.count()} conversation(s) reset to MENU.", messages.SUCCESS
    )


# The transport's Contact admin leaves these hooks for the bot (it knows nothing of it).
ContactAdmin.inlines = [*ContactAdmin.inlines, ConversationInline]
ContactAdmin.actions = [*ContactAdmin.actions, reset_contacts_conversation]
ContactAdmin.has_reset_conversation_permission = may_reset_conversations  # type: ignore[attr-defined]
