"""`Idempotency-Key` for API POSTs: a retried call gets the first call's response, not a second
effect. n8n retries a node on timeouts; with a key per item, a confirm or an order is done once.

It is middleware so both layers (/api/v1/ and the DRF /api/) share it. The first request with a
key claims it (a row with no status yet), the response is stored when it is ready, and later
requests with the same key and token replay it. The same key with a different request is a
client bug and answers 422 `idempotency_key_reused`; the same key while the first request is
still running answers 409 `idempotency_key_in_use` (for IDEMPOTENCY_ABANDONED_MINUTES at most:
a first request that died without an answer leaves the key free again). Server errors are not
stored, so the call can be retried for real.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from project.auth import user_for_request
from project.errors import error_body, json_error
from project.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Statuses whose response depends on who asked, not on what was asked: never stored.
NOT_STORED = {401, 403, 429}

OPENAPI_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "description": (
        "Any unique string per logical request (e.g. a UUID). Retrying with the same key and "
        f"token replays the first response for {settings.IDEMPOTENCY_TTL_HOURS} "
        "hours instead of doing the work twice."
    ),
}


def ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


def abandoned_after() -> timedelta:
    return timedelta(minutes=settings.IDEMPOTENCY_ABANDONED_MINUTES)


def fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.body), status=record.status_code, content_type=record.content_type or None
    )
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    """Applies to POSTs under the API prefixes that carry an `Idempotency-Key` header."""

    prefixes = ("/api/",)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith(self.prefixes):
            return self.get_response(request)
        if not key or len(key) > MAX_KEY_LENGTH:
            return json_error(
                422,
                error_body(
                    "validation_error",
                    f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters.",
                    {
                        "errors": [
                            {
                                "loc": ["header", HEADER],
                                "msg": "invalid length",
                                "type": "string_length",
                            }
                        ]
                    },
                ),
            )
        user = user_for_request(request)
        if user is None:
            # Authentication fails in the view and answers 401; nothing to remember.
            return self.get_response(request)
        return self._serve_once(request, user, key)

    def _serve_once(self, request: HttpRequest, user, key: str) -> HttpResponse:
        print_ = fingerprint(request)
        record, claimed = self._claim(user, key, print_)
        if not claimed:
            if record.fingerprint != print_:
                return json_error(
                    422,
                    error_body(
                        "idempotency_key_reused",
                        f"This {HEADER} was used for a different request.",
                        {"key": key},
                    ),
                )
            if record.status_code is None:
                return json_error(
                    409,
                    error_body(
                        "idempotency_key_in_use",
                        f"A request with this {HEADER} is still being processed; retry later.",
                        {"key": key},
                    ),
                )
            return replay(record)

        try:
            response = self.get_response(request)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500 or response.status_code in NOT_STORED or response.streaming:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status_code=response.status_code,
            content_type=response.get("Content-Type", ""),
            body=response.content,
        )
        return response

    def _claim(self, user, key: str, print_: str) -> tuple[IdempotencyRecord, bool]:
        """The record for (user, key) and whether this request created (claimed) it.

        A claim whose request died before storing its response (a killed worker) is abandoned
        after IDEMPOTENCY_ABANDONED_MINUTES: the retry then does the work, instead of hearing
        "still being processed" until the record expires."""
        now = timezone.now()
        IdempotencyRecord.objects.filter(
            Q(created_at__lt=now - ttl())
            | Q(status_code__isnull=True, created_at__lt=now - abandoned_after()),
            user=user,
            key=key,
        ).delete()
        for _attempt in range(2):
            try:
                with transaction.atomic():
                    return IdempotencyRecord.objects.create(
                        user=user, key=key, fingerprint=print_
                    ), True
            except IntegrityError:
                existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
                if existing is not None:
                    return existing, False
        raise RuntimeError("could not claim an idempotency key")  # pragma: no cover
