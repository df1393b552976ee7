"""The outbox: what the bot decides to say is stored with the decision, sent once, never lost."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.tasks import default_task_backend
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from model_bakery import baker

import whatsapp.outbound_admin  # noqa: F401  (registers the admin; whatsapp/admin.py imports it)
from whatsapp.models import Contact, OutboundKind, OutboundLane, OutboundMessage, OutboundStatus
from whatsapp.outgoing import (
    Button,
    ButtonsMessage,
    ImageMessage,
    ListMessage,
    ListRow,
    ListSection,
    OutgoingMessageInvalid,
    TextMessage,
)
from whatsapp.services import delivery
from whatsapp.services.delivery import deliver, deliver_outbound, send_due
from whatsapp.services.outbox import broadcast, queue_message, queue_read_receipt

pytestmark = pytest.mark.django_db

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
IMMEDIATE_TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def quick_delivery(settings):
    settings.TASKS = DUMMY_TASKS
    settings.WHATSAPP_HTTP_TIMEOUT_SECONDS = 0.3
    settings.WHATSAPP_CONNECT_TIMEOUT_SECONDS = 0.3
    settings.WHATSAPP_RETRY_BASE_SECONDS = 5
    settings.WHATSAPP_RETRY_MAX_SECONDS = 900


@pytest.fixture
def buyer() -> Contact:
    return baker.make(Contact, wa_id="5491100000001", profile_name="Ana")


def make_due(row: OutboundMessage) -> None:
    """Time passes: the row's retry (or lease) is due now."""
    OutboundMessage.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def enqueued() -> list:
    return list(default_task_backend.results)


# --- queueing -------------------------------------------------------------------------------
@pytest.fixture
def rings(monkeypatch) -> list[str]:
    """The delivery dispatcher's doorbell, recorded instead of rung."""
    rung: list[str] = []
    monkeypatch.setattr("whatsapp.wakeup._notify", rung.append)
    return rung


def test_queue_message_stores_the_exact_request_and_wakes_delivery_on_commit(
    buyer, rings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row = queue_message(contact=buyer, message=TextMessage(body="Hola"))

        assert rings == []  # nothing leaves before the caller's transaction commits

    row.refresh_from_db()
    assert row.status == OutboundStatus.QUEUED
    assert row.kind == OutboundKind.TEXT
    assert row.lane == OutboundLane.CONVERSATION
    assert row.payload == TextMessage(body="Hola").graph_payload(buyer.wa_id)
    assert rings == ["default"]
    assert enqueued() == []  # no task per reply: the dispatcher is rung instead


def test_a_rolled_back_decision_queues_nothing(buyer, rings, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        queue_message(contact=buyer, message=TextMessage(body="Hola"))
        raise RuntimeError("the state change failed")

    assert not OutboundMessage.objects.exists()
    assert rings == []


def test_an_invalid_message_is_refused_before_anything_is_stored(buyer):
    with pytest.raises(OutgoingMessageInvalid):
        queue_message(contact=buyer, message=ButtonsMessage(body="Pick", buttons=[]))

    assert not OutboundMessage.objects.exists()


def test_bulk_queue_of_5000_is_one_insert_and_one_ring(rings, django_capture_on_commit_callbacks):
    contacts = baker.make(Contact, _quantity=5000, _bulk_create=True)
    contacts = list(Contact.objects.all())
    message = TextMessage(body="The draw is tonight at 21:00")

    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as queries,
    ):
        count = broadcast(messages=[(c.pk, message) for c in contacts])

    inserts = [q for q in queries if q["sql"].startswith("INSERT")]
    assert count == 5000
    assert len(inserts) == 1
    assert len(queries) <= 4  # the INSERT plus savepoint bookkeeping, never per row
    assert OutboundMessage.objects.filter(status=OutboundStatus.QUEUED).count() == 5000
    assert rings == ["default"]  # one ring for the lot, no task holding a worker
    assert set(OutboundMessage.objects.values_list("lane", flat=True)) == {OutboundLane.BROADCAST}
    sample = OutboundMessage.objects.select_related("contact").first()
    assert sample.payload == message.graph_payload(sample.contact.wa_id)


def test_broadcast_by_contact_ids_addresses_each_buyer_in_one_insert(buyer):
    others = [baker.make(Contact, wa_id=f"54911000001{i:02d}") for i in range(3)]
    notice = TextMessage(body="Your reservation expired")

    with CaptureQueriesContext(connection) as queries:
        count = broadcast(messages=[(pk, notice) for pk in [buyer.pk, *(c.pk for c in others)]])

    assert count == 4
    assert len([q for q in queries if q["sql"].startswith("INSERT")]) == 1
    rows = OutboundMessage.objects.select_related("contact")
    assert sorted(r.payload["to"] for r in rows) == sorted(
        [buyer.wa_id, *(c.wa_id for c in others)]
    )
    assert all(r.payload == notice.graph_payload(r.contact.wa_id) for r in rows)


def test_bulk_queue_renders_each_recipient_and_keeps_repeats(buyer):
    other = baker.make(Contact, wa_id="5491100000099")
    hello, bye = TextMessage(body="Hello ñandú 🎟"), TextMessage(body="Bye")

    with CaptureQueriesContext(connection) as queries:
        count = broadcast(
            messages=[(buyer.pk, hello), (other.pk, hello), (buyer.pk, bye), (buyer.pk, bye)]
        )

    assert count == 4
    assert len([q for q in queries if q["sql"].startswith("INSERT")]) == 2  # one per message
    payloads = sorted(
        (r.contact.wa_id, r.payload["text"]["body"], r.payload["to"])
        for r in OutboundMessage.objects.select_related("contact")
    )
    assert payloads == [
        (buyer.wa_id, "Bye", buyer.wa_id),
        (buyer.wa_id, "Bye", buyer.wa_id),
        (buyer.wa_id, "Hello ñandú 🎟", buyer.wa_id),
        (other.wa_id, "Hello ñandú 🎟", other.wa_id),
    ]
    row = OutboundMessage.objects.filter(contact=other).get()
    assert row.payload == hello.graph_payload(other.wa_id)
    assert row.status == OutboundStatus.QUEUED
    assert row.attempts == 0
    assert row.next_attempt_at <= timezone.now()


def test_bulk_queue_with_one_invalid_message_writes_nothing(buyer):
    messages = [(buyer.pk, TextMessage(body="ok")), (buyer.pk, TextMessage(body=""))]

    with pytest.raises(OutgoingMessageInvalid):
        broadcast(messages=messages)

    assert not OutboundMessage.objects.exists()


def test_a_read_receipt_is_queued_once_per_inbound_message(buyer):
    inbound = SimpleNamespace(wa_message_id="wamid.IN1", contact_id=buyer.pk, contact=buyer)

    first = queue_read_receipt(message=inbound)
    again = queue_read_receipt(message=inbound)

    assert first.kind == OutboundKind.READ_RECEIPT
    assert first.payload == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN1",
    }
    assert again is None
    assert OutboundMessage.objects.count() == 1


# --- sending each kind over real HTTP --------------------------------------------------------
@pytest.mark.parametrize(
    "message",
    [
        TextMessage(body="Hola"),
        ButtonsMessage(body="How many?", buttons=[Button("qty:1", "1"), Button("qty:2", "2")]),
        ListMessage(
            body="Pick a raffle",
            button="Raffles",
            sections=[ListSection("Open", [ListRow("r:1", "Car", "Ticket $10")])],
        ),
        ImageMessage(media_id="1234567890", caption="The board"),
    ],
    ids=["text", "buttons", "list", "image"],
)
def test_each_kind_is_sent_as_stored(fake_graph, buyer, message):
    row = queue_message(contact=buyer, message=message)

    row = deliver(outbound_id=row.pk)

    assert row.status == OutboundStatus.SENT
    assert row.wa_message_id.startswith("wamid.")
    assert row.attempts == 1
    assert row.sent_at is not None
    assert row.next_attempt_at is None
    assert fake_graph.sent() == [row.payload]


def test_a_read_receipt_is_sent(fake_graph, buyer):
    inbound = SimpleNamespace(wa_message_id="wamid.IN2", contact_id=buyer.pk, contact=buyer)
    row = queue_read_receipt(message=inbound)

    row = deliver(outbound_id=row.pk)

    assert row.status == OutboundStatus.SENT
    assert row.wa_message_id is None
    assert fake_graph.sent() == [
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN2"}
    ]


# --- retries ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("failure", "code"),
    [
        ({"status": 500}, "131000"),
        ({"status": 503, "code": 2}, "2"),
    ],
    # Meta's throttling errors (130429, 131056) pause instead: tests/whatsapp/test_dispatcher.py
    ids=["500", "503"],
)
def test_a_transient_failure_is_retried_with_backoff(fake_graph, buyer, failure, code):
    fake_graph.fail_next(1, **failure)
    row = queue_message(contact=buyer, message=TextMessage(body="Hola"))
    before = timezone.now()

    row = deliver(outbound_id=row.pk)

    assert row.status == OutboundStatus.QUEUED
    assert row.attempts == 1
    assert row.last_error_code == code
    # First retry waits between half and the whole base delay (jitter).
    assert (
        before + timedelta(seconds=2.4)
        <= row.next_attempt_at
        <= timezone.now() + timedelta(seconds=5)
    )

    assert send_due() == 0  # not due yet: nothing is sent early
    make_due(row)
    assert send_due() == 1

    row.refresh_from_db()
    assert row.status == OutboundStatus.SENT
    assert row.attempts == 2
    assert len(fake_graph.sent()) == 1


def test_a_read_timeout_is_retried_and_marked_as_a_possible_duplicate(fake_graph, buyer):
    fake_graph.delay_next(1, seconds=1)
    row = queue_message(contact=buyer, message=TextMessage(body="Hola"))

    row = deliver(outbound_id=row.pk)

    assert row.status == OutboundStatus.QUEUED
    assert row.last_error_code == "timeout"
    assert "may have reached Meta" in row.last_error


def test_backoff_grows_exponentially_up_to_the_cap(settings):
    settings.WHATSAPP_RETRY_BASE_SECONDS = 5
    settings.WHATSAPP_RETRY_MAX_SECONDS = 60

    for attempt, ceiling in [(1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (12, 60)]:
        delays = [delivery._backoff(attempt).total_seconds() for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered, so retries do not arrive in lockstep


@pytest.mark.parametrize("code", [131047, 131026, 100])
def test_a_permanent_failure_is_failed_with_metas_code_and_not_retried(fake_graph, buyer, code):
    fake_graph.fail_next(1, status=400, code=code)
    row = queue_message(contact=buyer, message=TextMessage(body="Hola"))

    row = deliver(outbound_id=row.pk)

    assert row.status == OutboundStatus.FAILED
    assert row.last_error_code == str(code)
    assert row.failed_at is not None
    assert row.next_attempt_at is None
    make_due(row)
    assert send_due() == 0
    assert len(fake_graph.message_posts()) == 1


def test_transient_failures_give_up_after_the_customer_service_window(fake_graph, buyer):
    fake_graph.fail_next(1, status=500)
    row = queue_message(contact=buyer, message=TextMessage(body="Hola"))
    OutboundMessage.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    row = deliver(outbound_id=row.pk)

    assert row.status == OutboundStatus.FAILED
    assert row.last_error_code == "131000"


def test_nothing_is_lost_while_the_graph_api_is_down_and_each_goes_out_once(
    fake_graph, buyer, caplog
):
    rows = [queue_message(contact=buyer, message=TextMessage(body=f"m{i}")) for i in range(3)]
    fake_graph.stop()

    with caplog.at_level(logging.WARNING):
        # One buyer's replies go in order: the later two wait behind the first.
        assert send_due() == 1

    for row in rows:
        row.refresh_from_db()
        assert row.status == OutboundStatus.QUEUED
        make_due(row)
    assert [r.last_error_code for r in rows] == ["connect_error", "", ""]
    fake_graph.start()

    assert send_due() == 3
    assert send_due() == 0
    assert [p["text"]["body"] for p in fake_graph.sent()] == ["m0", "m1", "m2"]
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {OutboundStatus.SENT}


def test_a_sweeper_pass_stops_early_when_the_graph_api_is_down(fake_graph):
    for i in range(8):
        buyer = baker.make(Contact, wa_id=f"54911000002{i:02d}")
        queue_message(contact=buyer, message=TextMessage(body=f"m{i}"))
    fake_graph.stop()

    attempted = send_due()

    assert attempted == delivery.SWEEP_BREAKER
    assert OutboundMessage.objects.filter(attempts=0).count() == 8 - delivery.SWEEP_BREAKER


def test_a_row_left_sending_by_a_crashed_worker_is_re_driven_after_its_lease(fake_graph, buyer):
    row = queue_message(contact=buyer, message=TextMessage(body="Hola"))
    assert delivery._claim(row.pk)  # a worker claimed it, then died before sending

    assert send_due() == 0  # its lease still holds
    make_due(row)
    assert send_due() == 1

    row.refresh_from_db()
    assert row.status == OutboundStatus.SENT
    assert row.attempts == 2
    assert len(fake_graph.sent()) == 1


def test_an_outcome_is_not_written_over_a_row_another_worker_took_over(fake_graph, buyer):
    row = queue_message(contact=buyer, message=TextMessage(body="Hola"))
    assert delivery._claim(row.pk)
    stale = OutboundMessage.objects.get(pk=row.pk)
    make_due(row)
    assert delivery._claim(row.pk)  # lease expired, a second worker claimed it (attempt 2)

    delivery._finish(stale, status=OutboundStatus.FAILED)

    row.refresh_from_db()
    assert row.status == OutboundStatus.SENDING
    assert row.attempts == 2


def test_a_row_already_sent_is_not_sent_again(fake_graph, buyer):
    row = queue_message(contact=buyer, message=TextMessage(body="Hola"))
    deliver(outbound_id=row.pk)

    again = deliver(outbound_id=row.pk)

    assert again.status == OutboundStatus.SENT
    assert again.attempts == 1
    assert len(fake_graph.message_posts()) == 1


# --- without credentials ------------------------------------------------------------------------
def test_without_credentials_messages_are_recorded_and_logged_not_sent(
    fake_graph, buyer, settings, caplog
):
    settings.WHATSAPP_ACCESS_TOKEN = ""
    row = queue_message(contact=buyer, message=TextMessage(body="Hola local"))

    with caplog.at_level(logging.INFO, logger="whatsapp.services.delivery"):
        row = deliver(outbound_id=row.pk)

    assert row.status == OutboundStatus.RECORDED
    assert row.attempts == 1
    assert fake_graph.requests == []
    assert "Hola local" in caplog.text
    make_due(row)
    assert send_due() == 0


def test_without_a_phone_number_id_messages_are_recorded(fake_graph, buyer, settings):
    settings.WHATSAPP_PHONE_NUMBER_ID = ""
    queue_message(contact=buyer, message=TextMessage(body="Hola"))

    assert send_due() == 1

    assert OutboundMessage.objects.get().status == OutboundStatus.RECORDED
    assert fake_graph.requests == []


# --- the sweeper command -------------------------------------------------------------------------
def test_send_due_messages_command_runs_one_pass(fake_graph, buyer, capsys):
    queue_message(contact=buyer, message=TextMessage(body="Hola"))

    call_command("send_due_messages")

    assert "attempted 1" in capsys.readouterr().out
    assert OutboundMessage.objects.get().status == OutboundStatus.SENT


def test_serve_runs_the_sweeper_every_few_seconds(settings):
    assert ("send_due_messages", 5) in settings.PERIODIC_COMMANDS


def test_the_delivery_task_tolerates_a_row_deleted_before_it_ran(buyer):
    row = queue_message(contact=buyer, message=TextMessage(body="Hola"))
    OutboundMessage.objects.filter(pk=row.pk).delete()

    assert deliver_outbound.call(outbound_id=row.pk) == "deleted"


def test_an_operator_can_send_a_failed_message_again(fake_graph, buyer):
    fake_graph.fail_next(1, status=400, code=131047)
    row = deliver(outbound_id=queue_message(contact=buyer, message=TextMessage(body="Hi")).pk)
    assert row.status == OutboundStatus.FAILED

    assert delivery.retry_failed(outbound_ids=[row.pk]) == 1
    assert send_due() == 1

    row.refresh_from_db()
    assert row.status == OutboundStatus.SENT
    assert row.attempts == 2


def test_the_outbox_admin_lists_messages_for_operators(admin_client, buyer):
    queue_message(contact=buyer, message=TextMessage(body="Hola"))

    response = admin_client.get("/admin/whatsapp/outboundmessage/")

    assert response.status_code == 200
    assert buyer.wa_id in response.content.decode()


def test_the_lease_always_outlasts_the_slowest_attempt(buyer, settings):
    settings.WHATSAPP_SEND_LEASE_SECONDS = 1
    settings.WHATSAPP_HTTP_TIMEOUT_SECONDS = 30
    settings.WHATSAPP_CONNECT_TIMEOUT_SECONDS = 5
    row = queue_message(contact=buyer, message=TextMessage(body="Hola"))

    assert delivery._claim(row.pk)

    row.refresh_from_db()
    assert row.next_attempt_at >= timezone.now() + timedelta(seconds=60)


# --- the database goes away while a send is in flight ---------------------------------------
def _database_away_for(monkeypatch, writes: int) -> list[int]:
    """The next `writes` outcome writes fail as if the database were gone; counts the tries."""
    from django.db import OperationalError

    real = delivery._record_success
    tries: list[int] = []

    def flaky(outbound, result):
        tries.append(1)
        if len(tries) <= writes:
            raise OperationalError("server closed the connection unexpectedly")
        return real(outbound, result)

    monkeypatch.setattr(delivery, "_record_success", flaky)
    monkeypatch.setattr(delivery.time, "sleep", lambda seconds: None)
    return tries


@pytest.mark.django_db(transaction=True)
def test_a_send_meta_accepted_while_the_database_was_away_is_written_when_it_returns(
    fake_graph, buyer, monkeypatch, settings
):
    settings.WHATSAPP_SEND_LEASE_SECONDS = 60
    row = queue_message(contact=buyer, message=TextMessage(body="Hola"))
    tries = _database_away_for(monkeypatch, writes=3)

    deliver(outbound_id=row.pk)
    make_due(row)  # even once the lease is over, the row is not sent again
    send_due()

    row.refresh_from_db()
    assert len(tries) == 4
    assert (row.status, row.attempts) == (OutboundStatus.SENT, 1)
    assert len(fake_graph.message_posts()) == 1


@pytest.mark.django_db(transaction=True)
def test_an_outcome_the_database_never_took_is_given_up_when_the_lease_ends(
    fake_graph, buyer, monkeypatch, settings
):
    from django.db import OperationalError

    settings.WHATSAPP_SEND_LEASE_SECONDS = 1  # the lease ends before the first retry
    row = queue_message(contact=buyer, message=TextMessage(body="Hola"))
    _database_away_for(monkeypatch, writes=10_000)

    with pytest.raises(OperationalError):
        deliver(outbound_id=row.pk)

    row.refresh_from_db()
    assert row.status == OutboundStatus.SENDING  # re-driven by the sweeper after the lease
