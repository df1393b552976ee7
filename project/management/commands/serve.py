"""`manage.py serve`: the whole system in one command, on the embedded default.

Waits for the database if it is not up yet, applies migrations, makes sure an admin can log in,
collects static files, then supervises the web server, the delivery dispatcher, the task worker
and the periodic housekeeping until Ctrl-C / SIGTERM. A part that crash-loops is restarted with
backoff; only a part exiting with 78 (EX_CONFIG, bad configuration) stops serve.
"""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from project.outage import OutageLog, database_answers, wait_for_database
from project.processes import system_processes
from project.supervisor import EX_CONFIG, Supervisor


class Command(BaseCommand):
    help = "Run the whole system: web (gunicorn), task worker and periodic housekeeping."
    requires_system_checks = "__all__"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        # gthread workers: one process per core runs Python in parallel, and its threads overlap
        # the waits (database, SQLite's write lock, the client) a sync worker spends idle. More
        # processes than cores only queue for the CPU and, on SQLite, for the single writer.
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1)),
            help="gunicorn worker processes (default: $WEB_CONCURRENCY or one per core)",
        )
        # Four threads per process: enough to overlap a webhook's waits; past that they only
        # contend for the GIL (measured in tests/bench/bench_reply.py).
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("WEB_THREADS", "4")),
            help="threads per gunicorn worker (default: $WEB_THREADS or 4)",
        )

    def handle(
        self, *args: Any, host: str, port: int, workers: int, threads: int, **options: Any
    ) -> None:
        self._wait_for_database()
        call_command("migrate", interactive=False, verbosity=0)
        self._ensure_superuser()
        call_command("collectstatic", interactive=False, verbosity=0)
        self._announce_mode(host, port)
        code = Supervisor(
            system_processes(host=host, port=port, web_workers=workers, web_threads=threads)
        ).run()
        if code == EX_CONFIG:
            self.stderr.write(
                "serve stopped: a part exited with 78 (EX_CONFIG), a configuration error that "
                "restarting cannot fix. Its message is above; fix the settings and start again."
            )
        if code:
            raise SystemExit(code)

    def _wait_for_database(self) -> None:
        """A database still starting (or failing over) delays serve; it does not stop it."""
        if database_answers():
            return
        self.stdout.write(
            self.style.WARNING(
                "The database is unavailable; waiting for it before migrating (Ctrl-C stops)."
            )
        )
        self.stdout.flush()
        started = time.monotonic()
        wait_for_database(OutageLog("serve"))
        self.stdout.write(f"The database answered after {time.monotonic() - started:.0f} s.")
        self.stdout.flush()

    def _ensure_superuser(self) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or ""
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        else:
            # The same validators as the admin's password forms: a weak password chosen in the
            # environment is refused before it guards the back office.
            try:
                validate_password(password, user_model(username=username))
            except ValidationError as error:
                raise CommandError(
                    "DJANGO_SUPERUSER_PASSWORD is too weak: " + " ".join(error.messages)
                ) from error
        user_model.objects.create_superuser(username=username, email="", password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    f"Created superuser {username!r} with password {password!r} "
                    "(shown once; change it in the admin)."
                )
            )
        else:
            self.stdout.write(f"Created superuser {username!r} from DJANGO_SUPERUSER_*.")

    def _announce_mode(self, host: str, port: int) -> None:
        if not (settings.WHATSAPP_ACCESS_TOKEN and settings.WHATSAPP_PHONE_NUMBER_ID):
            self.stdout.write(
                self.style.WARNING(
                    "No WhatsApp credentials: outbound messages are recorded, not sent."
                )
            )
        if not settings.WHATSAPP_APP_SECRET:
            self.stdout.write(
                self.style.WARNING("No WHATSAPP_APP_SECRET: the webhook rejects every POST.")
            )
        base = f"http://{host}:{port}"
        self.stdout.write(
            f"Serving on {base}  (admin {base}/admin/, API docs {base}/api/v1/docs). "
            "Ctrl-C stops everything."
        )
        self.stdout.flush()
