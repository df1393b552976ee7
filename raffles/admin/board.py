"""The board picture on the raffle's admin page: the same PNG buyers and n8n get."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from raffles.errors import RaffleError
from raffles.models import Raffle
from raffles.services.board import board_for, check_board_possible

__all__ = ["BoardAdminMixin"]


class BoardAdminMixin:
    """Adds a read-only `board_picture` field and the view that serves the picture."""

    def board_picture(self, raffle: Raffle) -> str:
        if raffle.pk is None:
            return "—"
        try:
            check_board_possible(raffle)
        except RaffleError as error:
            return format_html('<span class="board-unavailable">{}</span>', error.message)
        url = reverse("admin:raffles_raffle_board_png", args=[raffle.pk])
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">'
            '<img class="raffle-board" src="{}" alt="Board of {}" loading="lazy" '
            'style="max-width: 100%; width: 540px; border: 1px solid #ccd"></a>'
            "<br><small>What buyers see when they tap “See the board”; "
            "redrawn after a number changes.</small>",
            url,
            url,
            raffle.title,
        )

    board_picture.short_description = "Board"  # type: ignore[attr-defined]

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:raffle_id>/board.png",
                self.admin_site.admin_view(self.board_png_view),  # type: ignore[attr-defined]
                name="raffles_raffle_board_png",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def board_png_view(self, request: HttpRequest, raffle_id: int) -> HttpResponse:
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        raffle = get_object_or_404(Raffle, pk=raffle_id)
        try:
            board = board_for(raffle=raffle)
        except RaffleError as error:
            return HttpResponse(error.message, status=error.http_status, content_type="text/plain")
        response = HttpResponse(board.png, content_type="image/png")
        response["Cache-Control"] = "private, no-cache"
        return response
