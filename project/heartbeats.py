"""Heartbeats of the background parts, and how fresh they are (for `/healthz?detail=1`).

The task worker beats from a thread of its own every HEARTBEAT_SECONDS, so a worker busy with a
long broadcast still beats. The delivery dispatcher beats from its claiming loop, so a wedged
loop goes stale (and the sweeper takes its rows back). Each periodic command beats when it
finishes a run, whether `run_periodic` or cron ran it: its heartbeat is its last good run.
"""

from __future__ import annotations

import logging
import shlex
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from project.outage import UNAVAILABLE, OutageLog

logger = logging.getLogger(__name__)

WORKER = "worker"
DISPATCHER = "dispatcher"
PERIODIC_PREFIX = "periodic:"


def beat(name: str) -> None:
    """Record a sign of life now: one upsert, no read."""
    from project.models import Heartbeat  # importable before apps are ready (manage.py)

    Heartbeat.objects.bulk_create(
        [Heartbeat(name=name, beat_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["beat_at"],
    )


def alive(name: str) -> bool:
    """Whether `name` beat within HEARTBEAT_STALE_SECONDS (one indexed read)."""
    from project.models import Heartbeat

    since = timezone.now() - timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
    return Heartbeat.objects.filter(name=name, beat_at__gte=since).exists()


def periodic_name(entry: str) -> str:
    return PERIODIC_PREFIX + " ".join(shlex.split(entry))


def periodic_entry_for(argv: Sequence[str]) -> str | None:
    """The PERIODIC_COMMANDS entry a command line runs (`manage.py retry_inbound --media`)."""
    wanted = list(argv)
    for entry, _every in settings.PERIODIC_COMMANDS:
        if shlex.split(entry) == wanted:
            return entry
    return None


def beat_for_command_line(argv: Sequence[str]) -> None:
    """After a command finished from the shell (cron): its heartbeat, if it is a periodic one."""
    entry = periodic_entry_for(argv)
    if entry is None:
        return
    try:
        beat(periodic_name(entry))
    except Exception:  # the command's own work is done; a missed beat only shows as stale
        logger.warning("could not record the heartbeat of %s", entry, exc_info=True)


class HeartbeatThread(threading.Thread):
    """Beats for a long-running process from a thread of its own (its own connection)."""

    def __init__(self, name: str, *, every: float | None = None) -> None:
        super().__init__(name=f"heartbeat-{name}", daemon=True)
        self.beat_name = name
        self.every = every if every is not None else settings.HEARTBEAT_SECONDS
        self._stop_event = threading.Event()
        self._outage = OutageLog(f"{name} heartbeat")

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.beat_once()
            self._stop_event.wait(self.every)
        connection.close()

    def beat_once(self) -> None:
        close_old_connections()
        try:
            beat(self.beat_name)
        except UNAVAILABLE as error:
            # The worker's own loop reports the outage; this thread just tries again later.
            self._outage.failed(error)
            connection.close()
        else:
            self._outage.answered()

    def stop(self) -> None:
        self._stop_event.set()


def _age(beat_at: datetime | None, now: datetime) -> float | None:
    return None if beat_at is None else round((now - beat_at).total_seconds(), 1)


def _state(age: float | None, stale_after: float) -> str:
    if age is None:
        return "never"
    return "ok" if age <= stale_after else "stale"


def report() -> dict[str, Any]:
    """The worker, the dispatcher and every periodic command: ok / stale / never, with the
    heartbeat's age."""
    from project.models import Heartbeat

    now = timezone.now()
    beats = dict(Heartbeat.objects.values_list("name", "beat_at"))
    worker_age = _age(beats.get(WORKER), now)
    dispatcher_age = _age(beats.get(DISPATCHER), now)
    periodic: dict[str, Any] = {}
    for entry, every in settings.PERIODIC_COMMANDS:
        age = _age(beats.get(periodic_name(entry)), now)
        # Twice the interval, plus slack for cron's one-minute step and a slow run.
        stale_after = 2 * every + settings.HEARTBEAT_GRACE_SECONDS
        periodic[entry] = {
            "status": _state(age, stale_after),
            "age_seconds": age,
            "every_seconds": every,
        }
    return {
        "worker": {
            "status": _state(worker_age, settings.HEARTBEAT_STALE_SECONDS),
            "age_seconds": worker_age,
        },
        "dispatcher": {
            "status": _state(dispatcher_age, settings.HEARTBEAT_STALE_SECONDS),
            "age_seconds": dispatcher_age,
        },
        "periodic": periodic,
    }
