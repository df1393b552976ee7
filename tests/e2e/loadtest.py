"""The end-to-end load and fault run: start the system, let buyers loose, break things, check.

    uv run python -m tests.e2e.loadtest --buyers 200 --duration 120 --db sqlite
    uv run python -m tests.e2e.loadtest --buyers 200 --duration 120 --db postgres

Prints the figures (buyers, messages/s, webhook latency, orders completed, double-sells, lost
and duplicated messages, 5xx) and every failed check; exits 1 when a check failed. The p99
target is reported, not enforced: it depends on how busy the machine is. See README.md here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.buyers import (
    Buyer,
    GraphWatcher,
    LoadConfig,
    Stats,
    Webhooks,
    bad_traffic,
    operator_loop,
)
from tests.e2e.system import DEFAULT_PG, REPO, System, SystemConfig

P99_TARGET_MS = 250.0


@dataclass
class RunOptions:
    db: str = "sqlite"
    buyers: int = 40
    duration: float = 40.0
    think: tuple[float, float] = (1.0, 3.0)
    faults: bool = True
    fault_seconds: float = 8.0
    web_workers: int = 4
    web_threads: int = 1
    task_workers: int = 1
    ttl_minutes: int = 1
    min_run_seconds: float = 0.0  # keep draining at least this long after the load started
    drain_timeout: float = 120.0
    duplicate_share: float = 0.10
    abandon_share: float = 0.12
    seed: int = 1
    app_dir: Path = REPO
    workdir: Path | None = None
    pg_url: str = DEFAULT_PG
    debug: bool = True
    events: list[str] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def _control(client: httpx.AsyncClient, system: System, path: str, **body: Any) -> None:
    await client.post(f"{system.control_url}{path}", json=body, timeout=10)


async def _faults(
    system: System, client: httpx.AsyncClient, opts: RunOptions, started: float
) -> None:
    """Graph API 5xx, refused connections, rate limits, and a gunicorn worker SIGKILLed."""
    length = opts.fault_seconds
    plan = [
        (0.25, "graph 500s", "/fail", {"seconds": length, "status": 500, "code": 131000}),
        (0.42, "graph refuses connections", "/refuse", {"seconds": length}),
        (
            0.58,
            "graph rate limit 429/130429",
            "/fail",
            {"seconds": length / 2, "status": 429, "code": 130429},
        ),
        (0.70, "SIGKILL a gunicorn worker", None, {}),
    ]
    for at, name, path, body in plan:
        delay = started + at * opts.duration - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        stamp = f"t={time.monotonic() - started:5.1f}s {name}"
        if path is None:
            pid = system.kill_web_worker()
            stamp += f" (pid {pid})"
        else:
            await _control(client, system, path, **body)
        opts.events.append(stamp)


async def _loop_lag(lags: list[float], stop: asyncio.Event) -> None:
    """How late the harness's own event loop wakes up: client latencies include this much."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.05)
        lags.append(time.perf_counter() - before - 0.05)


async def _load(system: System, opts: RunOptions) -> tuple[Stats, list[dict[str, Any]], float]:
    stats = Stats()
    config = LoadConfig(
        buyers=opts.buyers,
        duration=opts.duration,
        think=opts.think,
        ramp=min(10.0, opts.duration / 6),
        duplicate_share=opts.duplicate_share,
        abandon_share=opts.abandon_share,
        seed=opts.seed,
    )
    limits = httpx.Limits(max_connections=opts.buyers * 2 + 50, max_keepalive_connections=50)
    timeout = httpx.Timeout(30.0, connect=10.0)
    async with (
        httpx.AsyncClient(limits=limits, timeout=timeout) as client,
        httpx.AsyncClient(timeout=timeout) as control,
    ):
        stop = asyncio.Event()
        watcher = GraphWatcher(control, system.control_url)
        webhooks = Webhooks(
            client,
            f"{system.base_url}/whatsapp/webhook/",
            system.app_secret,
            stats,
            duplicate_share=opts.duplicate_share,
        )
        started = time.monotonic()
        deadline = started + opts.duration
        buyers = [
            Buyer(
                n,
                webhooks=webhooks,
                watcher=watcher,
                control=control,
                control_url=system.control_url,
                raffles=system.raffles,
                config=config,
                stats=stats,
                deadline=deadline,
            )
            for n in range(opts.buyers)
        ]
        background = [
            asyncio.create_task(watcher.run(stop)),
        ]
        load_over = asyncio.Event()
        background.append(asyncio.create_task(_loop_lag(stats.loop_lags, load_over)))
        bad = asyncio.create_task(bad_traffic(webhooks, stats, config.bad_traffic_every, load_over))
        operator_stop = asyncio.Event()
        operator = asyncio.create_task(
            operator_loop(control, system.base_url, system.token, stats, operator_stop)
        )
        faults = None
        if opts.faults:
            faults = asyncio.create_task(_faults(system, control, opts, started))
        buyer_tasks = [asyncio.create_task(b.run()) for b in buyers]

        # The operator API may not be deployed yet: confirm through the services instead.
        while not operator.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        if operator.done() and operator.result() is False:
            opts.events.append("internal API missing: operator confirms through the services")
            system.start_fallback_operator()

        done, pending = await asyncio.wait(buyer_tasks, timeout=opts.duration + 60)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                opts.events.append(f"buyer crashed: {task.exception()!r}")
        load_seconds = time.monotonic() - started
        opts.crashed.extend(n for n in system.crashed() if n != "operator")
        operator_stop.set()
        load_over.set()
        await asyncio.gather(bad, return_exceptions=True)
        if faults is not None:
            faults.cancel()
        await asyncio.gather(operator, return_exceptions=True)
        await asyncio.gather(*webhooks.background, return_exceptions=True)

        if "operator" in system.process_names():
            await asyncio.to_thread(system.stop_process, "operator")

        # Drain: everything the bot decided to say must reach the (recovered) Graph API. Then
        # stop whatever could decide to say more (web, expiry) and drain again, so the check
        # compares a finished outbox with a finished log.
        drain_started = time.monotonic()
        await _drain(system, opts, until=started + opts.min_run_seconds)
        await asyncio.to_thread(system.stop_process, "web")
        await asyncio.to_thread(system.stop_process, "expirer")
        left = await _drain(system, opts, until=0, past_deadline_too=False)
        opts.events.append(f"drained in {time.monotonic() - drain_started:.1f}s, left: {left}")
        for name in [n for n in system.process_names() if n != "graph"]:
            await asyncio.to_thread(system.stop_process, name)
        stop.set()
        await asyncio.gather(*background, return_exceptions=True)
        await watcher.poll_once()
        return stats, watcher.log, load_seconds


async def _drain(
    system: System, opts: RunOptions, *, until: float, past_deadline_too: bool = True
) -> dict[str, int]:
    """Wait (up to drain_timeout) until nothing is in flight and `until` (monotonic) passed."""
    deadline = time.monotonic() + opts.drain_timeout
    left: dict[str, int] = {}
    while time.monotonic() < deadline:
        left = await asyncio.to_thread(system.outbox_pending)
        if not past_deadline_too:
            left.pop("past_deadline", None)
        if not any(left.values()) and time.monotonic() >= until:
            break
        await asyncio.sleep(1.0)
    return left


def run(opts: RunOptions) -> dict[str, Any]:
    """One full run; returns the report (figures, checks, failures)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix=f"e2e-{opts.db}-"))
    system = System(
        SystemConfig(
            db=opts.db,
            workdir=workdir,
            app_dir=opts.app_dir,
            web_workers=opts.web_workers,
            web_threads=opts.web_threads,
            task_workers=opts.task_workers,
            pg_url=opts.pg_url,
            ttl_minutes=opts.ttl_minutes,
            extra_env={} if opts.debug else {"DEBUG": "false", "SECURE_SSL_REDIRECT": "false"},
        )
    )
    with system:
        stats, graph_log, load_seconds = asyncio.run(_load(system, opts))
        crashed = list(opts.crashed)
        server_ms = [s * 1000 for s in system.server_latencies()]
        checks = system.check(
            {
                "accepted_wamids": sorted(stats.accepted_wamids),
                "rejected_wamids": sorted(stats.rejected_wamids),
                "graph_log": graph_log,
            }
        )
    report = _report(opts, stats, checks, load_seconds, crashed, workdir)
    report["figures"]["server_p50_ms"] = round(percentile(server_ms, 50), 1)
    report["figures"]["server_p99_ms"] = round(percentile(server_ms, 99), 1)
    return report


def _report(
    opts: RunOptions,
    stats: Stats,
    checks: dict[str, Any],
    load_seconds: float,
    crashed: list[str],
    workdir: Path,
) -> dict[str, Any]:
    latencies_ms = [s * 1000 for s in stats.latencies]
    posts = sum(stats.statuses.values())
    figures = {
        "database": opts.db,
        "buyers": opts.buyers,
        "load_seconds": round(load_seconds, 1),
        "buyer_messages": stats.messages_sent,
        "webhook_posts": posts,
        "messages_per_second": round(posts / load_seconds, 1) if load_seconds else 0,
        "p50_ms": round(percentile(latencies_ms, 50), 1),
        "p95_ms": round(percentile(latencies_ms, 95), 1),
        "p99_ms": round(percentile(latencies_ms, 99), 1),
        "max_ms": round(max(latencies_ms, default=0), 1),
        "mean_ms": round(statistics.fmean(latencies_ms), 1) if latencies_ms else 0,
        "harness_loop_lag_p99_ms": round(percentile(stats.loop_lags, 99) * 1000, 1),
        "reply_wait_p50_s": round(percentile(stats.reply_waits, 50), 2),
        "reply_wait_p99_s": round(percentile(stats.reply_waits, 99), 2),
        "orders_completed": checks["orders_paid"],
        "orders": checks["orders"],
        "operator_confirmed": stats.operator_confirmed,
        "double_sells": checks["double_sells"],
        "double_reservations": checks["double_reservations"],
        "outbound_rows": checks["outbound"]["rows"],
        "graph_accepted": checks["outbound"]["graph_accepted"],
        "graph_refused_or_failed": checks["outbound"]["graph_refused_or_failed"],
        "lost_messages": checks["outbound"]["lost"],
        "duplicate_messages": checks["outbound"]["duplicates"],
        "http_5xx": len(stats.five_xx),
        "connection_errors": stats.connection_errors,
        "duplicate_deliveries": stats.duplicates_sent,
        "bad_requests_rejected": sum(stats.bad_traffic.values()),
        "unanswered": stats.unanswered,
        "inbound_stored": checks["inbound"]["stored"],
        "proof_files": checks["media"],
    }
    failures = []

    def expect(ok: bool, what: str) -> None:
        if not ok:
            failures.append(what)

    expect(not checks["inventory_violations"], f"inventory: {checks['inventory_violations']}")
    expect(checks["double_sells"] == 0, "a ticket was sold twice")
    expect(checks["double_reservations"] == 0, "a ticket was held by two orders")
    expect(checks["live_orders_past_deadline"] == 0, "live orders past their deadline remain")
    inbound = checks["inbound"]
    expect(inbound["accepted_not_stored_count"] == 0, f"accepted, not stored: {inbound}")
    expect(inbound["stored_not_accepted_count"] == 0, f"stored though never accepted: {inbound}")
    expect(not inbound["rejected_but_stored"], f"rejected webhooks stored: {inbound}")
    expect(not inbound["not_processed"], f"inbound not processed: {inbound['not_processed']}")
    out = checks["outbound"]
    expect(out["lost"] == 0, f"outbound lost: {out['lost_ids']} {out['by_status']}")
    expect(out["duplicates"] == 0, f"outbound sent twice: {out['orphan_sends']}")
    expect(not out["payload_mismatch"], f"sent payload differs: {out['payload_mismatch']}")
    expect(not stats.five_xx, f"5xx answers: {stats.five_xx[:10]}")
    expect(not stats.bad_traffic_unexpected, f"bad traffic: {stats.bad_traffic_unexpected[:10]}")
    expect(not crashed, f"processes died: {crashed}")
    expect(figures["orders_completed"] > 0, "no order was completed")
    return {
        "figures": figures,
        "p99_target_met": figures["p99_ms"] < P99_TARGET_MS,
        "failures": failures,
        "events": opts.events,
        "actions": dict(stats.actions),
        "checks": checks,
        "workdir": str(workdir),
        "options": {k: str(v) for k, v in asdict(opts).items() if k not in ("events", "crashed")},
    }


def format_report(report: dict[str, Any]) -> str:
    f = report["figures"]
    lines = [
        f"== end-to-end load on {f['database']} ==",
        f"buyers                 {f['buyers']} over {f['load_seconds']} s",
        f"messages/s             {f['messages_per_second']} webhook POSTs/s "
        f"({f['webhook_posts']} POSTs, {f['buyer_messages']} buyer messages, "
        f"{f['duplicate_deliveries']} re-delivered)",
        f"webhook latency        p50 {f['p50_ms']} ms, p95 {f['p95_ms']} ms, p99 {f['p99_ms']} ms,"
        f" max {f['max_ms']} ms (target p99 < {P99_TARGET_MS:.0f} ms: "
        f"{'met' if report['p99_target_met'] else 'NOT met'})",
        f"  (server side: p50 {f.get('server_p50_ms')} ms, p99 {f.get('server_p99_ms')} ms)",
        f"  (the harness's own event loop woke up to {f['harness_loop_lag_p99_ms']} ms late, p99)",
        f"bot reply seen after   p50 {f['reply_wait_p50_s']} s, p99 {f['reply_wait_p99_s']} s",
        f"orders completed       {f['orders_completed']} PAID ({f['orders']})",
        f"operator               {f['operator_confirmed']} payments confirmed through the API",
        f"double-sells           {f['double_sells']} (double reservations "
        f"{f['double_reservations']})",
        f"outbound               {f['outbound_rows']} rows, {f['graph_accepted']} accepted by "
        f"Graph, {f['graph_refused_or_failed']} refused/failed attempts",
        f"lost messages          {f['lost_messages']}",
        f"duplicate messages     {f['duplicate_messages']}",
        f"5xx                    {f['http_5xx']} (connection errors: {f['connection_errors']})",
        f"bad requests rejected  {f['bad_requests_rejected']}",
        f"unanswered waits       {f['unanswered']}",
        f"proof downloads        {f['proof_files']}",
        "events:",
        *(f"  {e}" for e in report["events"]),
    ]
    if report["failures"]:
        lines.append("FAILED CHECKS:")
        lines.extend(f"  - {failure}" for failure in report["failures"])
    else:
        lines.append("all checks passed")
    lines.append(f"logs and database: {report['workdir']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--task-workers", type=int, default=1)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--fault-seconds", type=float, default=8.0)
    parser.add_argument("--min-run-seconds", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--app-dir", type=Path, default=REPO, help="checkout to run")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument(
        "--no-debug", action="store_true", help="DEBUG=false, as in production (default: true)"
    )
    parser.add_argument("--json", type=Path, help="also write the full report here")
    args = parser.parse_args(argv)
    opts = RunOptions(
        db=args.db,
        buyers=args.buyers,
        duration=args.duration,
        think=tuple(args.think),
        faults=not args.no_faults,
        fault_seconds=args.fault_seconds,
        web_workers=args.workers,
        web_threads=args.threads,
        task_workers=args.task_workers,
        min_run_seconds=args.min_run_seconds,
        seed=args.seed,
        pg_url=args.pg_url,
        app_dir=args.app_dir.resolve(),
        workdir=args.workdir,
        debug=not args.no_debug,
    )
    report = run(opts)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
