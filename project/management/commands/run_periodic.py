"""Run the periodic housekeeping commands (`settings.PERIODIC_COMMANDS`) in a loop.

`serve` runs this beside the web server; in production cron can run the same commands instead.
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
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the periodic housekeeping commands until stopped (or once with --once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run every command once, exit.")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        jobs: list[tuple[str, int]] = list(settings.PERIODIC_COMMANDS)
        next_run = dict.fromkeys((name for name, _ in jobs), 0.0)
        self._stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        while not self._stopping:
            now = time.monotonic()
            for name, every in jobs:
                if now >= next_run[name]:
                    self._run(name)
                    next_run[name] = time.monotonic() + every
            if once:
                return
            time.sleep(0.5)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _run(self, name: str) -> None:
        close_old_connections()
        try:
            # An entry may carry options: "retry_inbound --media".
            output = io.StringIO()
            call_command(*shlex.split(name), verbosity=0, stdout=output)
            _report(output.getvalue())
        except Exception:
            # One failing job must not stop the others; the traceback goes to the log.
            logger.exception("periodic command %s failed", name)


# "0 orders expired.", "deleted 0 webhook captures older than 30 days": a line whose first
# figure is zero says nothing happened, and every minute of it would bury the lines that matter.
_NOTHING_HAPPENED = re.compile(r"^\D*\b0\b")


def _report(output: str) -> None:
    for line in output.splitlines():
        if line.strip() and not _NOTHING_HAPPENED.match(line):
            sys.stdout.write(line + "\n")
    sys.stdout.flush()
