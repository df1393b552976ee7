"""`serve` on PostgreSQL rides out a 30-second database outage, in both kinds, with nothing lost.

A proxy between the app and PostgreSQL cuts the database away ("reset": connections closed and
new ones refused; "blackhole": nothing passes), then restores it. The worker and periodic
processes keep their pids, a reply queued before the cut goes out exactly once after it, a
webhook posted during the cut gets 503 and, posted again, is handled once, `/healthz` goes
503 -> 200 and `serve` never stops.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest
from django.db import connection

from tests.conftest import require
from tests.support.outage_stack import OutageStack, postgresql_reachable
from whatsapp.simulator import text_message_payload

CUT_SECONDS = 30


# The run on PostgreSQL runs it against the suite's server (CI's shared one, never stopped).
pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a PostgreSQL outage, run with the PostgreSQL suite"
)


def suite_server() -> dict[str, object]:
    host = connection.settings_dict["HOST"] or "127.0.0.1"
    port = int(connection.settings_dict["PORT"] or 5432)
    require(postgresql_reachable(host, port), f"PostgreSQL on {host}:{port}")
    return {"pg_host": host, "pg_port": port}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with OutageStack(tmp_path_factory.mktemp("outage"), **suite_server()) as running:
        yield running
        if os.environ.get("OUTAGE_KEEP_LOG"):  # to read what an operator would see
            shutil.copy(running.log_path, os.environ["OUTAGE_KEEP_LOG"])


@pytest.mark.parametrize("mode", ["reset", "blackhole"])
def test_serve_rides_out_a_30_second_database_outage(stack: OutageStack, mode: str):
    before = stack.children()
    assert {"run_worker", "run_periodic", "gunicorn"} <= set(before), stack.log()[-3000:]
    reply = f"queued before the {mode} cut"
    buyer = "54911000077" + str(len(mode))
    webhook = text_message_payload(buyer, "hola", message_id=f"wamid.OUTAGE-{mode}")
    stack.queue_reply(wa_id=buyer, body=reply, due_in=5)

    mark = len(stack.log())
    stack.proxy.cut(mode, drop_held_after=10)  # 10 s: the app's tcp_user_timeout in this stack
    cut_at = time.monotonic()
    during = stack.post_webhook(webhook)
    stack.wait_health(503, timeout=CUT_SECONDS)
    time.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - cut_at)))
    delivered_during_cut = stack.delivered(reply)
    stack.proxy.restore()
    back_at = time.monotonic()
    stack.wait_health(200, timeout=30)
    while stack.delivered(reply) == 0 and time.monotonic() - back_at < 30:
        time.sleep(0.2)
    first_delivery = time.monotonic() - back_at
    after = stack.post_webhook(webhook)
    time.sleep(3)  # time for a (wrong) second delivery to show

    assert during == 503
    assert delivered_during_cut == 0
    assert stack.delivered(reply) == 1, stack.log()[-4000:]
    assert after == 200
    assert stack.query(
        "SELECT state FROM whatsapp_inboundmessage WHERE wa_message_id = %s", webhook_id(webhook)
    ) == [("processed",)]
    assert stack.children() == before  # same pids: nothing exited
    assert stack.server is not None and stack.server.poll() is None
    log = stack.log()[mark:]  # what an operator reads about this outage: a line each way
    for part in ("task worker", "periodic jobs"):
        assert log.count(f"{part}: database unavailable") == 1, log[-4000:]
        assert log.count(f"{part}: database back after") == 1, log[-4000:]
    assert "Traceback" not in log, log[-4000:]
    detail = stack.health(detail=True)
    assert detail is not None and detail.json()["worker"]["status"] == "ok"
    print(f"{mode}: first queued reply delivered {first_delivery:.1f} s after the return")


def webhook_id(payload: dict) -> str:
    return payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]


def test_serve_started_while_the_database_is_down_waits_for_it_and_says_so(tmp_path):
    stack = OutageStack(tmp_path, **suite_server())
    try:
        stack.start(database_down_for=8)
        output = stack.log()
    finally:
        code = stack.stop()

    assert "The database is unavailable; waiting for it before migrating" in output
    assert "The database answered after" in output
    assert code == 0
