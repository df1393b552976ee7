"""Keeping the message-template registry in step with Meta: a full sync, and status webhooks.

`sync_message_templates` reads every page of `GET /{WABA-ID}/message_templates` (following
`paging.next`) before writing anything, then stores them in one transaction; a template Meta no
longer lists is marked DELETED. `apply_template_status_update` applies one
`message_template_status_update` webhook (approved, rejected, paused...).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from whatsapp.client import GraphClient, GraphError
from whatsapp.models import MessageTemplate, TemplateStatus

__all__ = [
    "TemplateSyncError",
    "TemplateSyncResult",
    "apply_template_status_update",
    "sync_message_templates",
]

logger = logging.getLogger(__name__)

FIELDS = "id,name,language,status,category,components,rejected_reason"
PAGE_SIZE = 100
# A business account holds at most a few thousand templates: a paging chain longer than this
# (or one that loops) is a fault, not data.
MAX_PAGES = 100

# Webhook events that are not themselves a status: what they leave the template as.
_EVENT_STATUS = {"REINSTATED": TemplateStatus.APPROVED, "UNPAUSED": TemplateStatus.APPROVED}
# Events that only warn (quality dropped): the status stays, the reason is kept.
_WARNINGS = {"FLAGGED"}


class TemplateSyncError(Exception):
    code = "template_sync_failed"


@dataclass(frozen=True)
class TemplateSyncResult:
    pages: int
    templates: int
    created: int
    updated: int
    deleted: int

    def summary(self) -> str:
        return (
            f"{self.templates} template(s) in {self.pages} page(s): {self.created} new, "
            f"{self.updated} updated, {self.deleted} no longer listed"
        )


def sync_message_templates(*, client: GraphClient | None = None) -> TemplateSyncResult:
    """Read Meta's whole template list, then store it. Raises TemplateSyncError."""
    account = settings.WHATSAPP_BUSINESS_ACCOUNT_ID
    if not account or not settings.WHATSAPP_ACCESS_TOKEN:
        raise TemplateSyncError(
            "WHATSAPP_BUSINESS_ACCOUNT_ID and WHATSAPP_ACCESS_TOKEN must be set to sync templates"
        )
    own_client = client is None
    graph = client or GraphClient.from_settings()
    try:
        items, pages = _read_all(graph, f"{account}/message_templates?fields={FIELDS}")
    finally:
        if own_client:
            graph.close()
    return _store(items, pages)


def _read_all(graph: GraphClient, first: str) -> tuple[list[dict[str, Any]], int]:
    """Every page, network only (no transaction is held while Meta answers)."""
    items: list[dict[str, Any]] = []
    url: str | None = f"{first}&limit={PAGE_SIZE}"
    seen: set[str] = set()
    pages = 0
    while url:
        if pages >= MAX_PAGES or url in seen:
            raise TemplateSyncError(f"template paging did not end after {pages} page(s)")
        seen.add(url)
        try:
            page = graph.message_templates_page(url)
        except GraphError as error:
            raise TemplateSyncError(
                f"Meta refused the template list ({error.code}): {error}"
            ) from error
        pages += 1
        data = page.get("data")
        if not isinstance(data, list):
            raise TemplateSyncError(f"unexpected template list: {str(page)[:300]}")
        items += [item for item in data if isinstance(item, dict)]
        paging = page.get("paging") if isinstance(page.get("paging"), dict) else {}
        next_url = paging.get("next")
        url = next_url if isinstance(next_url, str) and next_url else None
    return items, pages


@transaction.atomic
def _store(items: list[dict[str, Any]], pages: int) -> TemplateSyncResult:
    now = timezone.now()
    existing = {(t.name, t.language): t for t in MessageTemplate.objects.select_for_update()}
    listed: set[tuple[str, str]] = set()
    created = updated = 0
    for item in items:
        name, language = str(item.get("name") or ""), str(item.get("language") or "")
        if not name or not language:
            logger.warning("template without a name or language skipped: %.200s", item)
            continue
        listed.add((name, language))
        fields = {
            "category": str(item.get("category") or "")[:32],
            "status": str(item.get("status") or "")[:32],
            "wa_template_id": str(item.get("id") or "")[:64],
            "components": item.get("components")
            if isinstance(item.get("components"), list)
            else [],
            "status_reason": _reason(item.get("rejected_reason")),
            "synced_at": now,
        }
        template = existing.get((name, language))
        if template is None:
            MessageTemplate.objects.create(name=name, language=language, **fields)
            created += 1
        else:
            for field, value in fields.items():
                setattr(template, field, value)
            template.save()
            updated += 1
    gone = [t.pk for key, t in existing.items() if key not in listed]
    deleted = (
        MessageTemplate.objects.filter(pk__in=gone)
        .exclude(status=TemplateStatus.DELETED)
        .update(status=TemplateStatus.DELETED, synced_at=now, updated_at=now)
    )
    return TemplateSyncResult(
        pages=pages, templates=len(listed), created=created, updated=updated, deleted=deleted
    )


def _reason(value: Any) -> str:
    text = str(value or "").strip()
    return "" if text.upper() == "NONE" else text[:255]


@transaction.atomic
def apply_template_status_update(*, value: Mapping[str, Any]) -> MessageTemplate | None:
    """One `message_template_status_update` change value; None when it names no template.

    A template we have not synced yet is created with what the webhook says (its components
    come with the next sync; until then it is not sent, since its parameters are unknown)."""
    event = str(value.get("event") or "").upper()
    name = str(value.get("message_template_name") or "")
    language = str(value.get("message_template_language") or "")
    if not event or not name or not language:
        return None
    other = value.get("other_info")
    reason = _reason(
        value.get("reason") or (other.get("description") if isinstance(other, dict) else "")
    )
    template, _ = MessageTemplate.objects.select_for_update().get_or_create(
        name=name,
        language=language,
        defaults={"status": TemplateStatus.PENDING, "category": ""},
    )
    if event not in _WARNINGS:
        template.status = _EVENT_STATUS.get(event, event)[:32]
    template.status_reason = reason or ("" if event == TemplateStatus.APPROVED else event)
    if value.get("message_template_id"):
        template.wa_template_id = str(value["message_template_id"])[:64]
    if value.get("message_template_category"):
        template.category = str(value["message_template_category"])[:32]
    template.save()
    logger.info("template %s (%s) is now %s", name, language, template.status)
    return template
