"""Downloading media buyers send (payment proofs) from the Graph API, verified and stored privately.

GET /{media-id} gives a short-lived URL, its size (a string) and sha256 (hex); the webhook gave
the sha256 base64-encoded. Both digests are compared as bytes. Only what a proof can be (JPEG,
PNG, WebP, PDF, judged by content) within WHATSAPP_MEDIA_MAX_BYTES is kept, under a generated
name in the default (private) storage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time

import httpx
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.tasks import task

from whatsapp.models import InboundMessage, MediaStatus
from whatsapp.signals import media_stored

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # per task run; a FAILED download is re-driven by `retry_inbound --media`
# Past this many attempts in all (Meta keeps media about 30 days; a dead link stays dead) a
# download is left FAILED for an operator to see instead of being re-driven forever.
MAX_TOTAL_ATTEMPTS = 30
_BACKOFF_SECONDS = (0.5, 2.0)
# (magic prefix, extension, mime type); WebP is RIFF....WEBP, checked separately.
_SIGNATURES = (
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"%PDF-", "pdf", "application/pdf"),
)


class MediaRejected(Exception):
    """The file is not something we keep (type or size); retrying will not change that."""


class MediaDownloadFailed(Exception):
    """The download failed in a way a retry may fix (network, 5xx, digest mismatch)."""


def sniff_proof_type(content: bytes) -> tuple[str, str] | None:
    """(extension, mime type) of a file a proof can be, judged by content only."""
    for magic, ext, mime in _SIGNATURES:
        if content.startswith(magic):
            return ext, mime
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp", "image/webp"
    return None


def _webhook_digest(value: str) -> bytes | None:
    """The webhook's sha256 is base64; tolerate hex too (some test tools and old payloads)."""
    value = value.strip()
    if not value:
        return None
    if len(value) == 64:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None


def fetch_media(*, media_id: str, expected_sha256_b64: str = "") -> bytes:
    """Both Graph calls with the bearer token; returns the verified content."""
    headers = {"Authorization": f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}"}
    base = settings.WHATSAPP_GRAPH_URL.rstrip("/")
    limit = settings.WHATSAPP_MEDIA_MAX_BYTES
    try:
        with httpx.Client(timeout=httpx.Timeout(20.0, connect=5.0), headers=headers) as client:
            meta_response = client.get(f"{base}/{media_id}")
            if meta_response.status_code in (400, 401, 403, 404):
                raise MediaRejected(f"media endpoint answered {meta_response.status_code}")
            meta_response.raise_for_status()
            info = meta_response.json()
            size = int(info.get("file_size") or 0)
            if size > limit:
                raise MediaRejected(f"file of {size} bytes is over the {limit}-byte limit")
            chunks: list[bytes] = []
            received = 0
            with client.stream("GET", info["url"]) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    received += len(chunk)
                    if received > limit:
                        raise MediaRejected(f"file is over the {limit}-byte limit")
                    chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise MediaDownloadFailed(f"{type(exc).__name__}: {exc}") from exc
    except (KeyError, ValueError, TypeError) as exc:
        raise MediaDownloadFailed(f"unexpected media endpoint answer: {exc}") from exc
    content = b"".join(chunks)
    if size and len(content) != size:
        raise MediaDownloadFailed(f"got {len(content)} bytes, media endpoint said {size}")
    digest = hashlib.sha256(content).digest()
    endpoint_hex = str(info.get("sha256") or "")
    if endpoint_hex and _webhook_digest(endpoint_hex) != digest:
        raise MediaDownloadFailed("sha256 differs from the media endpoint's")
    webhook_digest = _webhook_digest(expected_sha256_b64)
    if webhook_digest is not None and webhook_digest != digest:
        raise MediaDownloadFailed("sha256 differs from the webhook's")
    return content


def download_media(*, message_id: int) -> str:
    """Download, verify and store one message's media; returns the final media_status.

    Safe to run twice: a message already STORED, REJECTED or without media is left alone.
    """
    message = InboundMessage.objects.filter(pk=message_id).first()
    if message is None or message.media_status not in (MediaStatus.PENDING, MediaStatus.FAILED):
        return message.media_status if message else ""
    if not settings.WHATSAPP_ACCESS_TOKEN:
        _set_status(message, MediaStatus.SKIPPED, "no WHATSAPP_ACCESS_TOKEN: download skipped")
        return MediaStatus.SKIPPED

    error = ""
    for attempt in range(MAX_ATTEMPTS):
        # Compare-and-swap on the attempt counter: if another worker (a re-driven duplicate task)
        # counted an attempt since we read the row, it owns the download and we step aside.
        claimed = InboundMessage.objects.filter(
            pk=message.pk,
            media_attempts=message.media_attempts,
            media_status__in=[MediaStatus.PENDING, MediaStatus.FAILED],
        ).update(media_attempts=message.media_attempts + 1)
        if not claimed:
            message.refresh_from_db(fields=["media_status", "media_attempts"])
            return message.media_status
        message.media_attempts += 1
        try:
            content = fetch_media(
                media_id=message.media_id, expected_sha256_b64=message.media_sha256
            )
            kind = sniff_proof_type(content)
            if kind is None:
                raise MediaRejected("not a JPEG, PNG, WebP or PDF file")
        except MediaRejected as exc:
            logger.info("media of %s refused: %s", message.wa_message_id, exc)
            _set_status(message, MediaStatus.REJECTED, str(exc))
            return MediaStatus.REJECTED
        except MediaDownloadFailed as exc:
            error = str(exc)
            logger.warning("media download %s failed (try %s): %s", message.pk, attempt + 1, exc)
            if attempt + 1 < MAX_ATTEMPTS:
                time.sleep(_BACKOFF_SECONDS[min(attempt, len(_BACKOFF_SECONDS) - 1)])
            continue
        return _store(message, content, ext=kind[0], mime=kind[1])
    _set_status(message, MediaStatus.FAILED, error)
    return MediaStatus.FAILED


def _store(message: InboundMessage, content: bytes, *, ext: str, mime: str) -> str:
    message.media_file.save(f"proof.{ext}", ContentFile(content), save=False)
    try:
        with transaction.atomic():
            message.media_status = MediaStatus.STORED
            message.media_error = ""
            message.media_mime_type = mime
            message.save(
                update_fields=["media_file", "media_status", "media_error", "media_mime_type"]
            )
            # Receivers (the bot attaching the proof to an order) commit with the status.
            media_stored.send(sender=InboundMessage, message=message)
    except Exception as exc:
        message.media_file.delete(save=False)
        logger.exception("media_stored receiver failed for message %s", message.pk)
        _set_status(message, MediaStatus.FAILED, f"after storing: {exc}")
        return MediaStatus.FAILED
    return MediaStatus.STORED


def _set_status(message: InboundMessage, status: str, error: str) -> None:
    message.media_status = status
    message.media_error = error[:2000]
    InboundMessage.objects.filter(pk=message.pk).update(
        media_status=status, media_error=message.media_error
    )


@task
def download_media_task(message_id: int) -> str:
    return download_media(message_id=message_id)


def enqueue_media_download(*, message_id: int) -> None:
    """Called on commit of the message: the webhook answer never waits for the Graph API."""
    try:
        download_media_task.enqueue(message_id)
    except Exception:
        # The row stays PENDING and visible; `retry_inbound --media` re-drives it.
        logger.exception("could not enqueue the media download of message %s", message_id)


def retry_failed_media(*, limit: int = 100) -> int:
    """Re-enqueue downloads that failed or never ran; returns how many were enqueued."""
    ids = list(
        InboundMessage.objects.filter(
            media_status__in=[MediaStatus.FAILED, MediaStatus.PENDING],
            media_attempts__lt=MAX_TOTAL_ATTEMPTS,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        enqueue_media_download(message_id=pk)
    return len(ids)
