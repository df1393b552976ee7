"""Downloading media buyers send (payment proofs) from the Graph API, verified and stored privately.

Nothing is downloaded unless the handler asks (`request_media_download`): an image sent when no
payment proof is expected stays on Meta's servers. GET /{media-id} gives a short-lived URL, its
size (a string) and sha256 (hex); the webhook gave the sha256 base64-encoded. Both digests are
compared as bytes. The access token goes only where `whatsapp.media_hosts` allows. Only what a
proof can be (JPEG, PNG, WebP, PDF, judged by content) within WHATSAPP_MEDIA_MAX_BYTES is kept,
under a generated name in the default (private) storage. A download refused, or given up after
WHATSAPP_MEDIA_MAX_ATTEMPTS, is announced once through `media_failed`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from whatsapp.media_hosts import token_may_go_to
from whatsapp.models import InboundMessage, MediaStatus
from whatsapp.signals import media_failed, media_stored

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # per task run; a FAILED download is re-driven by `retry_inbound --media`
_BACKOFF_SECONDS = (0.5, 2.0)
# Meta's media ids are digits; anything else would put other Graph paths in the request.
_MEDIA_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")
MEDIA_DIR = "whatsapp/inbound"
# (magic prefix, extension, mime type); WebP is RIFF....WEBP, checked separately.
_SIGNATURES = (
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"%PDF-", "pdf", "application/pdf"),
)


def max_total_attempts() -> int:
    """Past this many attempts in all a download is given up (FAILED, no longer re-driven)."""
    return max(1, settings.WHATSAPP_MEDIA_MAX_ATTEMPTS)


class MediaRejected(Exception):
    """The file is not something we keep (type or size); retrying will not change that.
    `problem` is what `media_failed` reports (see `whatsapp.signals.MEDIA_PROBLEMS`)."""

    def __init__(self, message: str, *, problem: str = "refused") -> None:
        super().__init__(message)
        self.problem = problem


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
    if not _MEDIA_ID.fullmatch(media_id or ""):
        raise MediaRejected(f"not a media id: {media_id[:40]!r}")
    headers = {"Authorization": f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}"}
    base = settings.WHATSAPP_GRAPH_URL.rstrip("/")
    limit = settings.WHATSAPP_MEDIA_MAX_BYTES
    try:
        # Redirects are not followed (httpx's default): a redirect is a failed try, so the
        # token never follows one to another host.
        with httpx.Client(timeout=httpx.Timeout(20.0, connect=5.0), headers=headers) as client:
            meta_response = client.get(f"{base}/{media_id}")
            if meta_response.status_code in (400, 401, 403, 404):
                raise MediaRejected(f"media endpoint answered {meta_response.status_code}")
            meta_response.raise_for_status()
            info = meta_response.json()
            size = int(info.get("file_size") or 0)
            if size > limit:
                raise MediaRejected(
                    f"file of {size} bytes is over the {limit}-byte limit", problem="too_large"
                )
            url = str(info["url"])
            if not token_may_go_to(url):
                # Retried like any failed download; the token is never sent there.
                logger.warning("media %s: download URL host not allowed: %.200s", media_id, url)
                raise MediaDownloadFailed(f"download URL not on an allowed host: {url[:200]}")
            chunks: list[bytes] = []
            received = 0
            with client.stream("GET", url) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    received += len(chunk)
                    if received > limit:
                        raise MediaRejected(
                            f"file is over the {limit}-byte limit", problem="too_large"
                        )
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
                raise MediaRejected("not a JPEG, PNG, WebP or PDF file", problem="not_a_proof_type")
        except MediaRejected as exc:
            logger.info("media of %s refused: %s", message.wa_message_id, exc)
            _set_status(message, MediaStatus.REJECTED, str(exc))
            _announce_failure(message, exc.problem)
            return MediaStatus.REJECTED
        except MediaDownloadFailed as exc:
            error = str(exc)
            logger.warning("media download %s failed (try %s): %s", message.pk, attempt + 1, exc)
            if attempt + 1 < MAX_ATTEMPTS:
                time.sleep(_BACKOFF_SECONDS[min(attempt, len(_BACKOFF_SECONDS) - 1)])
            continue
        return _store(message, content, ext=kind[0], mime=kind[1])
    _set_status(message, MediaStatus.FAILED, error)
    if message.media_attempts >= max_total_attempts():
        logger.warning("media download %s given up after %s attempts", message.pk, error)
        _announce_failure(message, "gave_up")
    return MediaStatus.FAILED


def _announce_failure(message: InboundMessage, problem: str) -> None:
    """Tell the apps built on the transport; their trouble is logged, never ours."""
    for receiver, result in media_failed.send_robust(
        sender=InboundMessage, message=message, problem=problem
    ):
        if isinstance(result, Exception):
            logger.error(
                "media_failed receiver %r failed for message %s",
                receiver,
                message.pk,
                exc_info=result,
            )


def store_downloaded_media(*, message: InboundMessage, content: bytes) -> str:
    """The download's last step, for bytes obtained without the Graph API (the `chat` command
    in local mode, which has no credentials, stands in for Meta with a sample file): judged,
    stored and announced exactly like a real download. Returns the final media_status."""
    kind = sniff_proof_type(content)
    if kind is None:
        _set_status(message, MediaStatus.REJECTED, "not a JPEG, PNG, WebP or PDF file")
        _announce_failure(message, "not_a_proof_type")
        return MediaStatus.REJECTED
    return _store(message, content, ext=kind[0], mime=kind[1])


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


def request_media_download(*, message: InboundMessage) -> bool:
    """The handler wants this message's media (a payment proof): download it once the caller's
    transaction commits. True if it is (or will be) stored; False if there is none to fetch."""
    if message.media_status in (MediaStatus.PENDING, MediaStatus.STORED, MediaStatus.FAILED):
        return True
    if message.media_status != MediaStatus.NOT_REQUESTED:
        return False
    InboundMessage.objects.filter(pk=message.pk, media_status=MediaStatus.NOT_REQUESTED).update(
        media_status=MediaStatus.PENDING
    )
    message.media_status = MediaStatus.PENDING
    pk = message.pk
    transaction.on_commit(lambda: enqueue_media_download(message_id=pk))
    return True


def enqueue_media_download(*, message_id: int) -> None:
    """Called on commit of the message: the webhook answer never waits for the Graph API."""
    if not settings.WHATSAPP_ACCESS_TOKEN:
        # Local mode: nothing can be downloaded, so no task runs (and none is logged as done).
        # The file stays PENDING for the `chat` command, which hands it in itself.
        return
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
            media_attempts__lt=max_total_attempts(),
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        enqueue_media_download(message_id=pk)
    return len(ids)


def prune_media_files(*, now: datetime | None = None) -> int:
    """Delete downloaded media older than WHATSAPP_MEDIA_UNCLAIMED_HOURS, and files no message
    refers to; returns how many files went.

    A payment proof keeps its own copy of its file (the `media_stored` receivers copy it in the
    transaction that stores it), so what is left here is either a copy or a file that belongs
    to no proof: neither is worth keeping buyers' bank details for.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(hours=max(0, settings.WHATSAPP_MEDIA_UNCLAIMED_HOURS))
    deleted = 0
    old = InboundMessage.objects.filter(created_at__lt=cutoff).exclude(media_file="")
    for pk, name in old.values_list("pk", "media_file").iterator():
        storage = InboundMessage._meta.get_field("media_file").storage
        storage.delete(name)
        InboundMessage.objects.filter(pk=pk).update(media_file="")
        deleted += 1
    # Files whose row never committed (a crash between writing the file and saving the row).
    storage = InboundMessage._meta.get_field("media_file").storage
    for name in _files_under(storage, MEDIA_DIR):
        if storage.get_modified_time(name) > cutoff:
            continue
        if not InboundMessage.objects.filter(media_file=name).exists():
            storage.delete(name)
            deleted += 1
    return deleted


def _files_under(storage: Storage, folder: str) -> Iterator[str]:
    if not storage.exists(folder):
        return
    folders, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for sub in folders:
        yield from _files_under(storage, f"{folder}/{sub}")
