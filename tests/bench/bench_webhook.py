"""Webhook throughput against gunicorn on 127.0.0.1, next to a bare Django view in the same run.

    uv run python tests/bench/bench_webhook.py                      # SQLite and PostgreSQL
    uv run python tests/bench/bench_webhook.py --db sqlite --requests 500
    uv run python tests/bench/bench_webhook.py --handler conversation.handler.handle_inbound

Each webhook POST is signed and carries one text message with a fresh id (from a pool of buyers);
the bare view returns 200 through the same middleware stack: the framework's ceiling on this
machine. With --handler the bot answers from the real menu: one raffle of --raffle-numbers
numbers is open (0 opens none, and the bot only says that nothing is on sale).

Prints messages/s, p50 and p99 for both, and the ratio (target >= 25 %, p99 < 250 ms at 8
concurrent clients). Bounded in requests and seconds; binds 127.0.0.1 only. Not collected by
pytest (the file name does not start with test_). Results also go to bench-results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SECRET = "bench-app-secret"
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/postgres"


# --- served by gunicorn: the project's URLs plus one bare view --------------------------------
def _bare(request):  # pragma: no cover - runs inside gunicorn
    from django.http import HttpResponse

    return HttpResponse(b"ok", content_type="text/plain")


def __getattr__(name: str) -> Any:
    """Lazy, so importing this module needs no Django (gunicorn imports it before setup)."""
    if name == "urlpatterns":
        from django.urls import include, path

        return [path("bench/bare/", _bare), path("", include("project.urls"))]
    if name == "application":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
        from django.conf import settings
        from django.core.wsgi import get_wsgi_application

        app = get_wsgi_application()
        settings.ROOT_URLCONF = __name__  # bench only: adds /bench/bare/ beside the real URLs
        return app
    raise AttributeError(name)


# --- the driver -------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(database_url: str, handler: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "ENV_FILE": "/nonexistent/.env",
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_VERIFY_TOKEN": "bench",
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
        "WHATSAPP_ACCESS_TOKEN": "",
        "WHATSAPP_GRAPH_URL": "http://127.0.0.1:9/v23.0",  # never reached: no credentials
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    # Empty means store only: the settings' default would otherwise answer with the bot.
    env["WHATSAPP_INBOUND_HANDLER"] = handler or ""
    return env


def _bodies(n: int, run: str) -> list[tuple[bytes, dict[str, str]]]:
    sys.path.insert(0, str(REPO))
    from whatsapp.simulator import encode, signed_headers, text_message_payload

    out = []
    for i in range(n):
        payload = text_message_payload(
            f"54911{(i % 50):08d}",
            f"hola {i}",
            name=f"Buyer {i % 50}",
            message_id=f"wamid.BENCH.{run}.{i}",
        )
        body = encode(payload)
        out.append((body, signed_headers(body, SECRET)))
    return out


def _drive(
    url: str, requests: list[tuple[bytes, dict[str, str]]] | int, concurrency: int, max_s: float
):
    """POST (or GET when `requests` is a count) from `concurrency` keep-alive clients."""
    import httpx

    total = requests if isinstance(requests, int) else len(requests)
    latencies: list[float] = []
    failures: list[str] = []
    counter = iter(range(total))
    lock = threading.Lock()
    deadline = time.monotonic() + max_s

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                start = time.perf_counter()
                if isinstance(requests, int):
                    response = http.get(url)
                else:
                    body, headers = requests[i]
                    response = http.post(url, content=body, headers=headers)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:100]}")

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "failures": len(failures),
        "first_failures": failures[:3],
        "per_second": round(len(latencies) / wall, 1) if wall else 0.0,
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None,
        "wall_s": round(wall, 2),
        "latencies_ms": [round(x * 1000, 1) for x in latencies],
    }


def _bench_one(db: str, args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    drop_pg = None
    if db == "sqlite":
        database_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    else:
        import psycopg

        name = f"bench_webhook_{os.getpid()}"
        base = args.pg_url.rsplit("/", 1)[0]
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        database_url = f"{base}/{name}"

        def drop_pg() -> None:
            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    env = _env(database_url, args.handler)
    (tmp / "static").mkdir()
    env["STATIC_ROOT"] = str(tmp / "static")
    server = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=REPO,
            env=env,
            check=True,
        )
        if args.handler and args.raffle_numbers:
            _open_raffle(env, args.raffle_numbers)
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "tests.bench.bench_webhook:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--worker-class",
                "gthread",
                "--log-level",
                "warning",
                "--access-logfile",
                "-" if args.verbose else "/dev/null",
            ],
            cwd=REPO,
            env=env,
        )
        base_url = f"http://127.0.0.1:{port}"
        _wait_ready(f"{base_url}/healthz", server)

        bare_url = f"{base_url}/bench/bare/"
        hook_url = f"{base_url}/whatsapp/webhook/"
        _drive(bare_url, 50, args.concurrency, 30)  # warm up every worker and thread
        _drive(hook_url, _bodies(50, f"{db}-warm"), args.concurrency, 30)

        bodies = _bodies(args.requests, db)
        bare = _drive_counting_cpu(server.pid, bare_url, args.requests, args)
        hook = _drive_counting_cpu(server.pid, hook_url, bodies, args)
        stored = _count_messages(env)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if drop_pg:
            drop_pg()
        shutil.rmtree(tmp, ignore_errors=True)  # the SQLite file, its WAL and static files
    ratio = round(100 * hook["per_second"] / bare["per_second"], 1) if bare["per_second"] else 0
    return {
        "db": db,
        "bare": bare,
        "webhook": hook,
        "ratio_pct": ratio,
        "messages_stored": stored,
        "handler": args.handler,
    }


def _drive_counting_cpu(
    server_pid: int,
    url: str,
    requests: list[tuple[bytes, dict[str, str]]] | int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """`_drive`'s figures plus the CPU milliseconds each request cost the server (gunicorn's
    workers) and this driver. When the CPU is the limit (two cores serve both), the webhook's
    share of the bare view is about the ratio of their per-request sums."""
    server_before, driver_before = _cpu_of_children(server_pid), time.process_time()
    figures = _drive(url, requests, args.concurrency, args.max_seconds)
    del figures["latencies_ms"]  # the percentiles are enough for the report
    server_s = _cpu_of_children(server_pid) - server_before
    driver_s = time.process_time() - driver_before
    done = max(figures["requests"], 1)
    figures["server_cpu_ms"] = round(server_s * 1000 / done, 2)
    figures["driver_cpu_ms"] = round(driver_s * 1000 / done, 2)
    return figures


def _cpu_of_children(parent_pid: int) -> float:
    """User + system seconds of `parent_pid`'s live children (Linux /proc; 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == parent_pid:  # the parent pid follows the state
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _wait_ready(url: str, server: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited before it was ready")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not become ready within 60 s")


def _open_raffle(env: dict[str, str], numbers: int) -> None:
    # generate_tickets here too: a large range would otherwise wait for the task worker.
    code = (
        "import django; django.setup(); from decimal import Decimal; "
        "from raffles.services import create_raffle, generate_tickets; "
        "raffle = create_raffle(title='Bench Raffle', ticket_price=Decimal('5.00'), "
        f"min_number=0, max_number={numbers - 1}, is_active=True, "
        "payment_instructions='Transfer to Bank 123-456.'); "
        "generate_tickets(raffle=raffle)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)


def _count_messages(env: dict[str, str]) -> int:
    code = (
        "import django; django.setup(); from whatsapp.models import InboundMessage; "
        "print(InboundMessage.objects.count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", PG_DEFAULT))
    parser.add_argument("--requests", type=int, default=1000, help="per target (max 20000)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=90, help="per target")
    parser.add_argument(
        "--handler", default=None, help="WHATSAPP_INBOUND_HANDLER (default: store only)"
    )
    parser.add_argument(
        "--raffle-numbers", type=int, default=1000, help="numbers of the open raffle (0: none)"
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    args.requests = min(args.requests, 20_000)

    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = [_bench_one(db, args) for db in dbs]
    print(
        f"\nwebhook benchmark: {args.requests} requests per target, {args.concurrency} clients, "
        f"gunicorn {args.workers} workers x {args.threads} threads, handler={args.handler}"
        + (
            f", one open raffle of {args.raffle_numbers} numbers"
            if args.handler and args.raffle_numbers
            else ""
        )
    )
    print(
        f"{'db':9} {'target':8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'fail':>5}"
        f" {'server cpu ms/req':>18} {'driver cpu ms/req':>18}"
    )
    for r in results:
        for target in ("bare", "webhook"):
            f = r[target]
            print(
                f"{r['db']:9} {target:8} {f['per_second']:8} {f['p50_ms']:8} {f['p99_ms']:8} "
                f"{f['failures']:5} {f['server_cpu_ms']:18} {f['driver_cpu_ms']:18}"
            )
        print(
            f"{r['db']:9} webhook = {r['ratio_pct']} % of the bare view; "
            f"{r['messages_stored']} messages stored"
        )
    out_dir = REPO / "bench-results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "bench_webhook.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
