"""`manage.py run_worker`: django-tasks-db's `db_worker` that rides out a database outage.

The third-party worker re-raises every database error but "locked", so each failover killed it
(and, under `serve`, the supervisor soon gave up). This one waits for the database with a capped
backoff, logs the outage once and the return once, and carries on with the same pid. A thread
beats the worker's heartbeat (`/healthz?detail=1`), so a long broadcast does not look stale.
Same options as `db_worker` (`--reload` is accepted and ignored: a supervisor restarts it).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError, SystemCheckError
from django_tasks_db.management.commands import db_worker

from project.heartbeats import WORKER, HeartbeatThread
from project.outage import UNAVAILABLE, OutageLog, backoff_delays, wait_for_database
from project.supervisor import EX_CONFIG

logger = logging.getLogger(__name__)


class ResilientWorker(db_worker.Worker):
    """The library's loop, re-entered after the database comes back instead of exiting."""

    def run(self) -> None:
        outage = OutageLog("task worker")
        relapses = backoff_delays()
        while self.running:
            try:
                super().run()
                return  # --batch or --max-tasks finished
            except UNAVAILABLE as error:
                # Failing again right after the return (the probe answers, real work does not,
                # as while a failover settles): pause, growing to the cap, never spin.
                if outage.relapsed_recently():
                    time.sleep(next(relapses))
                else:
                    relapses = backoff_delays()
                outage.failed(error)
            # A signal during the wait exits as it does while the library's loop sleeps.
            wait_for_database(outage, keep_waiting=lambda: self.running)
            self.startup_delay = False


class Command(db_worker.Command):
    help = "Run the task worker (django-tasks-db), waiting out database outages."

    def execute(self, *args: Any, **options: Any) -> Any:
        # Bad configuration cannot be fixed by restarting: exit 78 so `serve` and systemd
        # (RestartPreventExitStatus=78) stop instead of looping.
        try:
            return super().execute(*args, **options)
        except SystemCheckError as error:
            error.returncode = EX_CONFIG
            raise
        except ImproperlyConfigured as error:
            raise CommandError(f"configuration error: {error}", returncode=EX_CONFIG) from error

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options: Any,
    ) -> None:
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ResilientWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
        )
        heartbeat = HeartbeatThread(WORKER)
        heartbeat.start()
        worker.configure_signals()
        try:
            worker.run()
        finally:
            heartbeat.stop()
