"""A thin client for the WhatsApp Cloud (Graph) API over httpx.

It sends one request and says what happened: a typed result, or a `GraphError` that is either
`TransientGraphError` (try again later) or `PermanentGraphError` (trying again cannot help).
Retry bookkeeping lives in `whatsapp.services.delivery`, not here.

A lost response is the one case with no safe answer: on a read timeout (or a dropped connection
after the request was written) Meta may have accepted the message. The Cloud API has no
idempotency key, so the error is transient (the buyer gets the reply, perhaps twice) and is
flagged `may_have_been_sent`; a refused connection or a connect timeout never reached Meta and
is safe to retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Self

import httpx
from django.conf import settings

__all__ = [
    "GraphClient",
    "GraphError",
    "MediaInfo",
    "PermanentGraphError",
    "SendResult",
    "TransientGraphError",
    "credentials_configured",
]

logger = logging.getLogger(__name__)

# Meta error codes worth retrying: throttling (4, 80007, 130429, 131056 pair rate limit),
# temporary service trouble (1, 2, 131000 "something went wrong", 131016, 133004), and access
# token problems (0, 190) that an operator fixes without wanting the backlog thrown away.
TRANSIENT_CODES = frozenset({0, 1, 2, 4, 190, 80007, 130429, 131000, 131016, 131056, 133004})


class GraphError(Exception):
    """A request that did not succeed. `code` is Meta's error code or our own short name."""

    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str,
        http_status: int | None = None,
        may_have_been_sent: bool = False,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.may_have_been_sent = may_have_been_sent
        self.details = details or {}


class TransientGraphError(GraphError):
    transient = True


class PermanentGraphError(GraphError):
    transient = False


@dataclass(frozen=True)
class SendResult:
    wa_message_id: str  # empty for calls that return {"success": true} (read receipts)
    raw: dict[str, Any]


@dataclass(frozen=True)
class MediaInfo:
    id: str
    url: str
    mime_type: str
    sha256: str  # hex, as the media endpoint gives it
    file_size: int


def credentials_configured() -> bool:
    return bool(settings.WHATSAPP_ACCESS_TOKEN and settings.WHATSAPP_PHONE_NUMBER_ID)


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(
        settings.WHATSAPP_HTTP_TIMEOUT_SECONDS, connect=settings.WHATSAPP_CONNECT_TIMEOUT_SECONDS
    )


class GraphClient:
    """One configured connection pool to the Graph API; reuse it for a batch of sends."""

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        phone_number_id: str,
        timeout: httpx.Timeout | float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.phone_number_id = phone_number_id
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def from_settings(cls) -> Self:
        return cls(
            base_url=settings.WHATSAPP_GRAPH_URL,
            access_token=settings.WHATSAPP_ACCESS_TOKEN,
            phone_number_id=settings.WHATSAPP_PHONE_NUMBER_ID,
            timeout=_timeout(),
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- messages ---------------------------------------------------------------------------
    def send(self, payload: dict[str, Any]) -> SendResult:
        """POST /{phone-number-id}/messages with an exact body (message or read receipt)."""
        data = self._request("POST", f"{self.phone_number_id}/messages", json=payload)
        messages = data.get("messages") or []
        wa_message_id = str(messages[0].get("id", "")) if messages else ""
        if not wa_message_id and data.get("success") is not True:
            raise PermanentGraphError(
                f"unexpected response shape: {data!r}"[:500], code="bad_response"
            )
        return SendResult(wa_message_id=wa_message_id, raw=data)

    # --- media --------------------------------------------------------------------------------
    def media_info(self, media_id: str) -> MediaInfo:
        """GET /{media-id}: a short-lived download URL plus what the file should be."""
        data = self._request("GET", media_id)
        try:
            return MediaInfo(
                id=str(data.get("id", media_id)),
                url=str(data["url"]),
                mime_type=str(data.get("mime_type", "")),
                sha256=str(data.get("sha256", "")),
                file_size=int(data.get("file_size", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentGraphError(
                f"unexpected media response: {data!r}"[:500], code="bad_response"
            ) from exc

    def download(self, url: str, *, max_bytes: int) -> bytes:
        """Fetch a media URL (bearer token required), refusing anything over max_bytes.

        The token goes only where `whatsapp.media_hosts` allows; any other URL is refused
        before a connection is made, as a transient error (the download is retried)."""
        from whatsapp.media_hosts import token_may_go_to

        if not token_may_go_to(url, graph_url=str(self._http.base_url)):
            logger.warning("media download URL not on an allowed host: %.200s", url)
            raise TransientGraphError(
                f"media URL not on an allowed host: {url[:200]}", code="media_host_not_allowed"
            )
        try:
            with self._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._error_from(response)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise PermanentGraphError(
                            f"media larger than {max_bytes} bytes", code="too_large"
                        )
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc

    # --- message templates ----------------------------------------------------------------------
    def message_templates_page(self, path_or_url: str) -> dict[str, Any]:
        """GET one page of /{WABA-ID}/message_templates: the first path, or a `paging.next` URL.

        A `paging.next` URL carries our bearer token, so it must point at the Graph API host we
        were configured with; any other host is refused before a connection is made."""
        if path_or_url.startswith(("http://", "https://")):
            target = httpx.URL(path_or_url)
            if target.host != self._http.base_url.host or target.port != self._http.base_url.port:
                raise PermanentGraphError(
                    f"paging URL not on the Graph API host: {path_or_url[:200]}",
                    code="paging_host_not_allowed",
                )
        return self._request("GET", path_or_url)

    # --- plumbing -----------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if response.status_code >= 400:
            raise self._error_from(response)
        try:
            data = response.json()
        except ValueError as exc:
            raise TransientGraphError(
                f"non-JSON response ({response.status_code})",
                code=f"http_{response.status_code}",
                http_status=response.status_code,
                may_have_been_sent=True,
            ) from exc
        if not isinstance(data, dict):
            raise PermanentGraphError(f"unexpected response: {data!r}"[:500], code="bad_response")
        return data

    @staticmethod
    def _transport_error(exc: httpx.HTTPError) -> GraphError:
        # Connect failures never reached Meta: retrying cannot duplicate a message.
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return TransientGraphError(f"connection failed: {exc!r}", code="connect_error")
        if isinstance(exc, httpx.TimeoutException):
            return TransientGraphError(
                f"timed out waiting for Meta: {exc!r}", code="timeout", may_have_been_sent=True
            )
        return TransientGraphError(
            f"transport error: {exc!r}", code="transport_error", may_have_been_sent=True
        )

    @staticmethod
    def _error_from(response: httpx.Response) -> GraphError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        raw_code = error.get("code")
        details = (error.get("error_data") or {}).get("details", "") if error else ""
        message = error.get("message") or response.text[:300] or response.reason_phrase
        text = f"{message} ({details})" if details else str(message)
        if isinstance(raw_code, int):
            code = str(raw_code)
            transient = raw_code in TRANSIENT_CODES or status >= 500 or status == 429
        else:
            code = f"http_{status}"
            transient = status >= 500 or status == 429
        cls = TransientGraphError if transient else PermanentGraphError
        return cls(text, code=code, http_status=status, details=error)
