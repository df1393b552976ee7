"""The delivery dispatcher: woken on commit, concurrent, in order per buyer, within Meta's cap."""

from __future__ import annotations

import itertools
import random
import threading
import time
from datetime import timedelta

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, transaction
from django.utils import timezone
from model_bakery import baker

from project.heartbeats import DISPATCHER, beat
from project.models import Heartbeat
from whatsapp.client import GraphClient, SendResult
from whatsapp.dispatcher import Dispatcher
from whatsapp.models import (
    Contact,
    OutboundLane,
    OutboundMessage,
    OutboundStatus,
    PendingStatus,
    SendingPace,
)
from whatsapp.outgoing import TextMessage
from whatsapp.services import delivery, pacing
from whatsapp.services.delivery import (
    batch_horizon,
    claim_batch,
    deliver,
    lease_seconds,
    record_successes,
    send_due,
    slowest_attempt_seconds,
)
from whatsapp.services.outbox import broadcast, queue_message
from whatsapp.wakeup import Listener, _notify

# The dispatcher's threads use connections of their own: they see committed rows only.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def delivery_settings(settings, monkeypatch):
    monkeypatch.setattr(pacing, "INBOUND_CHECK_SECONDS", 0.0)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.WHATSAPP_HTTP_TIMEOUT_SECONDS = 2.0
    settings.WHATSAPP_CONNECT_TIMEOUT_SECONDS = 1.0
    settings.WHATSAPP_MESSAGES_PER_SECOND = 1000
    settings.WHATSAPP_THROUGHPUT_PAUSE_SECONDS = 30
    settings.WHATSAPP_PAIR_PAUSE_SECONDS = 30
    return settings


def buyers(n: int, *, prefix: str = "54911") -> list[Contact]:
    return [baker.make(Contact, wa_id=f"{prefix}{i:06d}") for i in range(n)]


def say(contact: Contact, body: str) -> OutboundMessage:
    with transaction.atomic():  # as the bot does: the reply commits with its turn
        return queue_message(contact=contact, message=TextMessage(body=body))


def wait_for(condition, *, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def bodies_to(graph, wa_id: str) -> list[str]:
    return [p["text"]["body"] for p in graph.sent() if p["to"] == wa_id]


@pytest.fixture
def running_dispatcher():
    """Start a dispatcher (listening for commits) in a thread; stopped at the end."""
    started: list[tuple[Dispatcher, threading.Event, threading.Thread]] = []

    def start(**kwargs) -> Dispatcher:
        dispatcher = Dispatcher(**kwargs)
        stop = threading.Event()
        thread = threading.Thread(target=dispatcher.run, args=(stop,), daemon=True)
        thread.start()
        started.append((dispatcher, stop, thread))
        return dispatcher

    yield start
    for _, stop, _ in started:
        stop.set()
    for dispatcher, _, thread in started:
        dispatcher._kick.set()
        thread.join(timeout=10)


# --- the fast path ------------------------------------------------------------------------------
def test_a_reply_reaches_the_graph_api_with_no_sweeper_and_no_polling_worker(
    fake_graph, running_dispatcher
):
    [ana] = buyers(1)
    # A poll of a minute: only the ring on commit can make this quick.
    running_dispatcher(threads=4, poll_seconds=60)
    time.sleep(0.3)  # listening

    started = time.monotonic()
    say(ana, "Hola")

    assert wait_for(lambda: bodies_to(fake_graph, ana.wa_id) == ["Hola"], timeout=3)
    assert time.monotonic() - started < 1.0
    assert wait_for(lambda: OutboundMessage.objects.filter(status=OutboundStatus.SENT).count() == 1)


def test_a_dispatcher_killed_mid_flight_leaves_its_rows_to_the_sweeper_sent_once(
    fake_graph, monkeypatch
):
    contacts = buyers(5)
    rows = [say(c, f"Hola {i}") for i, c in enumerate(contacts)]

    class Killed(BaseException):
        """The process dies between the claim and the request reaching Meta."""

    def die(self, payload):
        raise Killed

    monkeypatch.setattr(GraphClient, "send", die)
    dispatcher = Dispatcher(threads=3, listen=False)
    dispatcher.fill()
    dispatcher.close()
    monkeypatch.undo()

    assert fake_graph.sent() == []
    assert OutboundMessage.objects.filter(status=OutboundStatus.SENDING).count() == 5
    assert send_due() == 0  # the leases still hold: nobody takes them over early

    OutboundMessage.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert send_due() == 5
    assert send_due() == 0
    assert sorted(p["to"] for p in fake_graph.sent()) == sorted(c.wa_id for c in contacts)
    for row in rows:
        row.refresh_from_db()
        assert row.status == OutboundStatus.SENT
        assert row.attempts == 2


def test_while_a_dispatcher_beats_the_sweeper_takes_only_the_rows_it_lost(fake_graph, settings):
    settings.HEARTBEAT_STALE_SECONDS = 60
    [ana, bob] = buyers(2)
    waiting = say(ana, "queued: the dispatcher's to send")
    lost = say(bob, "claimed by a dispatcher that died")
    OutboundMessage.objects.filter(pk=lost.pk).update(
        status=OutboundStatus.SENDING, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    beat(DISPATCHER)

    assert send_due() == 1  # racing the dispatcher through a backlog would bunch sends
    assert bodies_to(fake_graph, bob.wa_id) == ["claimed by a dispatcher that died"]
    assert bodies_to(fake_graph, ana.wa_id) == []

    # The dispatcher stops beating (dead or wedged): the sweeper sends everything again.
    Heartbeat.objects.filter(name=DISPATCHER).update(beat_at=timezone.now() - timedelta(seconds=61))
    assert send_due() == 1
    waiting.refresh_from_db()
    assert waiting.status == OutboundStatus.SENT


def test_a_running_dispatcher_beats_from_its_claiming_loop(fake_graph, running_dispatcher):
    assert not Heartbeat.objects.filter(name=DISPATCHER).exists()

    running_dispatcher(threads=2, poll_seconds=0.1)

    assert wait_for(lambda: Heartbeat.objects.filter(name=DISPATCHER).exists())


# --- lanes and order ------------------------------------------------------------------------------
def test_a_buyers_answer_overtakes_a_broadcast_backlog(fake_graph):
    crowd = buyers(40, prefix="54922")
    broadcast(messages=[(c.pk, TextMessage(body="Draw tonight")) for c in crowd])
    [ana] = buyers(1)
    reply = say(ana, "Your numbers: 0042")  # written after the whole backlog

    batch = claim_batch(limit=5)

    assert batch.rows[0].pk == reply.pk
    assert batch.rows[0].lane == OutboundLane.CONVERSATION
    assert [r.lane for r in batch.rows[1:]] == [OutboundLane.BROADCAST] * 4


def test_a_broadcast_notice_may_be_overtaken_by_that_buyers_reply(fake_graph):
    [ana] = buyers(1)
    broadcast(messages=[(ana.pk, TextMessage(body="Draw tonight"))])
    say(ana, "Reserved: 7")

    dispatcher = Dispatcher(threads=1, listen=False)
    dispatcher.drain()
    dispatcher.close()

    assert bodies_to(fake_graph, ana.wa_id) == ["Reserved: 7", "Draw tonight"]


def test_order_per_buyer_holds_with_many_threads_and_shuffled_graph_latency(fake_graph):
    chatty = buyers(4)
    for turn in range(6):
        for contact in chatty:
            say(contact, f"m{turn}")
    rng = random.Random(7)
    fake_graph.latency = lambda body: rng.uniform(0.0, 0.05)

    dispatcher = Dispatcher(threads=12, listen=False)
    dispatcher.drain(timeout=20)
    dispatcher.close()

    by_buyer: dict[str, list] = {}
    for request in fake_graph.message_posts():
        by_buyer.setdefault(request.json["to"], []).append(request)
    for contact in chatty:
        posts = by_buyer[contact.wa_id]
        assert [p.json["text"]["body"] for p in posts] == [f"m{t}" for t in range(6)]
        # Each reply left only after Meta had answered the one before.
        for earlier, later in itertools.pairwise(posts):
            assert later.at >= earlier.answered_at
    assert OutboundMessage.objects.filter(status=OutboundStatus.SENT).count() == 24


def test_a_claim_takes_one_reply_per_buyer_and_never_past_an_unfinished_one(fake_graph):
    [ana, bob] = buyers(2)
    first = say(ana, "one")
    say(ana, "two")
    bob_reply = say(bob, "hi")

    batch = claim_batch(limit=10)
    assert sorted(r.pk for r in batch.rows) == sorted([first.pk, bob_reply.pk])
    assert claim_batch(limit=10).rows == []  # "two" waits: "one" is still in flight

    deliver(outbound_id=first.pk)  # the sweeper's single-row path keeps the order too
    assert claim_batch(limit=10).rows == []  # "one" is ours (SENDING), not accepted yet


# --- booking accepted sends ----------------------------------------------------------------------
def test_accepted_sends_are_booked_together_and_a_status_that_raced_ahead_is_applied(fake_graph):
    [ana, bob] = buyers(2)
    say(ana, "one"), say(bob, "two")
    rows = sorted(claim_batch(limit=10).rows, key=lambda row: row.pk)
    PendingStatus.objects.create(wa_message_id="wamid.B", status="delivered", at=timezone.now())

    record_successes([(rows[0], SendResult("wamid.A", {})), (rows[1], SendResult("wamid.B", {}))])

    first, second = OutboundMessage.objects.order_by("pk")
    assert (first.status, first.wa_message_id) == (OutboundStatus.SENT, "wamid.A")
    assert first.sent_at is not None and first.next_attempt_at is None
    assert (second.status, second.wa_message_id) == (OutboundStatus.DELIVERED, "wamid.B")
    assert not PendingStatus.objects.exists()


def test_a_send_whose_lease_was_lost_is_not_booked_over_the_new_attempt(fake_graph, caplog):
    [ana] = buyers(1)
    reply = say(ana, "one")
    [stale] = claim_batch(limit=10).rows
    # The lease ran out and the sweeper claimed the row again: attempt 2 is the row's now.
    OutboundMessage.objects.filter(pk=reply.pk).update(attempts=stale.attempts + 1)

    record_successes([(stale, SendResult("wamid.late", {}))])

    reply.refresh_from_db()
    assert reply.status == OutboundStatus.SENDING
    assert reply.wa_message_id is None
    assert "lease lost" in caplog.text


# --- Meta's cap and throttling ------------------------------------------------------------
def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


def test_the_cap_holds_across_two_dispatchers(fake_graph, settings, monkeypatch):
    settings.WHATSAPP_MESSAGES_PER_SECOND = 40
    crowd = buyers(100, prefix="54933")
    broadcast(messages=[(c.pk, TextMessage(body="Draw tonight")) for c in crowd])
    fake_graph.latency = 0.02
    # Two processes each have a window of their own: here only the database coordinates them.
    monkeypatch.setattr(pacing, "local_turn", lambda: None)
    slots: list[float] = []
    real_claim = delivery.claim_batch

    def recording_claim(**kwargs):
        batch = real_claim(**kwargs)
        slots.extend(r.send_at.timestamp() for r in batch.rows)
        return batch

    monkeypatch.setattr("whatsapp.dispatcher.claim_batch", recording_claim)

    senders = [Dispatcher(threads=6, listen=False) for _ in range(2)]

    def drain(sender: Dispatcher) -> None:
        try:
            sender.drain(timeout=20)
        finally:
            connection.close()  # this thread's own: the test database must be free to drop

    threads = [threading.Thread(target=drain, args=(d,)) for d in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for sender in senders:
        sender.close()

    arrivals = sorted(r.at for r in fake_graph.message_posts())
    assert len(arrivals) == len(slots) == 100
    assert all(d.sent > 0 for d in senders)  # both took part
    assert busiest_second(slots) <= 40  # the slots the two were given never exceed the cap
    assert arrivals[-1] - arrivals[0] >= 99 / 40 - 0.1


def test_a_process_never_sends_more_than_the_cap_in_any_second(settings):
    settings.WHATSAPP_MESSAGES_PER_SECOND = 50
    spacing = pacing._Spacing()
    turns: list[float] = []

    def sender() -> None:
        for _ in range(30):
            turns.append(spacing.turn())

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(turns) == 120
    assert busiest_second(turns) <= 49  # 50 with the 3% headroom: 48.5 a second, evenly
    gaps = [b - a for a, b in itertools.pairwise(sorted(turns))]
    assert min(gaps) >= pacing.interval() - 1e-9  # four threads, and still no two bunched


def test_the_throughput_error_pauses_the_whole_number_without_counting_as_a_failure(
    fake_graph, settings
):
    [ana, bob] = buyers(2)
    throttled = say(ana, "Hola")
    other = say(bob, "Hola")
    fake_graph.fail_next(1, status=400, code=130429)
    before = timezone.now()

    row = deliver(outbound_id=throttled.pk)

    assert row.status == OutboundStatus.QUEUED
    assert row.last_error_code == "130429"
    assert row.next_attempt_at >= before + timedelta(seconds=29)  # the pause, not a backoff
    pace = SendingPace.objects.get()
    assert pace.paused_until >= before + timedelta(seconds=29)
    batch = claim_batch(limit=10)
    assert batch.rows == []  # bob's reply is due, but the number is paused
    assert batch.pace_wait > 20
    assert deliver(outbound_id=other.pk).status == OutboundStatus.QUEUED  # sweeper too

    SendingPace.objects.update(paused_until=timezone.now() - timedelta(seconds=1))
    assert [r.pk for r in claim_batch(limit=10).rows] == [other.pk]


def test_the_pair_rate_error_pauses_only_that_buyer(fake_graph):
    [ana, bob] = buyers(2)
    first = say(ana, "one")
    second = say(ana, "two")
    bob_reply = say(bob, "hi")
    fake_graph.fail_next(1, status=400, code=131056)
    before = timezone.now()

    row = deliver(outbound_id=first.pk)

    assert row.status == OutboundStatus.QUEUED
    assert row.last_error_code == "131056"
    for pk in (first.pk, second.pk):
        assert OutboundMessage.objects.get(pk=pk).next_attempt_at >= before + timedelta(seconds=29)
    assert SendingPace.objects.get().paused_until is None
    assert [r.pk for r in claim_batch(limit=10).rows] == [bob_reply.pk]


# --- batches and the lease ------------------------------------------------------------
def test_a_batch_never_holds_more_than_can_be_sent_within_half_a_lease(fake_graph, settings):
    settings.WHATSAPP_MESSAGES_PER_SECOND = 10
    settings.WHATSAPP_SEND_LEASE_SECONDS = 60
    settings.WHATSAPP_HTTP_TIMEOUT_SECONDS = 15
    settings.WHATSAPP_CONNECT_TIMEOUT_SECONDS = 5
    crowd = buyers(300, prefix="54944")
    broadcast(messages=[(c.pk, TextMessage(body="Draw tonight")) for c in crowd])
    now = timezone.now()

    batch = claim_batch(limit=1000)

    horizon = batch_horizon()
    assert horizon + slowest_attempt_seconds() <= lease_seconds() / 2
    assert 0 < len(batch.rows) <= 10 * horizon / 0.97 + 1
    assert all(r.send_at <= now + timedelta(seconds=horizon + 0.5) for r in batch.rows)
    lease_ends = set(
        OutboundMessage.objects.filter(status=OutboundStatus.SENDING).values_list(
            "next_attempt_at", flat=True
        )
    )
    assert all(end >= now + timedelta(seconds=lease_seconds() - 1) for end in lease_ends)
    # The next claim finds (next to) no room until slots free up: rows are not claimed only
    # to wait in memory while their lease runs.
    assert len(claim_batch(limit=1000).rows) <= 1


def test_inbound_messages_count_against_the_cap(fake_graph, settings):
    settings.WHATSAPP_MESSAGES_PER_SECOND = 10
    [ana] = buyers(1)
    [bob] = buyers(1, prefix="54955")
    say(ana, "first")
    assert len(claim_batch(limit=1).rows) == 1  # the pace row exists from here on
    baker.make("whatsapp.InboundMessage", contact=ana, _quantity=20)
    say(bob, "second")

    [row] = claim_batch(limit=1).rows

    # 20 received messages take 20 slots at 10/s: the reply goes about 2 s later.
    assert row.send_at - timezone.now() >= timedelta(seconds=1.5)


def test_the_dispatcher_command_runs_once(fake_graph):
    from django.core.management import call_command

    [ana] = buyers(1)
    say(ana, "Hola")
    call_command("deliver_outbox", "--once", "--threads", "2")
    assert bodies_to(fake_graph, ana.wa_id) == ["Hola"]


# --- a database outage ---------------------------------------------------------------------------
def test_a_database_outage_is_one_line_each_way_and_claims_back_off(
    fake_graph, monkeypatch, caplog, settings
):
    settings.DATABASE_RETRY_MAX_SECONDS = 5.0
    buyer = buyers(1)[0]
    say(buyer, "queued before the outage")
    real_claim = delivery.claim_batch
    away = {"on": True}

    def claim(**kwargs):
        if away["on"]:
            raise OperationalError("connection failed: Connection refused")
        return real_claim(**kwargs)

    monkeypatch.setattr("whatsapp.dispatcher.claim_batch", claim)
    dispatcher = Dispatcher(threads=2, listen=False)
    try:
        waits = [dispatcher.fill() for _ in range(5)]
        away["on"] = False
        dispatcher.drain(timeout=5)
    finally:
        dispatcher.close()

    assert waits == [0.5, 1.0, 2.0, 4.0, 5.0]  # capped at DATABASE_RETRY_MAX_SECONDS
    assert bodies_to(fake_graph, buyer.wa_id) == ["queued before the outage"]
    assert caplog.text.count("delivery dispatcher: database unavailable") == 1
    assert caplog.text.count("delivery dispatcher: database back after") == 1
    assert "Traceback" not in caplog.text


def ring_from_another_connection() -> None:
    try:
        _notify(DEFAULT_DB_ALIAS)
    finally:
        connection.close()  # this thread's own connection, or the test database stays in use


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="LISTEN/NOTIFY: run with the PostgreSQL suite"
)
def test_the_wake_up_listens_again_after_its_connection_is_cut(caplog):
    listener = Listener()
    assert listener.open()
    try:
        with connection.cursor() as cursor:  # what a restarted database does to it
            cursor.execute("SELECT pg_terminate_backend(%s)", [listener._pg.info.backend_pid])

        assert listener.wait(0.5) is False  # lost: polling meanwhile, one line, no traceback
        assert "delivery wake-up connection lost" in caplog.text
        assert "Traceback" not in caplog.text
        threading.Timer(0.3, ring_from_another_connection).start()
        assert wait_for(lambda: listener.wait(0.5), timeout=5)  # listens again and is rung
        assert "delivery wake-up listening again" in caplog.text
    finally:
        listener.close()
