"""A small supervisor: start child processes, restart ones that die, stop all on a signal.

`manage.py serve` uses it so that one command runs the whole system (web server, task worker,
periodic housekeeping). Later pieces add their process to `project.processes`, not here.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType

logger = logging.getLogger(__name__)


@dataclass
class Child:
    """One long-running process the system needs, and how it is doing."""

    name: str
    argv: Sequence[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        # A process group of its own: Ctrl-C reaches the supervisor alone, which stops each child
        # once, gracefully. Otherwise the terminal's SIGINT and our SIGTERM both hit the children
        # (gunicorn then kills its workers: "Perhaps out of memory?").
        self.process = subprocess.Popen(list(self.argv), process_group=0)
        logger.info("started %s (pid %s)", self.name, self.process.pid)

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()


class Supervisor:
    """Run children until SIGINT/SIGTERM; a child that dies is restarted, within limits."""

    # A child crashing more often than this is broken, not unlucky: stop everything loudly.
    MAX_RESTARTS = 5
    RESTART_WINDOW_SECONDS = 60.0
    STOP_GRACE_SECONDS = 10.0

    def __init__(self, children: Sequence[Child]) -> None:
        self.children = list(children)
        self._stopping = False

    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for child in self.children:
                child.start()
            while not self._stopping:
                if not self._watch_once():
                    return 1
                time.sleep(0.5)
            return 0
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        if not self._stopping:  # `uv run` forwards the same Ctrl-C a second time
            logger.info("received signal %s, stopping", signum)
        self._stopping = True

    def _watch_once(self) -> bool:
        now = time.monotonic()
        for child in self.children:
            code = child.exited()
            if code is None or self._stopping:
                continue
            child.restarts = [t for t in child.restarts if now - t < self.RESTART_WINDOW_SECONDS]
            if len(child.restarts) >= self.MAX_RESTARTS:
                logger.error("%s keeps exiting (code %s); stopping the system", child.name, code)
                return False
            logger.warning("%s exited with code %s; restarting", child.name, code)
            child.restarts.append(now)
            child.start()
        return True

    def _stop_all(self) -> None:
        running = [c for c in self.children if c.process and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            child.process.terminate()
        deadline = time.monotonic() + self.STOP_GRACE_SECONDS
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in time; killing it", child.name)
                child.process.kill()
                child.process.wait()
        logger.info("all processes stopped")
