"""Uploading our own files to Meta (the board picture) once, and reusing the id while it lives.

Meta keeps an uploaded file for WHATSAPP_UPLOADED_MEDIA_DAYS (30). The same bytes are uploaded
once and the id is reused while it still has time to be delivered: a message can wait in the
outbox up to WHATSAPP_RETRY_GIVE_UP_HOURS, so an id closer than that to its end is uploaded
again rather than risk a message Meta refuses. The upload runs outside any transaction (a lock
must not wait on Meta); only the bookkeeping row is written in one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from whatsapp.client import GraphClient, credentials_configured
from whatsapp.models import UploadedMedia

__all__ = ["LOCAL_MEDIA_PREFIX", "media_id_for"]

# Without credentials nothing is sent (delivery only records payloads), so nothing is uploaded
# either: messages carry this made-up id, which shows what would have been sent.
LOCAL_MEDIA_PREFIX = "local-"


def media_id_for(
    *,
    content: bytes,
    mime_type: str,
    filename: str,
    client: GraphClient | None = None,
    now: datetime | None = None,
) -> str:
    """A media id for these bytes that Meta will still accept when the message goes out.

    Raises GraphError when an upload was needed and failed (the caller decides what to say).
    """
    now = now or timezone.now()
    digest = hashlib.sha256(content).hexdigest()
    stored = UploadedMedia.objects.filter(sha256=digest).first()
    if stored is not None and stored.uploaded_at > now - _reusable_for():
        return stored.media_id
    if client is None and not credentials_configured():
        return LOCAL_MEDIA_PREFIX + digest[:16]
    graph = client or GraphClient.from_settings()
    try:
        media_id = graph.upload_media(content, mime_type=mime_type, filename=filename)
    finally:
        if client is None:
            graph.close()
    with transaction.atomic():
        UploadedMedia.objects.update_or_create(
            sha256=digest,
            defaults={
                "media_id": media_id,
                "mime_type": mime_type,
                "size": len(content),
                "uploaded_at": now,
            },
        )
    return media_id


def _reusable_for() -> timedelta:
    """How long after its upload an id is still reused: its life, less the longest a message
    carrying it may wait in the outbox."""
    life = timedelta(days=settings.WHATSAPP_UPLOADED_MEDIA_DAYS)
    return max(life - timedelta(hours=settings.WHATSAPP_RETRY_GIVE_UP_HOURS), timedelta(0))
