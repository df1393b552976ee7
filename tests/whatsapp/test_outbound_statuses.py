"""Status webhooks only move a message forward: sent < delivered < read; failed ends it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from model_bakery import baker

from whatsapp.models import Contact, OutboundMessage, OutboundStatus, PendingStatus
from whatsapp.outgoing import TextMessage
from whatsapp.services.delivery import deliver, send_due
from whatsapp.services.outbox import queue_message
from whatsapp.services.statuses import record_status

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0)
WINDOW_CLOSED = [
    {
        "code": 131047,
        "title": "Re-engagement message",
        "message": "Re-engagement message",
        "error_data": {"details": "More than 24 hours have passed since the customer last replied"},
    }
]


@pytest.fixture(autouse=True)
def dummy_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def sent() -> OutboundMessage:
    contact = baker.make(Contact, wa_id="5491100000002")
    return baker.make(
        OutboundMessage,
        contact=contact,
        kind="text",
        payload={},
        status=OutboundStatus.SENT,
        wa_message_id="wamid.OUT1",
        sent_at=T0,
    )


def status_of(row: OutboundMessage) -> str:
    row.refresh_from_db()
    return row.status


def at(seconds: int):
    return T0 + timedelta(seconds=seconds)


def test_statuses_advance_in_order(sent):
    record_status(wa_message_id="wamid.OUT1", status="delivered", at=at(1), errors=[])
    assert status_of(sent) == OutboundStatus.DELIVERED
    record_status(wa_message_id="wamid.OUT1", status="read", at=at(2), errors=[])
    assert status_of(sent) == OutboundStatus.READ
    assert sent.delivered_at == at(1)
    assert sent.read_at == at(2)


def test_a_late_delivered_never_moves_read_back_but_its_time_is_kept(sent):
    record_status(wa_message_id="wamid.OUT1", status="read", at=at(2), errors=[])
    record_status(wa_message_id="wamid.OUT1", status="delivered", at=at(1), errors=[])
    record_status(wa_message_id="wamid.OUT1", status="sent", at=at(0), errors=[])

    assert status_of(sent) == OutboundStatus.READ
    assert sent.delivered_at == at(1)
    assert sent.read_at == at(2)


def test_failed_is_stored_with_metas_code_and_is_terminal(sent):
    record_status(wa_message_id="wamid.OUT1", status="failed", at=at(1), errors=WINDOW_CLOSED)
    record_status(wa_message_id="wamid.OUT1", status="delivered", at=at(2), errors=[])
    record_status(wa_message_id="wamid.OUT1", status="read", at=at(3), errors=[])

    assert status_of(sent) == OutboundStatus.FAILED
    assert sent.last_error_code == "131047"
    assert "24 hours" in sent.last_error
    assert sent.failed_at == at(1)


def test_a_failed_after_read_is_stale_news(sent):
    record_status(wa_message_id="wamid.OUT1", status="read", at=at(1), errors=[])
    record_status(wa_message_id="wamid.OUT1", status="failed", at=at(2), errors=WINDOW_CLOSED)

    assert status_of(sent) == OutboundStatus.READ


def test_unknown_status_values_are_ignored(sent):
    record_status(wa_message_id="wamid.OUT1", status="deleted", at=at(1), errors=[])

    assert status_of(sent) == OutboundStatus.SENT
    assert not PendingStatus.objects.exists()


def test_a_status_for_an_unknown_id_waits_and_is_applied_when_the_id_is_known(fake_graph, settings):
    contact = baker.make(Contact, wa_id="5491100000003")
    row = queue_message(contact=contact, message=TextMessage(body="Hola"))
    fake_graph.next_message_ids.append("wamid.EARLY")

    # Meta's webhook beats our own bookkeeping of the send (statuses out of order, too).
    record_status(wa_message_id="wamid.EARLY", status="read", at=at(2), errors=[])
    record_status(wa_message_id="wamid.EARLY", status="delivered", at=at(1), errors=[])
    assert PendingStatus.objects.count() == 2

    row = deliver(outbound_id=row.pk)

    assert row.wa_message_id == "wamid.EARLY"
    assert row.status == OutboundStatus.READ
    assert row.delivered_at == at(1)
    assert row.read_at == at(2)
    assert not PendingStatus.objects.exists()


def test_an_early_failed_status_is_applied_when_the_id_is_known(fake_graph):
    contact = baker.make(Contact, wa_id="5491100000004")
    row = queue_message(contact=contact, message=TextMessage(body="Hola"))
    fake_graph.next_message_ids.append("wamid.DOOMED")
    record_status(wa_message_id="wamid.DOOMED", status="failed", at=at(1), errors=WINDOW_CLOSED)

    row = deliver(outbound_id=row.pk)

    assert row.status == OutboundStatus.FAILED
    assert row.last_error_code == "131047"


def test_the_sweeper_applies_pending_statuses_that_raced_with_the_send(sent):
    # Both sides looked for the other and missed (two concurrent transactions).
    PendingStatus.objects.create(wa_message_id="wamid.OUT1", status="delivered", at=at(1))

    send_due()

    assert status_of(sent) == OutboundStatus.DELIVERED
    assert not PendingStatus.objects.exists()


def test_pending_statuses_never_matched_are_pruned_after_a_week():
    old = PendingStatus.objects.create(wa_message_id="wamid.NEVER", status="sent", at=T0)
    PendingStatus.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    fresh = PendingStatus.objects.create(wa_message_id="wamid.SOON", status="sent", at=T0)

    send_due()

    assert list(PendingStatus.objects.all()) == [fresh]
