"""Run the periodic housekeeping commands (`settings.PERIODIC_COMMANDS`) in a loop.

`serve` runs this beside the web server; in production cron can run the same commands instead.
While the database is away the loop waits for it (capped backoff, one log line when it goes and
one when it is back) instead of logging a traceback per job and pass. Each command that finishes
beats its heartbeat (`/healthz?detail=1`).
"""

from __future__ import annotations

import io
import logging
import re
import shlex
import signal
import sys
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, SystemCheckError
from django.db import close_old_connections

from project.heartbeats import beat, periodic_name
from project.outage import UNAVAILABLE, OutageLog, wait_for_database
from project.supervisor import EX_CONFIG

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the periodic housekeeping commands until stopped (or once with --once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run every command once, exit.")

    def execute(self, *args: Any, **options: Any) -> Any:
        # Bad configuration cannot be fixed by restarting: exit 78 (EX_CONFIG), see run_worker.
        try:
            return super().execute(*args, **options)
        except SystemCheckError as error:
            error.returncode = EX_CONFIG
            raise
        except ImproperlyConfigured as error:
            raise CommandError(f"configuration error: {error}", returncode=EX_CONFIG) from error

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        jobs: list[tuple[str, int]] = list(settings.PERIODIC_COMMANDS)
        next_run = dict.fromkeys((name for name, _ in jobs), 0.0)
        self._stopping = False
        self._outage = OutageLog("periodic jobs")
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        while not self._stopping:
            if self._outage.down:
                wait_for_database(self._outage, keep_waiting=lambda: not self._stopping)
                continue
            for name, every in jobs:
                if self._stopping or self._outage.down:
                    break
                if time.monotonic() >= next_run[name] and self._run(name):
                    next_run[name] = time.monotonic() + every
            if once and not self._outage.down:
                return
            time.sleep(0.5)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _run(self, name: str) -> bool:
        """Run one job; False if the database went away (the job is run again once it is back)."""
        close_old_connections()
        try:
            # An entry may carry options: "retry_inbound --media".
            output = io.StringIO()
            call_command(*shlex.split(name), verbosity=0, stdout=output)
            _report(output.getvalue())
            beat(periodic_name(name))
        except UNAVAILABLE as error:
            # Not a bug in the job: every job would fail the same way until the database is back.
            self._outage.failed(error)
            return False
        except Exception:
            # One failing job must not stop the others; the traceback goes to the log.
            logger.exception("periodic command %s failed", name)
        return True


# "0 orders expired.", "deleted 0 webhook captures older than 30 days": a line whose first
# figure is zero says nothing happened, and every minute of it would bury the lines that matter.
_NOTHING_HAPPENED = re.compile(r"^\D*\b0\b")


def _report(output: str) -> None:
    for line in output.splitlines():
        if line.strip() and not _NOTHING_HAPPENED.match(line):
            sys.stdout.write(line + "\n")
    sys.stdout.flush()
