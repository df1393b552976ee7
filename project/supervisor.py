"""A small supervisor: start child processes, restart ones that die, stop all on a signal.

`manage.py serve` uses it so that one command runs the whole system (web server, task worker,
periodic housekeeping). Later pieces add their process to `project.processes`, not here.

A child that keeps dying is restarted with exponential backoff up to a cap, like Kubernetes'
CrashLoopBackOff: the healthy children keep running, because a database outage (say) makes one
part crash-loop for a minute and must not take the web server down with it. Only a child that
exits with `EX_CONFIG` (78: bad configuration, waiting cannot fix it) stops the whole system.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Protocol

logger = logging.getLogger(__name__)

# sysexits.h: "configuration error". A child exits with it when restarting cannot help.
EX_CONFIG = 78


@dataclass(frozen=True)
class RestartPolicy:
    """How long to wait before restarting a child that died: first_delay, doubling to max_delay.

    The delay is reset once the child has run for `healthy_after` seconds in one go.
    """

    first_delay: float = 1.0
    max_delay: float = 30.0
    healthy_after: float = 60.0

    def delay(self, failures: int) -> float:
        return min(self.max_delay, self.first_delay * 2 ** max(failures - 1, 0))


class RunningProcess(Protocol):
    pid: int

    def poll(self) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...


def _popen(argv: Sequence[str]) -> RunningProcess:
    # A process group of its own: Ctrl-C reaches the supervisor alone, which stops each child
    # once, gracefully. Otherwise the terminal's SIGINT and our SIGTERM both hit the children
    # (gunicorn then kills its workers: "Perhaps out of memory?").
    return subprocess.Popen(list(argv), process_group=0)


@dataclass
class Child:
    """One long-running process the system needs, and how it is doing."""

    name: str
    argv: Sequence[str]
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    spawn: Callable[[Sequence[str]], RunningProcess] = _popen
    process: RunningProcess | None = None
    started_at: float = 0.0
    failures: int = 0  # consecutive quick deaths; sets the next delay
    restart_at: float | None = None  # when a dead child is due to be started again
    starts: int = 0

    def start(self, now: float) -> None:
        self.process = self.spawn(self.argv)
        self.started_at = now
        self.restart_at = None
        self.starts += 1
        logger.info("started %s (pid %s)", self.name, self.process.pid)

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    """Run children until SIGINT/SIGTERM; a child that dies is restarted after a backoff."""

    STOP_GRACE_SECONDS = 10.0
    TICK_SECONDS = 0.5

    def __init__(
        self,
        children: Sequence[Child],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.children = list(children)
        self._clock = clock
        self._sleep = sleep
        self._stopping = False

    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            return self.loop()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def loop(self) -> int:
        """Start every child and watch them; the exit code of serve (0 after a stop request)."""
        now = self._clock()
        for child in self.children:
            child.start(now)
        while not self._stopping:
            code = self.watch_once()
            if code is not None:
                return code
            self._sleep(self.TICK_SECONDS)
        return 0

    def stop(self) -> None:
        self._stopping = True

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        if not self._stopping:  # `uv run` forwards the same Ctrl-C a second time
            logger.info("received signal %s, stopping", signum)
        self.stop()

    def watch_once(self) -> int | None:
        """One look at every child: schedule restarts, start the due ones. An exit code stops."""
        now = self._clock()
        for child in self.children:
            if self._stopping:
                return None
            if child.process is None:
                if child.restart_at is not None and now >= child.restart_at:
                    child.start(now)
                continue
            code = child.exited()
            if code is None:
                if child.failures and now - child.started_at >= child.policy.healthy_after:
                    logger.info("%s has run well for a while; restart delay reset", child.name)
                    child.failures = 0
                continue
            if code == EX_CONFIG:
                logger.error(
                    "%s exited with code 78 (EX_CONFIG): its configuration is wrong and "
                    "restarting cannot fix it; stopping the system. Fix the settings and start "
                    "serve again.",
                    child.name,
                )
                return EX_CONFIG
            self._schedule_restart(child, code, now)
        return None

    def _schedule_restart(self, child: Child, code: int, now: float) -> None:
        if now - child.started_at >= child.policy.healthy_after:
            child.failures = 0  # it died after a good run: start again quickly
        child.failures += 1
        delay = child.policy.delay(child.failures)
        child.process = None
        child.restart_at = now + delay
        logger.warning(
            "%s exited with code %s; restarting in %.0f s (%s quick exit%s in a row)",
            child.name,
            code,
            delay,
            child.failures,
            "" if child.failures == 1 else "s",
        )

    def _stop_all(self) -> None:
        running = [c for c in self.children if c.running()]
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
