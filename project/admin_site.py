"""The back office's admin site: Django's, with a landing page that says what needs attention."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _


class BackofficeAdminSite(admin.AdminSite):
    site_header = "Raffle Backoffice"
    site_title = "Raffle Backoffice"
    index_title = _("What needs you now")

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from project.dashboard import build_dashboard

        context = {**(extra_context or {})}
        if request.user.has_perm("raffles.view_order"):
            context["dashboard"] = build_dashboard()
        from raffles.models import Raffle

        # A first visit to an empty back office says how to start instead of showing zeros.
        context["no_raffles_yet"] = not Raffle.objects.exists()
        context["can_add_raffle"] = request.user.has_perm("raffles.add_raffle")
        context["can_view_messages"] = request.user.has_perm("whatsapp.view_outboundmessage")
        response: TemplateResponse = super().index(request, extra_context=context)
        return response


class BackofficeAdminConfig(AdminConfig):
    default_site = "project.admin_site.BackofficeAdminSite"
