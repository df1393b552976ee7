"""How fast a buyer sees the bot's answer, with the whole system run by `manage.py serve`.

    uv run python tests/bench/bench_reply.py                  # SQLite and PostgreSQL
    uv run python tests/bench/bench_reply.py --db sqlite --latency 0.15

Issue 16's load: 30 buyers, 10 at a time, each sends 4 messages with 0.3-0.8 s of think time.
The clock runs from the start of each webhook POST until the fake Graph API (answering after
--latency seconds, as Meta does) receives the bot's reply. Then, under `serve`'s defaults, 8
clients post webhooks at once (the bot answering each) next to `/healthz` in the same run.

Prints reply latency p50/p95/max, the webhook's p99 and messages/s against `/healthz`, and the
CPU the whole system (every process under `serve`) spends per answered message, next to a bare
request. Targets (2 cores): p50 < 150 ms, p95 < 300 ms, max < 1 s; webhook p99 < 250 ms and at
least 0.15x of /healthz. Bounded in time; binds 127.0.0.1 only; not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

# Run as a script (`uv run python tests/bench/...`): the repository root is the import root.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_webhook import _drive
from tests.bench.served import (
    SECRET,
    Inboxes,
    Served,
    Tally,
    answer,
    drain,
    percentile,
    post,
    rng_for,
)
from whatsapp import simulator

GREETINGS = ["hola", "hi", "menu", "hola otra vez"]


async def _buyers(system: Served, args: argparse.Namespace) -> Tally:
    inboxes = Inboxes(asyncio.get_running_loop())
    system.graph.on_message = inboxes.arrived
    tally = Tally()
    hook = f"{system.base_url}/whatsapp/webhook/"
    gate = asyncio.Semaphore(args.concurrent)

    async def buyer(n: int, client: httpx.AsyncClient) -> None:
        wa_id = f"5492{n:09d}"
        rng = rng_for(n)
        inbox = inboxes.queue(wa_id)
        async with gate:
            for turn in range(args.messages):
                payload = simulator.text_message_payload(wa_id, GREETINGS[turn], name=f"B{n}")
                started = await post(client, hook, payload, tally)
                await answer(inbox, started, tally, timeout=10)
                await asyncio.sleep(rng.uniform(*args.think))
                drain(inbox)  # the rest of the bot's turn
                tally.turns += 1

    limits = httpx.Limits(max_connections=args.concurrent)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(*(buyer(n, client) for n in range(args.buyers)))
    return tally


def _signed_hellos(n: int, run: str) -> list[tuple[bytes, dict[str, str]]]:
    out = []
    for i in range(n):
        payload = simulator.text_message_payload(
            f"5493{i % 50:09d}", "hola", name=f"C{i % 50}", message_id=f"wamid.R.{run}.{i}"
        )
        body = simulator.encode(payload)
        out.append((body, simulator.signed_headers(body, SECRET)))
    return out


def _throughput(
    system: Served, db: str, rounds: int
) -> tuple[dict[str, Any], dict[str, Any], tuple[float, float]]:
    """Webhooks at 8 concurrent clients under serve's defaults against /healthz, in turns.

    This machine's CPU speed drifts by half within seconds (other tenants of the host), so one
    webhook phase then one /healthz phase compares two different machines. Alternating short
    phases puts both under the same drift; the ratio is of the totals, and the spread of the
    rounds' own ratios shows how much the drift still moved it.
    """
    hook_url, health_url = f"{system.base_url}/whatsapp/webhook/", f"{system.base_url}/healthz"
    hooks: list[dict[str, Any]] = []
    healths: list[dict[str, Any]] = []
    cpu_bare = 0.0
    for turn in range(rounds):
        hooks.append(_drive(hook_url, _signed_hellos(200, f"{db}-{turn}"), 8, 60))
        time.sleep(1.0)  # their replies are delivered before measuring the bare request
        cpu_before = system.server_cpu()
        healths.append(_drive(health_url, 800, 8, 60))
        cpu_bare += system.server_cpu() - cpu_before
    hook = _totals(hooks)
    health = _totals(healths)
    health["cpu_ms"] = round(cpu_bare * 1000 / max(1, health["requests"]), 2)
    ratios = [h["per_second"] / b["per_second"] for h, b in zip(hooks, healths, strict=True)]
    return hook, health, (round(min(ratios), 3), round(max(ratios), 3))


def _totals(phases: list[dict[str, Any]]) -> dict[str, Any]:
    requests = sum(p["requests"] for p in phases)
    wall = sum(p["wall_s"] for p in phases)
    latencies = sorted(ms for p in phases for ms in p["latencies_ms"])
    return {
        "requests": requests,
        "per_second": round(requests / wall, 1) if wall else 0.0,
        "p99_ms": percentile(latencies, 99) if latencies else None,
    }


def bench(db: str, args: argparse.Namespace) -> dict[str, Any]:
    with Served(db=db, pg_url=args.pg_url, latency=args.latency) as system:
        # Warm-up, not timed: every gunicorn thread's first request loads code and connects.
        _drive(f"{system.base_url}/whatsapp/webhook/", _signed_hellos(40, f"warm-{db}"), 8, 30)
        time.sleep(1.0)
        cpu_before, wall = system.server_cpu(), time.monotonic()
        tally = asyncio.run(_buyers(system, args))
        time.sleep(1.0)  # the last turns' extra messages go out
        cpu_answered = system.server_cpu() - cpu_before
        wall = time.monotonic() - wall
        answered = max(1, len(tally.answer_waits))

        hook, health, spread = _throughput(system, db, args.rounds)
    waits = tally.answer_waits
    return {
        "db": db,
        "latency_ms": args.latency * 1000,
        "replies": len(waits),
        "unanswered": tally.unanswered,
        "non_200": tally.non_200,
        "reply_p50_ms": round(percentile(waits, 50) * 1000),
        "reply_p95_ms": round(percentile(waits, 95) * 1000),
        "reply_max_ms": round(max(waits, default=float("nan")) * 1000),
        "after_webhook_p95_ms": round(percentile(tally.after_webhook, 95) * 1000),
        "buyer_webhook_p95_ms": round(percentile(tally.webhook_latencies, 95) * 1000),
        "webhook_p99_ms": hook["p99_ms"],
        "webhook_per_s": hook["per_second"],
        "healthz_per_s": health["per_second"],
        "ratio": round(hook["per_second"] / health["per_second"], 3),
        "cpu_ms_per_answered_message": round(cpu_answered * 1000 / answered, 1),
        "ratio_spread": spread,
        "cpu_ms_per_bare_request": health["cpu_ms"],
        "load_wall_s": round(wall, 1),
        "loadavg": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", Served.pg_url))
    parser.add_argument("--latency", type=float, default=0.15, help="fake Graph API seconds")
    parser.add_argument("--buyers", type=int, default=30)
    parser.add_argument("--concurrent", type=int, default=10)
    parser.add_argument("--messages", type=int, default=4)
    parser.add_argument("--think", type=float, nargs=2, default=(0.3, 0.8))
    parser.add_argument("--rounds", type=int, default=3, help="webhook and /healthz turns")
    args = parser.parse_args()
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        result = bench(db, args)
        print(
            f"[{db}] reply p50 {result['reply_p50_ms']} ms, p95 {result['reply_p95_ms']} ms,"
            f" max {result['reply_max_ms']} ms ({result['replies']} replies,"
            f" {result['unanswered']} unanswered, {result['non_200']} non-200;"
            f" p95 of the webhook itself {result['buyer_webhook_p95_ms']} ms, of the rest"
            f" {result['after_webhook_p95_ms']} ms)\n"
            f"[{db}] webhook at 8 clients: p99 {result['webhook_p99_ms']} ms,"
            f" {result['webhook_per_s']} msg/s = {result['ratio']}x of /healthz"
            f" ({result['healthz_per_s']}/s; rounds from {result['ratio_spread'][0]}x"
            f" to {result['ratio_spread'][1]}x)\n"
            f"[{db}] CPU per answered message {result['cpu_ms_per_answered_message']} ms"
            f" (webhook + bot + delivery, every process) vs bare request"
            f" {result['cpu_ms_per_bare_request']} ms; load average {result['loadavg']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
