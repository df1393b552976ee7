"""Workers and sweepers racing on the same due rows never send a message twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from model_bakery import baker

from whatsapp.models import Contact, OutboundMessage, OutboundStatus
from whatsapp.outgoing import TextMessage
from whatsapp.services import delivery
from whatsapp.services.delivery import deliver, send_due
from whatsapp.services.outbox import broadcast

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def dummy_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


def run_together(workers: list[Callable[[], object]]) -> list[BaseException]:
    """Start all at once (a barrier), each on its own database connection."""
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # surfaced by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


def queue_to_buyers(n: int) -> list[int]:
    contacts = [baker.make(Contact, wa_id=f"54922{i:08d}") for i in range(n)]
    broadcast(messages=[(c.pk, TextMessage(body=f"hello {c.wa_id}")) for c in contacts])
    return list(OutboundMessage.objects.values_list("pk", flat=True))


def test_racing_sweepers_send_each_due_row_exactly_once(fake_graph):
    ids = queue_to_buyers(40)
    # Slow answers widen the window in which a second sender could slip in.
    fake_graph.delay_next(1000, seconds=0.01)

    errors = run_together([lambda: send_due(limit=100) for _ in range(4)])

    assert errors == []
    sent_to = Counter(p["to"] for p in fake_graph.sent())
    assert len(sent_to) == len(ids)
    assert set(sent_to.values()) == {1}
    rows = OutboundMessage.objects.all()
    assert {r.status for r in rows} == {OutboundStatus.SENT}
    assert {r.attempts for r in rows} == {1}


def test_workers_and_a_sweeper_racing_on_one_row_send_it_once(fake_graph):
    [outbound_id] = queue_to_buyers(1)
    fake_graph.delay_next(1, seconds=0.05)

    work = [lambda: deliver(outbound_id=outbound_id) for _ in range(6)]
    errors = run_together([*work, lambda: send_due()])

    assert errors == []
    assert len(fake_graph.sent()) == 1
    row = OutboundMessage.objects.get()
    assert row.status == OutboundStatus.SENT
    assert row.attempts == 1


def test_a_threaded_sweeper_pass_sends_each_row_once(fake_graph, settings):
    settings.WHATSAPP_SEND_CONCURRENCY = 4
    ids = queue_to_buyers(25)

    assert send_due(limit=100) == len(ids)

    sent_to = Counter(p["to"] for p in fake_graph.sent())
    assert len(sent_to) == len(ids)
    assert set(sent_to.values()) == {1}


def test_a_threaded_sweeper_pass_still_stops_early_when_the_graph_api_is_down(fake_graph, settings):
    settings.WHATSAPP_SEND_CONCURRENCY = 4
    settings.WHATSAPP_CONNECT_TIMEOUT_SECONDS = 0.3
    ids = queue_to_buyers(30)
    fake_graph.stop()

    attempted = send_due(limit=100)

    assert delivery.SWEEP_BREAKER <= attempted < delivery.SWEEP_BREAKER + 4
    untouched = OutboundMessage.objects.filter(attempts=0).count()
    assert untouched == len(ids) - attempted


def test_the_periodic_runner_of_serve_delivers_what_waited_for_the_graph_api(fake_graph):
    queue_to_buyers(3)
    fake_graph.stop()
    send_due()  # Graph API down: everything stays queued, nothing lost
    assert OutboundMessage.objects.filter(status=OutboundStatus.QUEUED).count() == 3
    OutboundMessage.objects.update(next_attempt_at=F("created_at"))  # time passes
    fake_graph.start()

    call_command("run_periodic", once=True)

    assert len(fake_graph.sent()) == 3
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {OutboundStatus.SENT}
