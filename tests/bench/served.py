"""The whole system as `manage.py serve` runs it, for the reply and launch-night benchmarks.

A scratch database (SQLite file or PostgreSQL), one open raffle, the fake Graph API in this
process (answering after `latency` seconds, as Meta does over a real network), `serve` with its
own defaults (DEBUG off, HTTPS redirect off as behind a TLS proxy), and buyers that post signed
webhooks and wait for the bot's answer to reach the fake Graph API.

Every figure is measured from outside: a reply's wait runs from the start of the webhook POST
until the fake Graph API *receives* the bot's first message to that buyer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.bench.bench_webhook import _free_port, _open_raffle  # noqa: E402
from tests.bench.common import scratch_database  # noqa: E402
from tests.support.fake_graph import FakeGraph, RecordedRequest  # noqa: E402
from whatsapp import simulator  # noqa: E402

SECRET = "bench-app-secret"
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/postgres"


class WatchedGraph(FakeGraph):
    """The fake Graph API, telling the driver the moment each message to a buyer arrives."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_message: Callable[[str, float, dict[str, Any]], None] = lambda *a: None
        self.on_accepted: Callable[[str], None] = lambda wamid: None
        self.arrivals: list[float] = []

    def _record(self, request: RecordedRequest) -> None:
        # Only what the benchmark needs: the full request log would grow for 10,000 sends.
        if request.method == "POST" and request.path.endswith("/messages"):
            body = json.loads(request.body)
            self.arrivals.append(request.at)
            if body.get("to"):
                self.on_message(str(body["to"]), request.at, body)

    def _new_wamid(self) -> str:
        wamid = super()._new_wamid()
        self.on_accepted(wamid)
        return wamid


@dataclass
class Served:
    """`with Served(db="sqlite", latency=0.15) as system:` ... system.base_url, system.graph."""

    db: str = "sqlite"
    pg_url: str = PG_DEFAULT
    latency: float = 0.15
    messages_per_second: int = 1000
    raffle_numbers: int = 10_000
    extra_env: dict[str, str] = field(default_factory=dict)
    graph: WatchedGraph = field(init=False)
    base_url: str = field(init=False, default="")
    env: dict[str, str] = field(init=False, default_factory=dict)
    _server: subprocess.Popen | None = field(init=False, default=None)
    _drop: Callable[[], None] | None = field(init=False, default=None)
    _log: Any = field(init=False, default=None)

    def __enter__(self) -> Served:
        url, self._drop = scratch_database(self.db, self.pg_url, prefix="bench-served")
        self.graph = WatchedGraph(phone_number_id=simulator.DEFAULT_PHONE_NUMBER_ID).start()
        self.graph.latency = self.latency
        port = _free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "ENV_FILE": "/nonexistent/.env",
            "DEBUG": "false",
            "SECRET_KEY": "bench-secret-key-" + "x" * 40,
            "WHATSAPP_APP_SECRET": SECRET,
            "WHATSAPP_VERIFY_TOKEN": "bench",
            "WHATSAPP_PHONE_NUMBER_ID": self.graph.phone_number_id,
            "WHATSAPP_ACCESS_TOKEN": self.graph.access_token,
            "WHATSAPP_GRAPH_URL": self.graph.base_url,
            "WHATSAPP_MESSAGES_PER_SECOND": str(self.messages_per_second),
            "WHATSAPP_INBOUND_HANDLER": "conversation.handler.handle_inbound",
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
            "DJANGO_SUPERUSER_PASSWORD": "bench-Passw0rd-long-enough",
            "PYTHONPATH": str(REPO),
            **self.extra_env,
        }
        manage = [sys.executable, str(REPO / "manage.py")]
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=REPO, env=self.env, check=True)
        _open_raffle(self.env, self.raffle_numbers)
        self._log = tempfile.NamedTemporaryFile(prefix="bench-serve-", suffix=".log", delete=False)
        self._server = subprocess.Popen(
            [*manage, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        time.sleep(1.0)  # the dispatcher is listening
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server and self._server.poll() is None:
            self._server.send_signal(signal.SIGTERM)
            try:
                self._server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._server.kill()
        self.graph.stop()
        if self._drop:
            self._drop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self._server is not None
            if self._server.poll() is not None:
                raise SystemExit(f"serve exited before it was ready; see {self._log.name}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit("serve did not become ready within 90 s")

    def cpu_breakdown(self) -> dict[str, float]:
        assert self._server is not None
        return cpu_by_process(self._server.pid)

    def server_cpu(self) -> float:
        """CPU seconds (user + system) of `serve` and every process under it, alive now."""
        assert self._server is not None
        return tree_cpu(self._server.pid)

    def query(self, code: str) -> Any:
        """Run Django code against the system's database; its last line printed, as JSON."""
        script = f"import django, json; django.setup()\n{code}"
        out = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])


def tree_cpu(root: int) -> float:
    return sum(cpu_by_process(root).values())


_LABELS = [
    ("gunicorn", "web"),
    ("deliver_outbox", "delivery"),
    ("db_worker", "task-worker"),
    ("run_periodic", "periodic"),
    (" serve ", "serve"),
]


def cpu_by_process(root: int) -> dict[str, float]:
    """CPU seconds of each live process under `root`, by a short name (for the breakdown)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        parent[pid] = int(fields[1])
        cpu[pid] = int(fields[11]) + int(fields[12])
    out: dict[str, float] = {}
    for pid in cpu:
        p = pid
        while p and p != root:
            p = parent.get(p, 0)
        if p != root:
            continue
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = " ".join(a.decode() for a in argv)
        name = next((label for key, label in _LABELS if key in words), "other")
        out[name] = out.get(name, 0.0) + cpu[pid] / ticks
    return out


# --- buyers -----------------------------------------------------------------------------------
class Inboxes:
    """Messages the fake Graph API received, per buyer, handed to the asyncio driver."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queues: dict[str, asyncio.Queue] = {}

    def queue(self, wa_id: str) -> asyncio.Queue:
        return self.queues.setdefault(wa_id, asyncio.Queue())

    def arrived(self, wa_id: str, at: float, body: dict[str, Any]) -> None:
        # Called on the fake Graph API's threads; after the run, nobody listens any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.queue(wa_id).put_nowait, (at, body))


@dataclass
class Tally:
    answer_waits: list[float] = field(default_factory=list)
    # The part of each wait after the webhook had answered: the delivery path's own share.
    after_webhook: list[float] = field(default_factory=list)
    webhook_latencies: list[float] = field(default_factory=list)
    non_200: int = 0
    unanswered: int = 0
    done: int = 0
    turns: int = 0


async def post(client: httpx.AsyncClient, url: str, payload: dict[str, Any], tally: Tally) -> float:
    """POST a signed webhook; returns when it started (wall clock, as the fake Graph records)."""
    body = simulator.encode(payload)
    headers = simulator.signed_headers(body, SECRET)
    started, clock = time.time(), time.perf_counter()
    for attempt in range(3):
        try:
            response = await client.post(url, content=body, headers=headers)
            break
        except httpx.TransportError:  # a kept-alive connection the server closed: as Meta does
            if attempt == 2:
                raise
            await asyncio.sleep(0.2)
    tally.webhook_latencies.append(time.perf_counter() - clock)
    if response.status_code != 200:
        tally.non_200 += 1
    return started


async def answer(
    inbox: asyncio.Queue, started: float, tally: Tally, *, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The bot's answer to a POST started at `started`: the first message times the wait."""
    try:
        at, body = await asyncio.wait_for(inbox.get(), timeout=timeout)
    except TimeoutError:
        tally.unanswered += 1
        return []
    tally.answer_waits.append(max(0.0, at - started))
    tally.after_webhook.append(max(0.0, at - started - tally.webhook_latencies[-1]))
    return [body]


def drain(inbox: asyncio.Queue) -> list[dict[str, Any]]:
    out = []
    while not inbox.empty():
        out.append(inbox.get_nowait()[1])
    return out


def options(body: dict[str, Any]) -> list[str]:
    inter = body.get("interactive") or {}
    action = inter.get("action") or {}
    ids = [b["reply"]["id"] for b in action.get("buttons", [])]
    ids += [r["id"] for s in action.get("sections", []) for r in s.get("rows", [])]
    return ids


def text_of(body: dict[str, Any]) -> str:
    if body.get("type") == "text":
        return body["text"]["body"]
    return ((body.get("interactive") or {}).get("body") or {}).get("text", "")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def tap_payload(wa_id: str, body: dict[str, Any], reply_id: str) -> dict[str, Any]:
    if (body.get("interactive") or {}).get("type") == "list":
        return simulator.list_reply_payload(wa_id, reply_id, reply_id)
    return simulator.button_reply_payload(wa_id, reply_id, reply_id)


def rng_for(n: int) -> random.Random:
    return random.Random(1000 + n)


def run_threads(target: Callable[[], None], n: int) -> None:
    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
