"""Riding out a database outage: tell "the database is away" from a bug, wait, log the change.

Long-running processes (the task worker, the periodic jobs, `serve` at startup) wait for the
database with a capped backoff instead of exiting, and log once when it goes away and once when
it is back ("database back after 63 s"), not a traceback per attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections

logger = logging.getLogger(__name__)

# What a lost or refused connection, a timeout or "database is locked" raise: waiting fixes them.
UNAVAILABLE = (OperationalError, InterfaceError)


def database_answers(alias: str = "default") -> bool:
    """One cheap round trip on a fresh connection if the old one broke."""
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except UNAVAILABLE:
        drop_connection(alias)
        return False
    return True


def drop_connection(alias: str = "default") -> None:
    """Close this thread's connection after a failure: a broken one must not be handed out
    again, the next query opens a new one."""
    try:
        connections[alias].close()
    except Exception:  # closing a dead socket may raise; it is gone either way
        logger.debug("closing a broken connection failed", exc_info=True)


def first_line(error: BaseException) -> str:
    """An error's first line: what a log line about a lost connection needs, not a traceback."""
    return (str(error).strip().splitlines() or [""])[0]


class OutageLog:
    """Logs a change of the database's state once: away (with the error's class), and back."""

    # A failure this soon after the return is the same outage (a failover settling), not news.
    SETTLE_SECONDS = 5.0

    def __init__(self, who: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.who = who
        self._clock = clock
        self.down_since: float | None = None
        self._last_outage: tuple[float, float] | None = None  # (went down, came back)

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def relapsed_recently(self) -> bool:
        """True if the database came back less than SETTLE_SECONDS ago (or is down)."""
        if self.down:
            return True
        last = self._last_outage
        return last is not None and self._clock() - last[1] < self.SETTLE_SECONDS

    def failed(self, error: BaseException | None = None) -> None:
        if self.down_since is not None:
            return
        now = self._clock()
        if self._last_outage and now - self._last_outage[1] < self.SETTLE_SECONDS:
            self.down_since = self._last_outage[0]
            return
        self.down_since = now
        # One line, not a traceback; the driver's first line says which host refused.
        kind = f"{type(error).__name__}: {first_line(error)}" if error else "no answer"
        logger.warning("%s: database unavailable (%s); waiting for it", self.who, kind)

    def answered(self) -> None:
        if self.down_since is None:
            return
        now = self._clock()
        away = now - self.down_since
        self._last_outage = (self.down_since, now)
        self.down_since = None
        logger.warning("%s: database back after %.0f s", self.who, away)


def backoff_delays(*, first: float | None = None, cap: float | None = None):
    """1, 2, 4 ... seconds, capped (DATABASE_RETRY_MAX_SECONDS): resume moments after the return."""
    delay = first if first is not None else 0.5
    ceiling = cap if cap is not None else settings.DATABASE_RETRY_MAX_SECONDS
    while True:
        yield min(delay, ceiling)
        delay *= 2


def wait_for_database(
    log: OutageLog,
    *,
    alias: str = "default",
    sleep: Callable[[float], None] = time.sleep,
    keep_waiting: Callable[[], bool] = lambda: True,
) -> bool:
    """Block until the database answers (True), or keep_waiting() turns false (False)."""
    delays = backoff_delays()
    while keep_waiting():
        close_old_connections()
        if database_answers(alias):
            log.answered()
            return True
        log.failed()
        sleep(next(delays))
    return False
