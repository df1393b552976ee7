"""Notices through the delivery dispatcher: the window decides their form there too (issue 18
on the path of issues 16/26), while a plain reply goes as written."""

from __future__ import annotations

import pytest

from tests.whatsapp.test_templates import approved_paid_template, buyer, paid_notice
from whatsapp.dispatcher import Dispatcher
from whatsapp.models import OutboundMessage, OutboundStatus
from whatsapp.outgoing import TextMessage
from whatsapp.services.outbox import broadcast, queue_message

# The dispatcher's threads use connections of their own: they see committed rows only.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def quick_delivery(settings, fake_graph):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.WHATSAPP_HTTP_TIMEOUT_SECONDS = 2
    settings.WHATSAPP_CONNECT_TIMEOUT_SECONDS = 1
    settings.WHATSAPP_MESSAGES_PER_SECOND = 1000
    settings.WHATSAPP_BUSINESS_ACCOUNT_ID = fake_graph.business_account_id
    settings.LANGUAGE_CODE = "en"


def drain() -> None:
    dispatcher = Dispatcher(threads=2, listen=False)
    try:
        dispatcher.drain(timeout=10)
    finally:
        dispatcher.close()


def test_the_dispatcher_sends_a_notice_outside_the_window_as_its_template(fake_graph):
    approved_paid_template(fake_graph)
    contact = buyer(wrote_hours_ago=30)
    row = queue_message(contact=contact, message=paid_notice())

    drain()

    row.refresh_from_db()
    assert row.status == OutboundStatus.SENT
    [sent] = fake_graph.sent()
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "payment_confirmed"
    assert row.template_name == "payment_confirmed"


def test_the_dispatcher_keeps_a_notice_without_a_template_for_an_operator(fake_graph):
    contact = buyer(wrote_hours_ago=30)
    row = queue_message(contact=contact, message=paid_notice())

    drain()

    row.refresh_from_db()
    assert row.status == OutboundStatus.NEEDS_TEMPLATE
    assert fake_graph.sent() == []


def test_the_dispatcher_sends_a_plain_reply_as_written_whatever_the_window(fake_graph):
    contact = buyer(wrote_hours_ago=30)
    row = queue_message(contact=contact, message=TextMessage(body="Hello"))

    drain()

    row.refresh_from_db()
    assert row.status == OutboundStatus.SENT
    assert [p["text"]["body"] for p in fake_graph.sent()] == ["Hello"]


def test_a_broadcast_notice_reaches_buyers_in_and_out_of_the_window_in_their_form(fake_graph):
    approved_paid_template(fake_graph)
    inside = buyer(wrote_hours_ago=1, wa_id="5491100000001")
    outside = buyer(wrote_hours_ago=40, wa_id="5491100000002")
    broadcast(messages=[(inside.pk, paid_notice()), (outside.pk, paid_notice())])

    drain()

    kinds = {p["to"]: p["type"] for p in fake_graph.sent()}
    assert kinds == {inside.wa_id: "text", outside.wa_id: "template"}
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {OutboundStatus.SENT}
