"""Tickets: look a number up, see who holds it. Read-only: tickets change only through services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from raffles.models import TicketNumber


@admin.register(TicketNumber)
class TicketNumberAdmin(admin.ModelAdmin):
    list_display = ["display_number", "raffle", "status", "reserved_by_order", "reserved_until"]
    list_filter = ["raffle", "status"]
    search_fields = ["number"]
    search_help_text = "A ticket number, e.g. 7 or 007."
    list_select_related = ["raffle", "reserved_by_order"]
    list_per_page = 100
    # A raffle holds up to a million tickets: skip the unfiltered COUNT(*) on every page.
    show_full_result_count = False
    readonly_fields = ["raffle", "number", "status", "reserved_by_order", "reserved_until"]
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[TicketNumber], search_term: str
    ) -> tuple[QuerySet[TicketNumber], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if not term.isdigit():
            return queryset.none(), False
        return queryset.filter(number=int(term)), False

    @admin.display(description=_("Number"), ordering="number")
    def display_number(self, ticket: TicketNumber) -> str:
        return ticket.raffle.format_number(ticket.number)
