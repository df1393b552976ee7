"""Database-outage benchmark: prints figures (not a test). PostgreSQL on 127.0.0.1:5432.

    uv run python tests/bench/bench_outage.py [--outages 10,60,300] [--mode reset|blackhole]
                                              [--replies 12]

Runs `manage.py serve` on a scratch database behind a cuttable proxy (tests/support/db_proxy.py)
and the fake Graph API. For each outage length: queues `--replies` replies (a dozen buyers
mid-journey) due a few seconds into the cut, cuts the database away, restores it, and measures
from the database's return to the first and to the last of those replies delivered. Replies
queued before the cut are what counts: Meta's own re-deliveries of webhooks slow down over time
and ignore Retry-After, so they say more about Meta than about us.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.outage_stack import OutageStack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outages", default="10,60,300")
    parser.add_argument("--mode", choices=["reset", "blackhole"], default="reset")
    parser.add_argument("--replies", type=int, default=12)
    args = parser.parse_args()
    outages = [float(x) for x in args.outages.split(",")]
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder, OutageStack(Path(folder)) as stack:
        pids = stack.children()
        for n, seconds in enumerate(outages):
            replies = {
                f"5491100{n:02d}{i:04d}": f"outage {n} reply {i}" for i in range(args.replies)
            }
            stack.queue_replies(replies, due_in=3)
            stack.proxy.cut(args.mode, drop_held_after=10)
            time.sleep(seconds)
            lost_during = sum(stack.delivered(body) for body in replies.values())
            stack.proxy.restore()
            back = time.monotonic()
            first = last = None
            while time.monotonic() - back < 120:
                done = sum(1 for body in replies.values() if stack.delivered(body))
                if done and first is None:
                    first = time.monotonic() - back
                if done == len(replies):
                    last = time.monotonic() - back
                    break
                time.sleep(0.1)
            healthy = stack.wait_health(200, timeout=60)
            twice = sum(1 for body in replies.values() if stack.delivered(body) > 1)
            print(
                f"{args.mode} outage {seconds:.0f} s: first reply {first:.1f} s after the return, "
                f"all {len(replies)} after {last:.1f} s; /healthz 200 after {healthy:.1f} s "
                f"(from then); delivered during the cut {lost_during}, twice {twice}; "
                f"same pids {stack.children() == pids}; load {os.getloadavg()[0]:.2f}"
            )
        code = stack.server.poll() if stack.server else None
        print(f"serve still running: {code is None}")


if __name__ == "__main__":
    main()
