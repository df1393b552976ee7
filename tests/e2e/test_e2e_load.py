"""The whole system under a short burst of buyers and faults: nothing sold twice, nothing lost.

The short version of `python -m tests.e2e.loadtest` (see README.md here): 40 buyers for ~35 s
on SQLite, with the Graph API failing, refusing and rate limiting, a gunicorn worker killed,
duplicated webhooks and garbage mixed in; it keeps draining until reservations abandoned early
have expired (the shortest TTL is one minute).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.loadtest import RunOptions, format_report, run


@pytest.mark.once
def test_a_burst_of_buyers_with_faults_sells_nothing_twice_and_loses_no_message(tmp_path):
    options = RunOptions(
        db="sqlite",
        buyers=40,
        duration=35,
        think=(0.5, 1.5),
        fault_seconds=4,
        web_workers=3,
        abandon_share=0.25,
        min_run_seconds=80,
        workdir=tmp_path,
    )
    # A thread of its own: the harness runs its own asyncio loop, and this test thread may
    # already have one (Playwright's sync API keeps a loop on it while the browser is open).
    with ThreadPoolExecutor(max_workers=1) as pool:
        report = pool.submit(run, options).result()
    print(format_report(report))
    figures, checks = report["figures"], report["checks"]

    assert report["failures"] == [], format_report(report)
    assert figures["double_sells"] == 0
    assert figures["lost_messages"] == 0
    assert figures["duplicate_messages"] == 0
    assert figures["http_5xx"] == 0
    assert figures["orders_completed"] > 0
    assert checks["orders"].get("EXPIRED", 0) > 0, "no abandoned reservation expired"
    assert figures["graph_refused_or_failed"] > 0, "the Graph API faults did not happen"
    assert figures["bad_requests_rejected"] > 0
