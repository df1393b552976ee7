"""Webhook subscriptions: creating them (with a secret shown once), changing, turning them on
and off, and deleting them. Admin and API both come through here."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.errors import InvalidTargetUrl, TooManySubscriptions, UnknownEventTypes
from events.models import DeliveryStatus, EventDelivery, EventSubscription
from events.types import SUBSCRIBABLE

__all__ = [
    "create_subscription",
    "delete_subscription",
    "disable_subscription",
    "new_secret",
    "update_subscription",
    "validate_event_types",
    "validate_target_url",
]

URL_MAX_LENGTH = 2000
SECRET_BYTES = 32  # Standard Webhooks asks for 24 to 64


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def validate_target_url(url: str) -> str:
    """The URL, stripped, if events may be POSTed to it; else `InvalidTargetUrl`.

    Operators choose the receiver, so this is a sanity check, not an SSRF firewall: http(s)
    only, a host, no credentials (they would show in logs and the admin). Redirects are never
    followed when sending, so the request goes where the subscription says and nowhere else.
    """
    url = (url or "").strip()
    if not url:
        raise InvalidTargetUrl(url=url, reason="it is empty")
    if len(url) > URL_MAX_LENGTH:
        raise InvalidTargetUrl(url=url, reason=f"longer than {URL_MAX_LENGTH:,} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise InvalidTargetUrl(url=url, reason="it contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        raise InvalidTargetUrl(url=url, reason="it is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidTargetUrl(url=url, reason="only http:// and https:// URLs are allowed")
    if not parts.hostname:
        raise InvalidTargetUrl(url=url, reason="it names no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidTargetUrl(
            url=url, reason="credentials in the URL are not allowed; receivers check the signature"
        )
    if port == 0:
        raise InvalidTargetUrl(url=url, reason="port 0 is not a port")
    try:
        httpx.URL(url)  # what the sender will parse (host names must be valid IDNA)
    except (httpx.InvalidURL, UnicodeError, ValueError):
        raise InvalidTargetUrl(url=url, reason="its host name is not valid") from None
    return url


def validate_event_types(event_types: Iterable[str]) -> list[str]:
    """The event types, each once, in catalogue order; `UnknownEventTypes` names any unknown
    one (and refuses an empty list: a subscription that wants nothing is a mistake)."""
    wanted = list(event_types)
    unknown = sorted({t for t in wanted if t not in SUBSCRIBABLE}, key=str)
    if unknown or not wanted:
        raise UnknownEventTypes(event_types=[str(t) for t in unknown], known=list(SUBSCRIBABLE))
    return [t for t in SUBSCRIBABLE if t in set(wanted)]


@transaction.atomic
def create_subscription(
    *, url: str, event_types: Iterable[str], description: str = "", active: bool = True
) -> EventSubscription:
    """A new subscription with a fresh secret. The returned instance carries the secret: show
    it to the operator now, it is never shown again."""
    url = validate_target_url(url)
    types = validate_event_types(event_types)
    limit = settings.EVENTS_MAX_SUBSCRIPTIONS
    # Every subscription multiplies the rows each buyer action writes: bounded.
    if EventSubscription.objects.count() >= limit:
        raise TooManySubscriptions(limit=limit)
    return EventSubscription.objects.create(
        url=url,
        secret=new_secret(),
        event_types=types,
        description=description.strip(),
        active=active,
    )


@transaction.atomic
def update_subscription(
    *, subscription: EventSubscription, changes: Mapping[str, Any]
) -> EventSubscription:
    """Change `url`, `event_types`, `description` and/or `active`. Turning a subscription on
    clears what disabled it and its failure count; turning it off fails its pending events
    (an operator can send them again)."""
    locked = EventSubscription.objects.select_for_update().get(pk=subscription.pk)
    if "url" in changes:
        locked.url = validate_target_url(changes["url"])
    if "event_types" in changes:
        locked.event_types = validate_event_types(changes["event_types"])
    if "description" in changes:
        locked.description = (changes["description"] or "").strip()
    now = timezone.now()
    if "active" in changes and bool(changes["active"]) != locked.active:
        locked.active = bool(changes["active"])
        if locked.active:
            _clear_health(locked)
        else:
            _fail_pending(locked.pk, reason="turned off by an operator", now=now)
    locked.save()
    _copy(subscription, locked)
    return locked


@transaction.atomic
def delete_subscription(*, subscription: EventSubscription) -> None:
    """Delete it with its delivery log; nothing more is sent to it."""
    EventSubscription.objects.filter(pk=subscription.pk).delete()


@transaction.atomic
def disable_subscription(*, subscription_id: int, reason: str, now: datetime) -> bool:
    """The system turns a subscription off (a 410 answer, or failing for too long); its
    pending events fail. False if it was already off. Shown on the admin's landing page."""
    disabled = EventSubscription.objects.filter(pk=subscription_id, active=True).update(
        active=False,
        disabled_at=now,
        disabled_reason=reason[:300],
        paused_until=None,
        updated_at=now,
    )
    if disabled:
        _fail_pending(subscription_id, reason=reason, now=now)
    return bool(disabled)


def _clear_health(subscription: EventSubscription) -> None:
    subscription.disabled_at = None
    subscription.disabled_reason = ""
    subscription.failing_since = None
    subscription.paused_until = None
    subscription.consecutive_failures = 0


def _fail_pending(subscription_id: int, *, reason: str, now: datetime) -> int:
    # Rows being sent right now finish on their own (their outcome is fenced by status).
    return EventDelivery.objects.filter(
        subscription_id=subscription_id, status=DeliveryStatus.PENDING
    ).update(
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
        last_error=f"not sent: the subscription was disabled ({reason})"[:1000],
        updated_at=now,
    )


def _copy(target: EventSubscription, fresh: EventSubscription) -> None:
    if target is not fresh:
        for field in EventSubscription._meta.concrete_fields:
            setattr(target, field.attname, getattr(fresh, field.attname))
