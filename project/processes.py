"""The processes that make up the whole system when `manage.py serve` runs it.

Production runs the same pieces as separate services (see README, "Running in production").
"""

from __future__ import annotations

import os
import sys

from project.supervisor import Child


def system_processes(
    *, host: str, port: int, web_workers: int, web_threads: int = 4
) -> list[Child]:
    manage = [sys.executable, os.path.abspath("manage.py")]
    return [
        Child(
            name="web",
            argv=[
                sys.executable,
                "-m",
                "gunicorn",
                "project.wsgi",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(web_workers),
                # Threads overlap a webhook's waits; see `serve --threads` for the reasons.
                "--worker-class",
                "gthread",
                "--threads",
                str(web_threads),
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "5",
            ],
        ),
        # Sends outbound WhatsApp messages the moment they commit (woken, not polling), many
        # Graph calls at once on WHATSAPP_DELIVERY_THREADS threads over one client.
        Child(name="delivery", argv=[*manage, "deliver_outbox"]),
        # The remaining background tasks (events to n8n, the board, large raffles' numbers...):
        # replies no longer go through it, so one worker polling every half second is plenty.
        # run_worker: db_worker that waits out a database outage instead of exiting.
        Child(name="task-worker", argv=[*manage, "run_worker", "--interval", "0.5"]),
        # The periodic housekeeping of settings.PERIODIC_COMMANDS (expiry, the outbox sweeper...).
        Child(name="periodic", argv=[*manage, "run_periodic"]),
    ]
