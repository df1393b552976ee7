"""Where the access token may go when media is downloaded.

The media lookup answers with a URL to fetch the file from, and that fetch needs the bearer
token. Only https URLs on Meta's hosts (`WHATSAPP_MEDIA_HOSTS`) get it, plus the origin of
`WHATSAPP_GRAPH_URL` itself (which is where the token goes anyway; a fake server in tests and
local runs). Anything else is refused before a connection is made.
"""

from __future__ import annotations

import httpx
from django.conf import settings

__all__ = ["token_may_go_to"]


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) as httpx itself parses the URL: the same parser that would make
    the request, so no trick in the URL reads one way here and connects another way."""
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    if not parsed.host or parsed.userinfo:
        return None
    default = {"https": 443, "http": 80}.get(parsed.scheme)
    return parsed.scheme, parsed.host.lower().rstrip("."), parsed.port or default


def token_may_go_to(url: str, *, graph_url: str | None = None) -> bool:
    """True if a request to `url` may carry the WhatsApp access token. `graph_url`: the Graph
    API base the caller is configured with (default WHATSAPP_GRAPH_URL)."""
    origin = _origin(url)
    if origin is None:
        return False
    if origin == _origin(graph_url or settings.WHATSAPP_GRAPH_URL):
        return True
    scheme, host, port = origin
    allowed = {h.strip().lower().rstrip(".") for h in settings.WHATSAPP_MEDIA_HOSTS if h.strip()}
    return scheme == "https" and port == 443 and host in allowed
