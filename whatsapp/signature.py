"""Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`."""

from __future__ import annotations

import enum
import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


class SignatureCheck(enum.Enum):
    VALID = "valid"
    MISSING = "missing"  # no header: 401
    INVALID = "invalid"  # wrong, malformed, or signed with another secret: 403
    UNCONFIGURED = "unconfigured"  # no app secret: nothing can be trusted, so reject (403)


def compute_signature(body: bytes, secret: str) -> str:
    """The header value Meta would send for `body` (also what the test tools sign with)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def check_signature(body: bytes, header: str | None, secret: str) -> SignatureCheck:
    if not secret:
        return SignatureCheck.UNCONFIGURED
    if not header:
        return SignatureCheck.MISSING
    expected = compute_signature(body, secret)
    # Constant time over the whole header: the comparison leaks nothing about how much matched.
    if hmac.compare_digest(expected.encode(), header.strip().lower().encode(errors="replace")):
        return SignatureCheck.VALID
    return SignatureCheck.INVALID


def verify_token_matches(given: str | None, expected: str) -> bool:
    """GET verification: an empty configured token never matches."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode(errors="replace"), expected.encode())
