"""The whole system as separate processes on 127.0.0.1, started and stopped by the load harness.

A fresh database (a SQLite file, or a uniquely named PostgreSQL database that is dropped
afterwards), the fake Graph API (`tests.e2e.graph_server`), gunicorn serving `project.wsgi`,
the delivery dispatcher (`deliver_outbox`, the outbox's fast path), the task worker, the outbox
sweeper (`send_due_messages`) and `expire_reservations` in loops. Every process runs in its own
session so stopping it stops its children; all of them are stopped (TERM, then KILL) by `stop()`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

E2E_DIR = Path(__file__).resolve().parent
REPO = E2E_DIR.parent.parent
DJANGOSIDE = E2E_DIR / "djangoside.py"
PHONE_NUMBER_ID = "106540352242922"  # whatsapp.simulator.DEFAULT_PHONE_NUMBER_ID
ACCESS_TOKEN = "e2e-access-token"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SystemConfig:
    db: str = "sqlite"  # or "postgres"
    workdir: Path = field(default_factory=lambda: Path("/tmp"))
    app_dir: Path = REPO  # the checkout whose code runs (another worktree works too)
    web_workers: int = 4
    web_threads: int = 1
    task_workers: int = 1
    pg_url: str = DEFAULT_PG
    ttl_minutes: int = 1
    sweeper_every: float = 1.0
    expire_every: float = 2.0
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 8.0
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path


class System:
    def __init__(self, config: SystemConfig) -> None:
        self.config = config
        self.procs: list[Proc] = []
        self.app_secret = secrets.token_hex(16)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.database_url = ""
        self.pg_name = ""
        self.graph_port = 0
        self.control_url = ""
        self.setup_info: dict[str, Any] = {}
        self.env: dict[str, str] = {}

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> System:
        self.config.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._create_database()
            self._start_graph()
            self.env = self._environment()
            self.setup_info = json.loads(self._run_djangoside("setup").strip().splitlines()[-1])
            self._start_web()
            # The delivery dispatcher, as `serve` runs it: replies leave the moment they commit.
            self._spawn("dispatcher", [sys.executable, "manage.py", "deliver_outbox"])
            for n in range(self.config.task_workers):
                self._spawn(
                    f"db_worker-{n}",
                    [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.2"],
                )
            self._spawn(
                "sweeper",
                self._djangoside_argv(
                    "loop", "--every", str(self.config.sweeper_every), "send_due_messages"
                ),
            )
            self._spawn(
                "expirer",
                self._djangoside_argv(
                    "loop", "--every", str(self.config.expire_every), "expire_reservations"
                ),
            )
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.popen.poll() is None:
                _signal_group(proc.popen, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc.popen, signal.SIGKILL)
                proc.popen.wait(timeout=5)
        self.procs.clear()
        self._drop_database()

    def __enter__(self) -> System:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the harness needs -------------------------------------------------------------------
    @property
    def token(self) -> str:
        return self.setup_info["token"]

    @property
    def raffles(self) -> list[dict[str, Any]]:
        return self.setup_info["raffles"]

    def web_worker_pids(self) -> list[int]:
        master = next(p for p in self.procs if p.name == "web").popen.pid
        return _children(master)

    def kill_web_worker(self) -> int | None:
        """SIGKILL one gunicorn worker (the master starts another)."""
        pids = self.web_worker_pids()
        if not pids:
            return None
        pid = pids[len(pids) // 2]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop_process(self, name: str) -> None:
        """Stop one of the processes (TERM, then KILL after 15 s) and forget it."""
        for proc in [p for p in self.procs if p.name == name]:
            _signal_group(proc.popen, signal.SIGTERM)
            try:
                proc.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _signal_group(proc.popen, signal.SIGKILL)
                proc.popen.wait(timeout=5)
            self.procs.remove(proc)

    def process_names(self) -> list[str]:
        return [p.name for p in self.procs]

    def server_latencies(self, path_prefix: str = "/whatsapp/webhook") -> list[float]:
        """Seconds gunicorn spent on each POST to `path_prefix` (from the access log)."""
        log = self.config.workdir / "access.log"
        found = []
        for line in log.read_text(errors="replace").splitlines() if log.is_file() else []:
            parts = line.split()
            if len(parts) == 4 and parts[0] == "POST" and parts[1].startswith(path_prefix):
                found.append(int(parts[3]) / 1_000_000)
        return found

    def start_fallback_operator(self) -> None:
        """Confirm proofs through the services while the internal API is not deployed."""
        self._spawn("operator", self._djangoside_argv("operator", "--every", "1.5"))

    def check(self, evidence: dict[str, Any]) -> dict[str, Any]:
        path = self.config.workdir / "evidence.json"
        path.write_text(json.dumps(evidence))
        out = self._run_djangoside("check", "--evidence", str(path))
        return json.loads(out.strip().splitlines()[-1])

    def outbox_pending(self) -> dict[str, int]:
        out = self._run_djangoside("pending")
        return json.loads(out.strip().splitlines()[-1])

    def crashed(self) -> list[str]:
        """Processes that exited although nobody stopped them."""
        return [p.name for p in self.procs if p.popen.poll() is not None]

    # --- internals ------------------------------------------------------------------------------
    def _create_database(self) -> None:
        if self.config.db == "sqlite":
            path = self.config.workdir / "e2e.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            self.database_url = f"sqlite:///{path}"
            return
        import psycopg

        self.pg_name = f"e2e_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(f"{self.config.pg_url}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.pg_name}"')
        self.database_url = f"{self.config.pg_url}/{self.pg_name}"

    def _drop_database(self) -> None:
        if not self.pg_name:
            return
        import psycopg

        with psycopg.connect(f"{self.config.pg_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        self.pg_name = ""

    def _start_graph(self) -> None:
        ready = self.config.workdir / "graph.json"
        ready.unlink(missing_ok=True)
        self._spawn(
            "graph",
            [
                sys.executable,
                "-m",
                "tests.e2e.graph_server",
                "--access-token",
                ACCESS_TOKEN,
                "--phone-number-id",
                PHONE_NUMBER_ID,
                "--ready-file",
                str(ready),
            ],
            cwd=REPO,
            env={**_clean_env(), "PYTHONPATH": str(REPO)},
        )
        deadline = time.monotonic() + 20
        while not ready.is_file() or not ready.read_text():
            if time.monotonic() > deadline or self.crashed():
                raise RuntimeError("the fake Graph API did not start: " + self._tail("graph"))
            time.sleep(0.05)
        ports = json.loads(ready.read_text())
        self.graph_port = ports["graph_port"]
        self.control_url = f"http://127.0.0.1:{ports['control_port']}"

    def _environment(self) -> dict[str, str]:
        c = self.config
        return {
            **_clean_env(),
            "PYTHONPATH": str(c.app_dir),
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "ENV_FILE": "/nonexistent",
            "DEBUG": "true",
            "SECRET_KEY": "e2e-" + secrets.token_hex(24),
            "DATABASE_URL": self.database_url,
            "WHATSAPP_APP_SECRET": self.app_secret,
            "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_GRAPH_URL": f"http://127.0.0.1:{self.graph_port}/v23.0",
            "WHATSAPP_RETRY_BASE_SECONDS": str(c.retry_base_seconds),
            "WHATSAPP_RETRY_MAX_SECONDS": str(c.retry_max_seconds),
            "RESERVATION_TTL_MINUTES": str(c.ttl_minutes),
            "PRIVATE_MEDIA_ROOT": str(c.workdir / "media"),
            "STATIC_ROOT": str(c.workdir / "static"),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **c.extra_env,
        }

    def _start_web(self) -> None:
        c = self.config
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "project.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(c.web_workers),
            "--graceful-timeout",
            "5",
            "--timeout",
            "60",
            # Server-side time per request, to set beside what the buyers measured.
            "--access-logfile",
            str(c.workdir / "access.log"),
            "--access-logformat",
            "%(m)s %(U)s %(s)s %(D)s",
        ]
        if c.web_threads > 1:
            argv += ["--worker-class", "gthread", "--threads", str(c.web_threads)]
        self._spawn("web", argv)

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "web" in self.crashed():
                raise RuntimeError("gunicorn exited: " + self._tail("web"))
            try:
                healthy = httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
                # Every worker booted, so the first requests measure serving, not imports.
                if healthy and len(self.web_worker_pids()) >= self.config.web_workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the web server did not become healthy: " + self._tail("web"))

    def _djangoside_argv(self, *args: str) -> list[str]:
        return [sys.executable, str(DJANGOSIDE), *args]

    def _run_djangoside(self, *args: str) -> str:
        done = subprocess.run(
            self._djangoside_argv(*args),
            cwd=self.config.app_dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"djangoside {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _spawn(
        self,
        name: str,
        argv: list[str],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Proc:
        log = self.config.workdir / f"{name}.log"
        handle = log.open("w")
        popen = subprocess.Popen(
            argv,
            cwd=cwd or self.config.app_dir,
            env=env or self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def _tail(self, name: str, lines: int = 30) -> str:
        path = self.config.workdir / f"{name}.log"
        if not path.is_file():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _clean_env() -> dict[str, str]:
    """The caller's environment minus anything that would configure the system differently."""
    drop = ("DJANGO_", "WHATSAPP_", "DATABASE_URL", "TEST_DATABASE", "RAFFLE_", "PYTEST")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _signal_group(popen: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, sig)  # its own session: the process and its children only


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (after the parenthesised command name) is the parent pid.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)
