"""Concurrent deliveries: Meta re-sends while the first delivery is still being handled."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from whatsapp.models import Contact, InboundMessage, InboundState
from whatsapp.simulator import deliver, encode, text_message_payload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("whatsapp_settings")]

handled: list[str] = []
active: list[str] = []
overlaps: list[tuple[str, str]] = []
_lock = threading.Lock()


def slow_handler(message) -> None:
    """Slow enough that a concurrent duplicate arrives while the first is being handled."""
    with _lock:
        if active:
            overlaps.append((active[0], message.wa_message_id))
        active.append(message.wa_message_id)
    time.sleep(0.05)
    with _lock:
        active.remove(message.wa_message_id)
        handled.append(message.wa_message_id)


@pytest.fixture
def slow(whatsapp_settings):
    from whatsapp.services import inbound

    handled.clear()
    overlaps.clear()
    whatsapp_settings.WHATSAPP_INBOUND_HANDLER = (
        "tests.whatsapp.test_inbound_concurrency.slow_handler"
    )
    inbound._import_handler.cache_clear()


def _deliver_concurrently(bodies: list[bytes]) -> list:
    results: list = [None] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def run(i: int, body: bytes) -> None:
        try:
            barrier.wait()
            results[i] = deliver(body)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, b)) for i, b in enumerate(bodies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_concurrent_duplicate_deliveries_are_stored_and_handled_once(slow):
    body = encode(text_message_payload("5491100000001", "hola", message_id="wamid.SAME"))

    results = _deliver_concurrently([body] * 4)

    assert all(r.status_code == 200 for r in results)
    assert sorted(r.messages for r in results) == [0, 0, 0, 1]
    assert sum(r.duplicates for r in results) == 3
    assert handled == ["wamid.SAME"]
    assert InboundMessage.objects.get().state == InboundState.PROCESSED


def test_two_messages_of_one_buyer_are_never_handled_at_the_same_time(slow):
    bodies = [
        encode(text_message_payload("5491100000002", f"m{i}", message_id=f"wamid.M{i}"))
        for i in range(4)
    ]

    results = _deliver_concurrently(bodies)

    assert all(r.status_code == 200 and r.messages == 1 for r in results)
    assert sorted(handled) == ["wamid.M0", "wamid.M1", "wamid.M2", "wamid.M3"]
    assert overlaps == []
    assert Contact.objects.count() == 1
