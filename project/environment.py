"""Helpers the settings module uses to read the environment safely.

Kept apart from `settings.py` so the rules (what counts as a missing secret, how SQLite is tuned)
are plain functions that tests can call.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# The value `.env.example` ships for every secret; a production process must not start with it.
PLACEHOLDER = "change-me"


class MissingSecrets(ImproperlyConfigured):
    """Production settings without their secrets: `manage.py` prints this as one line, since
    a traceback would bury the only thing the operator needs to read (which names to set)."""


def local_secret_key(path: Path) -> str:
    """Return the local-mode secret key, generating it once into a git-ignored file."""
    if path.is_file():
        key = path.read_text().strip()
        if key:
            return key
    key = secrets.token_urlsafe(50)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def assert_production_secrets(
    *, required: Mapping[str, str], not_placeholder: Mapping[str, str] | None = None
) -> None:
    """Refuse to start with DEBUG off while a `required` secret is missing or the placeholder,
    or a `not_placeholder` one (which may be empty) is still the placeholder."""
    offending = {name for name, value in required.items() if not value or _is_placeholder(value)}
    offending |= {name for name, value in (not_placeholder or {}).items() if _is_placeholder(value)}
    if offending:
        raise MissingSecrets(
            "DEBUG is off but these variables are missing or still the .env.example placeholder: "
            + ", ".join(sorted(offending))
            + ". Set them in the environment or in .env."
        )


def _is_placeholder(value: str) -> bool:
    return value.strip() == PLACEHOLDER


def axes_client_address_settings(trusted_proxies: int) -> dict[str, object]:
    """How django-axes (through django-ipware) finds a login attempt's address behind
    `trusted_proxies` reverse proxies.

    Each proxy appends the address it saw to X-Forwarded-For; the one next to Django is not in
    the header (it is the peer, REMOTE_ADDR). So the client is the entry `trusted_proxies` from
    the right, which ipware counts as `trusted_proxies - 1` proxies after the client. Whatever a
    client writes into the header itself lands to the left and is never read; a request that
    bypassed the proxies (no header) is judged by its peer address. With no proxy the header is
    ignored altogether.
    """
    if trusted_proxies <= 0:
        return {
            "AXES_IPWARE_META_PRECEDENCE_ORDER": ("REMOTE_ADDR",),
            "AXES_IPWARE_PROXY_COUNT": None,
        }
    return {
        "AXES_IPWARE_META_PRECEDENCE_ORDER": ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"),
        "AXES_IPWARE_PROXY_COUNT": trusted_proxies - 1,
    }


def sqlite_options() -> dict[str, object]:
    """SQLite tuned for a web process and cron writing at once.

    WAL lets readers run beside the single writer; IMMEDIATE transactions take the write lock
    at BEGIN, so two writers queue on the busy timeout instead of failing with "database is
    locked" when a read transaction tries to upgrade.

    The WAL is copied back into the database (a checkpoint, with its fsyncs) by whichever
    commit finds it over `wal_autocheckpoint` pages, while a buyer waits for that commit. At
    10,000 pages (~40 MB) that is rare, and `checkpoint_sqlite` (periodic) usually does it
    first, off the request path.
    """
    return {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=20000;"
            "PRAGMA wal_autocheckpoint=10000;"
            "PRAGMA temp_store=MEMORY;"
            "PRAGMA cache_size=-64000"
        ),
    }


def postgresql_options(
    options: dict[str, object],
    *,
    connect_timeout: int,
    keepalives_idle: int,
    statement_timeout_ms: int,
) -> dict[str, object]:
    """libpq settings so no process blocks forever on a dead connection (options given win).

    - connect_timeout: a connection attempt to a host that drops packets gives up.
    - TCP keepalives: an idle connection to a vanished server is noticed in about
      idle + 3 x interval seconds.
    - tcp_user_timeout: data sent and never acknowledged (keepalives do not run while data is
      outstanding) fails the connection after the same time.
    - statement_timeout: one query cannot hold a worker forever (0 turns it off).
    """
    merged: dict[str, object] = dict(options)
    interval = max(1, keepalives_idle // 2)
    merged.setdefault("connect_timeout", connect_timeout)
    merged.setdefault("keepalives", 1)
    merged.setdefault("keepalives_idle", keepalives_idle)
    merged.setdefault("keepalives_interval", interval)
    merged.setdefault("keepalives_count", 3)
    merged.setdefault("tcp_user_timeout", (keepalives_idle + 3 * interval) * 1000)
    if statement_timeout_ms > 0 and "statement_timeout" not in str(merged.get("options", "")):
        extra = f"-c statement_timeout={statement_timeout_ms}"
        merged["options"] = f"{merged['options']} {extra}" if merged.get("options") else extra
    return merged
