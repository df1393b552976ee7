"""`manage.py serve` on a fresh PostgreSQL database reached through a cuttable proxy.

Used by the database-outage test and benchmark: the fake Graph API records what is delivered,
the proxy (`tests.support.db_proxy`) fakes the outage, and the test talks to the database
directly (not through the proxy) to look at rows.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.support.db_proxy import CuttableProxy
from tests.support.fake_graph import FakeGraph
from whatsapp.simulator import DEFAULT_PHONE_NUMBER_ID, encode, signed_headers

REPO = Path(__file__).resolve().parent.parent.parent
APP_SECRET = "outage-app-secret"


def postgresql_reachable(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        psycopg.connect(f"postgresql://postgres@{host}:{port}/postgres", connect_timeout=2)
    except psycopg.Error:
        return False
    return True


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OutageStack:
    def __init__(
        self,
        workdir: Path,
        *,
        pg_host: str = "127.0.0.1",
        pg_port: int = 5432,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        """PostgreSQL at pg_host:pg_port, user postgres, trust auth (as in CI)."""
        self.workdir = workdir
        self.pg_host, self.pg_port = pg_host, pg_port
        self.db_name = f"outage_{os.getpid()}_{secrets.token_hex(3)}"
        self.graph = FakeGraph(access_token="outage-token", phone_number_id=DEFAULT_PHONE_NUMBER_ID)
        self.proxy = CuttableProxy(pg_host, pg_port)
        self.port = _free_port()
        self.extra_env = extra_env or {}
        self.server: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "serve.log"

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self, *, database_down_for: float = 0.0) -> OutageStack:
        """Launch serve and wait until it is healthy; `database_down_for`: the database is cut
        away (refused) for that long from the launch on."""
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.graph.start()
        self.proxy.start()
        if database_down_for:
            self.proxy.cut("reset")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WHATSAPP_"))},
            "ENV_FILE": str(self.workdir / "no.env"),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.proxy.port}/{self.db_name}",
            "STATIC_ROOT": str(self.workdir / "static"),
            "PRIVATE_MEDIA_ROOT": str(self.workdir / "media"),
            "WEB_CONCURRENCY": "2",
            "DJANGO_SUPERUSER_PASSWORD": "outage-" + secrets.token_hex(8),
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_ACCESS_TOKEN": self.graph.access_token,
            "WHATSAPP_PHONE_NUMBER_ID": DEFAULT_PHONE_NUMBER_ID,
            "WHATSAPP_GRAPH_URL": self.graph.base_url,
            "HEARTBEAT_SECONDS": "1",
            # What the real kernel would do on a dropped connection; the proxy mimics it.
            "DATABASE_KEEPALIVES_IDLE": "4",
            "DATABASE_CONNECT_TIMEOUT": "3",
            **self.extra_env,
        }
        env.pop("DEBUG", None)
        env.pop("SECRET_KEY", None)
        self._log = self.log_path.open("wb")
        self.server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(self.port)],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if database_down_for:
            time.sleep(database_down_for)
            self.proxy.restore()
        self.wait_health(200, timeout=90)
        return self

    def stop(self) -> int | None:
        code = None
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                code = self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                code = self.server.wait()
        self.proxy.stop()
        self.graph.stop()
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        return code

    def __enter__(self) -> OutageStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- looking at it ------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def health(self, detail: bool = False) -> httpx.Response | None:
        try:
            return httpx.get(f"{self.base}/healthz" + ("?detail=1" if detail else ""), timeout=10)
        except httpx.HTTPError:
            return None

    def wait_health(self, status: int, *, timeout: float) -> float:
        """Seconds until /healthz answered `status`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            assert self.server is not None
            if self.server.poll() is not None:
                raise AssertionError(f"serve exited ({self.server.returncode}):\n{self.log()}")
            response = self.health()
            if response is not None and response.status_code == status:
                return time.monotonic() - started
            time.sleep(0.3)
        raise AssertionError(f"/healthz never answered {status}:\n{self.log()[-4000:]}")

    def children(self) -> dict[str, int]:
        """serve's children by role (worker, periodic, web) and pid."""
        assert self.server is not None
        found: dict[str, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) != self.server.pid:
                continue
            for role in ("run_worker", "run_periodic", "gunicorn"):
                if role in cmdline:
                    found[role] = int(entry.name)
        return found

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Straight to PostgreSQL, not through the proxy."""
        url = f"postgresql://postgres@{self.pg_host}:{self.pg_port}/{self.db_name}"
        with psycopg.connect(url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def queue_reply(self, *, wa_id: str, body: str, due_in: float) -> None:
        self.queue_replies({wa_id: body}, due_in=due_in)

    def queue_replies(self, replies: dict[str, str], *, due_in: float) -> None:
        """Replies (wa_id -> text) in the outbox, due `due_in` seconds from now, written straight
        to PostgreSQL (not through the proxy) by `manage.py shell`."""
        code = (
            "from datetime import timedelta\n"
            "from django.db import transaction\n"
            "from django.utils import timezone\n"
            "from whatsapp.models import Contact, OutboundMessage\n"
            "from whatsapp.outgoing import TextMessage\n"
            "from whatsapp.services.outbox import queue_message\n"
            "with transaction.atomic():\n"
            f"    for wa_id, body in {replies!r}.items():\n"
            "        c, _ = Contact.objects.get_or_create(wa_id=wa_id)\n"
            "        row = queue_message(contact=c, message=TextMessage(body=body))\n"
            "        OutboundMessage.objects.filter(pk=row.pk).update(\n"
            f"            next_attempt_at=timezone.now() + timedelta(seconds={due_in}))\n"
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WHATSAPP_"))},
            "ENV_FILE": str(self.workdir / "no.env"),
            "DATABASE_URL": f"postgres://postgres@{self.pg_host}:{self.pg_port}/{self.db_name}",
        }
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )

    def delivered(self, body: str) -> int:
        return sum(1 for sent in self.graph.sent() if sent.get("text", {}).get("body") == body)

    def post_webhook(self, payload: dict[str, Any]) -> int:
        body = encode(payload)
        try:
            response = httpx.post(
                f"{self.base}/whatsapp/webhook/",
                content=body,
                headers=signed_headers(body, APP_SECRET),
                timeout=40,
            )
        except httpx.HTTPError:
            return 0
        return response.status_code

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(
            f"postgresql://postgres@{self.pg_host}:{self.pg_port}/postgres", autocommit=True
        )
