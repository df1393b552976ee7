"""Waking the delivery dispatcher the moment a transaction that queued messages commits.

The outbox row stays the truth; this is only a doorbell, so a lost ring costs at most the
dispatcher's fallback poll (WHATSAPP_DELIVERY_POLL_SECONDS), never a message.

- PostgreSQL: `NOTIFY whatsapp_outbox` after commit; the dispatcher `LISTEN`s on a connection of
  its own. Works across hosts, like the database itself.
- SQLite (one host by nature): a datagram to a Unix socket named after the database file, which
  the dispatcher binds. Sending never blocks and never fails the caller: a full or missing socket
  just means nobody is listening, or the dispatcher is already awake.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import select
import socket
import tempfile
import time
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from project.outage import first_line

__all__ = ["CHANNEL", "Listener", "notify_on_commit", "socket_path"]

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp_outbox"


def notify_on_commit(*, using: str | None = None) -> None:
    """Ring once the caller's transaction commits (at once outside a transaction)."""
    alias = using or DEFAULT_DB_ALIAS
    # robust: a failed ring must never turn a committed bot turn into an error.
    transaction.on_commit(partial(_notify, alias), using=alias, robust=True)


def _notify(alias: str) -> None:
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {CHANNEL}")
        return
    _poke(socket_path(alias))


def socket_path(alias: str = DEFAULT_DB_ALIAS) -> str:
    """The SQLite doorbell: in the temp folder (Unix socket paths are short), one per database."""
    name = str(connections[alias].settings_dict["NAME"])
    digest = hashlib.sha256(os.path.abspath(name).encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"raffle-outbox-{digest}.sock")


def _poke(path: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        # No listener, or its buffer is full (then it is awake anyway): nothing to do.
        with contextlib.suppress(OSError):
            sock.sendto(b"!", path)


class Listener:
    """The dispatcher's side: `wait(timeout)` returns True when rung, False on timeout."""

    def __init__(self, alias: str = DEFAULT_DB_ALIAS) -> None:
        self.alias = alias
        self.vendor = connections[alias].vendor
        self._pg: Any = None
        self._sock: socket.socket | None = None
        self._closed = False
        self._lost = False  # the LISTEN connection broke: listen again once the database is back

    # --- lifecycle --------------------------------------------------------------------------
    def open(self) -> bool:
        """Start listening; False when this process cannot (then only polling wakes it)."""
        try:
            if self.vendor == "postgresql":
                self._open_pg()
            else:
                self._open_socket()
        except Exception:
            logger.warning("delivery wake-up unavailable; polling only", exc_info=True)
            self._release()
            return False
        return True

    def close(self) -> None:
        """For good: a waiting thread returns, and nothing reconnects."""
        self._closed = True
        self._release()

    def _release(self) -> None:
        if self._pg is not None:
            with contextlib.suppress(Exception):
                self._pg.close()
            self._pg = None
        if self._sock is not None:
            path = self._sock.getsockname()
            self._sock.close()
            self._sock = None
            with contextlib.suppress(OSError):
                os.unlink(path)

    def _open_pg(self) -> None:
        connection = connections[self.alias]
        raw = connection.get_new_connection(connection.get_connection_params())
        raw.autocommit = True
        raw.execute(f"LISTEN {CHANNEL}")
        self._pg = raw

    def _open_socket(self) -> None:
        path = socket_path(self.alias)
        if os.path.exists(path):
            if _someone_listens(path):
                raise OSError(f"another dispatcher already listens on {path}")
            os.unlink(path)  # left by a dispatcher that was killed
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.setblocking(False)
        self._sock = sock

    # --- waiting ----------------------------------------------------------------------------
    def wait(self, timeout: float) -> bool:
        """Block until rung or `timeout`; safe to call from a thread other than `open`'s."""
        timeout = max(0.0, timeout)
        if self._lost and not self._closed and not self._listen_again():
            time.sleep(min(timeout, 1.0))  # still away: try again on the next wait
            return False
        if self._pg is not None:
            return self._wait_pg(timeout)
        if self._sock is not None:
            return self._wait_socket(timeout)
        time.sleep(timeout)
        return False

    def _wait_pg(self, timeout: float) -> bool:
        raw = self._pg
        try:
            rung = False
            for _ in raw.notifies(timeout=timeout, stop_after=1):
                rung = True
            if rung:  # many commits ring many times: one wake-up serves them all
                for _ in raw.notifies(timeout=0.0):
                    pass
            return rung
        except Exception as error:
            if self._closed:
                return False
            # The database went away: until it is back the dispatcher's poll carries on. One
            # line, not a traceback: the dispatcher logs the outage itself.
            logger.warning(
                "delivery wake-up connection lost (%s); polling meanwhile", first_line(error)
            )
            self._release()
            self._lost = True
            return False

    def _listen_again(self) -> bool:
        try:
            self._open_pg()
        except Exception:
            self._release()
            return False
        if self._closed:  # closed while we reconnected: that connection must not outlive it
            self._release()
            return False
        self._lost = False
        logger.warning("delivery wake-up listening again")
        return True

    def _wait_socket(self, timeout: float) -> bool:
        sock = self._sock
        if sock is None:
            return False
        try:
            readable, _, _ = select.select([sock], [], [], timeout)
            if not readable:
                return False
            with contextlib.suppress(BlockingIOError):
                while sock.recv(64):
                    pass
        except (OSError, ValueError):  # closed under us: the dispatcher is stopping
            return False
        return True


def _someone_listens(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True
