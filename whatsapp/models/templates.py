"""Approved message templates: Meta's registry as we last saw it, and which notice uses which.

Meta accepts free-form messages only within 24 hours of the buyer's last message; later, only
an APPROVED template gets through. `MessageTemplate` mirrors what Meta returns for the business
account (synced, and updated by status webhooks); `NoticeTemplate` maps a kind of notice to a
template name per language and says which notice value fills each body parameter.
"""

from __future__ import annotations

import re

from django.db import models

__all__ = [
    "MessageTemplate",
    "NoticeTemplate",
    "TemplateCategory",
    "TemplateStatus",
    "placeholders",
]

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def placeholders(text: str) -> list[str]:
    """The distinct placeholders of a template text in first-seen order ("1", "2" or names)."""
    seen: list[str] = []
    for name in _PLACEHOLDER.findall(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


class TemplateCategory(models.TextChoices):
    UTILITY = "UTILITY", "Utility"
    MARKETING = "MARKETING", "Marketing"
    AUTHENTICATION = "AUTHENTICATION", "Authentication"


class TemplateStatus(models.TextChoices):
    # Only APPROVED templates are sent; the others are kept so the admin can say why not.
    APPROVED = "APPROVED", "Approved"
    PENDING = "PENDING", "Pending review"
    REJECTED = "REJECTED", "Rejected"
    PAUSED = "PAUSED", "Paused (low quality)"
    DISABLED = "DISABLED", "Disabled"
    IN_APPEAL = "IN_APPEAL", "In appeal"
    PENDING_DELETION = "PENDING_DELETION", "Pending deletion"
    DELETED = "DELETED", "Deleted"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED", "Limit exceeded"
    ARCHIVED = "ARCHIVED", "Archived"


class MessageTemplate(models.Model):
    """One template in one language, as Meta last described it."""

    name = models.CharField(max_length=512)
    # Meta's code: "en", "en_US", "es", "es_MX"...
    language = models.CharField(max_length=16)
    category = models.CharField(max_length=32, blank=True)
    # Stored as Meta spells it: an unknown new status is kept, and is simply not APPROVED.
    status = models.CharField(max_length=32, choices=TemplateStatus.choices)
    wa_template_id = models.CharField("Meta template id", max_length=64, blank=True)
    components = models.JSONField(default=list, blank=True)
    # Why Meta rejected or paused it (status webhooks say so).
    status_reason = models.CharField(max_length=255, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["name", "language"], name="template_name_language")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language}, {self.status})"

    @property
    def approved(self) -> bool:
        return self.status == TemplateStatus.APPROVED

    def component(self, kind: str) -> dict | None:
        for component in self.components or []:
            if isinstance(component, dict) and str(component.get("type", "")).upper() == kind:
                return component
        return None

    @property
    def body_text(self) -> str:
        body = self.component("BODY")
        return str(body.get("text", "")) if body else ""

    @property
    def body_placeholders(self) -> list[str]:
        return placeholders(self.body_text)

    @property
    def other_placeholders(self) -> list[str]:
        """Variables outside the body (header text, URL buttons): we fill none of them."""
        found: list[str] = []
        header = self.component("HEADER")
        if header and str(header.get("format", "TEXT")).upper() == "TEXT":
            found += placeholders(str(header.get("text", "")))
        buttons = self.component("BUTTONS")
        for button in (buttons or {}).get("buttons") or []:
            if isinstance(button, dict):
                found += placeholders(str(button.get("url", "")))
        return found


class NoticeTemplate(models.Model):
    """Which template a kind of notice is sent as, outside the 24-hour window.

    A row with a blank language applies to every language without a row of its own; a kind with
    no row at all uses WHATSAPP_NOTICE_TEMPLATES from settings.
    """

    notice_kind = models.CharField(max_length=32)
    language = models.CharField(
        max_length=16, blank=True, help_text="Meta's code (es, en_US...); blank: every language."
    )
    template_name = models.CharField(max_length=512)
    parameters = models.JSONField(
        default=list,
        blank=True,
        help_text='Notice values for {{1}}, {{2}}... in order, e.g. ["buyer_name", "order"].',
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["notice_kind", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["notice_kind", "language"], name="notice_template_kind_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.notice_kind} ({self.language or 'any language'}) -> {self.template_name}"
