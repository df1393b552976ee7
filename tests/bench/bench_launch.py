"""Launch night: a crowd arrives at a steady rate and buys, the whole system run by `serve`.

    uv run python tests/bench/bench_launch.py --buyers 200 --window 20 --latency 0.15
    uv run python tests/bench/bench_launch.py --buyers 1000 --window 60 --db postgres
    uv run python tests/bench/bench_launch.py --buyers 120 --window 60 --statuses
    uv run python tests/bench/bench_launch.py --notices 10000 --cap 80     # broadcast pace

A raffle of 0000-9999. Buyer i arrives at i * window / buyers (whatever the server's pace) and
goes "hola" -> raffle card -> "Random numbers" -> 1 to 3 -> Confirm, thinking 0.5-2 s before
each message; it is done once the payment instructions arrive. The clock runs from each webhook
POST until the bot's first answer reaches the fake Graph API, which answers after --latency
seconds. --statuses posts Meta's sent, delivered and read webhooks for every message accepted.
--cap is WHATSAPP_MESSAGES_PER_SECOND (the run prints it).

Prints answer wait p50/p95/max, webhook p99, deliveries/s, the run time, and CPU per buyer turn
for the server (every process under serve) and for this driver with the fake Graph API, so a
result limited by the machine can be told from one limited by the design. Checks nothing was
double-sold. With --notices: N queued broadcast notices, their average rate and the busiest
one-second window. Bounded by --max-seconds; binds 127.0.0.1 only; not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import httpx

# Run as a script (`uv run python tests/bench/...`): the repository root is the import root.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.served import (
    Inboxes,
    Served,
    Tally,
    answer,
    drain,
    options,
    percentile,
    post,
    tap_payload,
    text_of,
)
from whatsapp import simulator

DONE_MARKERS = ("Transfer to Bank", "Send a photo or PDF")


async def _crowd(system: Served, args: argparse.Namespace) -> tuple[Tally, float]:
    loop = asyncio.get_running_loop()
    inboxes = Inboxes(loop)
    system.graph.on_message = inboxes.arrived
    tally = Tally()
    hook = f"{system.base_url}/whatsapp/webhook/"
    statuses: asyncio.Queue[str] = asyncio.Queue()
    if args.statuses:
        system.graph.on_accepted = lambda wamid: loop.call_soon_threadsafe(
            statuses.put_nowait, wamid
        )
    started = time.monotonic()
    deadline = started + args.max_seconds

    async def buyer(n: int, client: httpx.AsyncClient) -> None:
        await asyncio.sleep(n * args.window / args.buyers)
        rng = random.Random(n)
        wa_id = f"5494{n:09d}"
        inbox = inboxes.queue(wa_id)
        payload = simulator.text_message_payload(wa_id, "hola", name=f"Buyer {n}")
        confusions = 0
        while time.monotonic() < deadline:
            sent_at = await post(client, hook, payload, tally)
            tally.turns += 1
            first = await answer(inbox, sent_at, tally, timeout=60)
            if not first:
                return
            await asyncio.sleep(rng.uniform(0.5, 2.0))  # reads, thinks
            messages = first + drain(inbox)
            if any(m in text_of(b) for b in messages for m in DONE_MARKERS):
                tally.done += 1
                return
            payload = _next_move(wa_id, messages, rng)
            if payload is None:
                confusions += 1
                if confusions > 3:
                    return
                payload = simulator.text_message_payload(wa_id, "menu", name=f"Buyer {n}")

    async def status_sender(client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set() or not statuses.empty():
            try:
                wamid = await asyncio.wait_for(statuses.get(), timeout=0.5)
            except TimeoutError:
                continue
            for status in ("sent", "delivered", "read"):
                body = simulator.status_payload(wamid, status)
                await post(client, hook, body, Tally())  # not a buyer's message: not timed

    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        stop = asyncio.Event()
        senders = [
            asyncio.create_task(status_sender(client, stop))
            for _ in range(4 if args.statuses else 0)
        ]
        await asyncio.gather(*(buyer(n, client) for n in range(args.buyers)))
        stop.set()
        await asyncio.gather(*senders)
    return tally, time.monotonic() - started


def _next_move(wa_id: str, messages: list[dict[str, Any]], rng: random.Random) -> Any:
    actionable = [m for m in messages if options(m)]
    if not actionable:
        return None
    body = actionable[-1]
    ids = options(body)
    for prefix in ("raffle:", "mode:random", "confirm:"):
        match = next((i for i in ids if i.startswith(prefix)), None)
        if match:
            return tap_payload(wa_id, body, match)
    quantities = [i for i in ids if i.startswith("qty:")][:3]
    if quantities:
        return tap_payload(wa_id, body, rng.choice(quantities))
    return None


def bench_crowd(args: argparse.Namespace) -> dict[str, Any]:
    with Served(
        db=args.db, pg_url=args.pg_url, latency=args.latency, messages_per_second=args.cap
    ) as system:
        cpu_before, driver_before = system.server_cpu(), time.process_time()
        by_process_before = system.cpu_breakdown()
        tally, run_s = asyncio.run(_crowd(system, args))
        server_s = system.server_cpu() - cpu_before
        driver_s = time.process_time() - driver_before
        breakdown = {
            name: round(cpu - by_process_before.get(name, 0.0), 1)
            for name, cpu in system.cpu_breakdown().items()
        }
        arrivals = sorted(system.graph.arrivals)
        report = system.query(
            "from django.db.models import Count\n"
            "from raffles.models import LIVE_STATUSES, OrderStatus, OrderTicket\n"
            "held = OrderTicket.objects.filter(order__status__in=[*LIVE_STATUSES,"
            " OrderStatus.PAID]).values('ticket_id').annotate(n=Count('order_id',"
            " distinct=True)).filter(n__gt=1).count()\n"
            "print(json.dumps({'held_twice': held}))"
        )
    span = (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 1.0
    turns = max(1, tally.turns)
    waits = tally.answer_waits
    return {
        "buyers": args.buyers,
        "window_s": args.window,
        "db": args.db,
        "latency_ms": round(args.latency * 1000),
        "cap": args.cap,
        "statuses": args.statuses,
        "webhook_p99_ms": round(percentile(tally.webhook_latencies, 99) * 1000),
        "wait_p50_s": round(percentile(waits, 50), 2),
        "wait_p95_s": round(percentile(waits, 95), 2),
        "wait_max_s": round(max(waits, default=float("nan")), 2),
        "after_webhook_p50_s": round(percentile(tally.after_webhook, 50), 2),
        "after_webhook_p95_s": round(percentile(tally.after_webhook, 95), 2),
        "after_webhook_max_s": round(max(tally.after_webhook, default=float("nan")), 2),
        "webhook_max_s": round(max(tally.webhook_latencies, default=float("nan")), 2),
        "done": tally.done,
        "unanswered": tally.unanswered,
        "non_200": tally.non_200,
        "all_done_s": round(run_s, 1),
        "deliveries": len(arrivals),
        "deliveries_per_s": round(len(arrivals) / span, 1),
        "server_cpu_ms_per_turn": round(server_s * 1000 / turns, 1),
        "driver_cpu_ms_per_turn": round(driver_s * 1000 / turns, 1),
        "held_twice": report["held_twice"],
        "cpu_s_by_process": breakdown,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def bench_notices(args: argparse.Namespace) -> dict[str, Any]:
    """N notices queued at once (one broadcast); how fast they leave, and the busiest second."""
    with Served(
        db=args.db, pg_url=args.pg_url, latency=args.latency, messages_per_second=args.cap
    ) as system:
        system.query(
            "from whatsapp.models import Contact\n"
            "from whatsapp.outgoing import TextMessage\n"
            "from whatsapp.services.outbox import broadcast\n"
            f"Contact.objects.bulk_create([Contact(wa_id=f'5495{{i:09d}}') for i in"
            f" range({args.notices})])\n"
            "ids = list(Contact.objects.values_list('pk', flat=True))\n"
            "broadcast(messages=[(pk, TextMessage(body='The draw is tonight')) for pk in ids])\n"
            "print(json.dumps(len(ids)))"
        )
        started = time.monotonic()
        deadline = started + args.max_seconds
        while len(system.graph.arrivals) < args.notices and time.monotonic() < deadline:
            time.sleep(0.2)
        arrivals = sorted(system.graph.arrivals)
    busiest, j = 0, 0
    for i in range(len(arrivals)):
        while arrivals[i] - arrivals[j] >= 1.0:
            j += 1
        busiest = max(busiest, i - j + 1)
    span = (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else float("nan")
    return {
        "notices": args.notices,
        "sent": len(arrivals),
        "cap": args.cap,
        "db": args.db,
        "latency_ms": round(args.latency * 1000),
        "per_second": round(len(arrivals) / span, 1),
        "busiest_second": busiest,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--window", type=float, default=20.0, help="arrival window, seconds")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", Served.pg_url))
    parser.add_argument("--latency", type=float, default=0.15, help="fake Graph API seconds")
    parser.add_argument("--cap", type=int, default=1000, help="WHATSAPP_MESSAGES_PER_SECOND")
    parser.add_argument("--statuses", action="store_true", help="simulate Meta's statuses")
    parser.add_argument("--notices", type=int, default=0, help="broadcast pace run instead")
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args()
    result = bench_notices(args) if args.notices else bench_crowd(args)
    print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)


if __name__ == "__main__":
    main()
