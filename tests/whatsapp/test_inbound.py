"""Storing inbound messages: every type, once per id, contacts, other numbers, the handler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DataError, OperationalError
from django.utils import timezone
from model_bakery import baker

from tests.support.signing import load_fixture
from whatsapp.models import Contact, InboundMessage, InboundState, MediaStatus, WebhookCapture
from whatsapp.services import inbound
from whatsapp.services.contacts import upsert_contact
from whatsapp.services.inbound import retry_inbound
from whatsapp.simulator import deliver, text_message_payload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("whatsapp_settings")]


def test_the_simulator_signs_with_the_configured_secret():
    result = deliver(text_message_payload("5491100000001", "hola"))

    assert (result.status_code, result.messages) == (200, 1)


def test_a_text_message_stores_contact_type_text_and_meta_timestamp():
    result = deliver(load_fixture("text"))

    message = InboundMessage.objects.get()
    assert (result.status_code, result.messages) == (200, 1)
    assert message.msg_type == "text"
    assert message.sent_at == datetime(2025, 11, 22, 2, 0, tzinfo=UTC)
    assert message.phone_number_id == "106540352242922"
    assert message.raw["text"]["body"] == message.text
    assert message.contact.wa_id == "5491155550101"
    assert message.contact.profile_name == "Ana Pérez"
    assert message.contact.user_id == "AR.1309876543210987"
    assert message.contact.last_inbound_at == message.sent_at


def test_an_image_with_caption_keeps_media_id_mime_sha256_and_caption():
    deliver(load_fixture("image_with_caption"))

    message = InboundMessage.objects.get()
    assert message.msg_type == "image"
    assert message.media_id == "1003383421387256"
    assert message.media_mime_type == "image/jpeg"
    assert message.media_sha256 == "nmvqdSXrW1mlCS4aQTq1bz0fW9P5hYoqVdQHp8Ug2sI="
    assert message.caption == "Comprobante pedido 12"
    assert message.media_status == MediaStatus.NOT_REQUESTED  # until a handler asks for it


def test_a_document_keeps_its_filename_and_waits_for_a_handler_to_ask_for_it():
    deliver(load_fixture("document"))

    message = InboundMessage.objects.get()
    assert (message.msg_type, message.media_filename) == ("document", "transferencia.pdf")
    assert message.media_status == MediaStatus.NOT_REQUESTED


@pytest.mark.parametrize(
    "fixture,reply_id,title",
    [("button_reply", "mode:random", "Al azar"), ("list_reply", "raffle:3", "Rifa de Navidad")],
)
def test_interactive_replies_keep_the_reply_id_and_title(fixture, reply_id, title):
    deliver(load_fixture(fixture))

    message = InboundMessage.objects.get()
    assert (message.msg_type, message.reply_id, message.reply_title) == (
        "interactive",
        reply_id,
        title,
    )


@pytest.mark.parametrize(
    "fixture,msg_type,text",
    [
        ("reaction", "reaction", "👍"),
        ("location", "location", "Obelisco Av. 9 de Julio s/n, CABA"),
        ("sticker", "sticker", ""),
        ("unsupported", "unsupported", ""),
        ("unknown_type", "unknown", ""),
    ],
)
def test_other_and_unknown_types_are_stored_with_their_raw_json(fixture, msg_type, text):
    result = deliver(load_fixture(fixture))

    message = InboundMessage.objects.get()
    assert result.status_code == 200
    assert (message.msg_type, message.text) == (msg_type, text)
    assert message.raw == load_fixture(fixture)["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message.media_status == MediaStatus.NONE  # stickers are never downloaded


def test_a_redelivered_message_is_acknowledged_and_not_processed_again(handler):
    payload = load_fixture("text")
    deliver(payload)

    again = deliver(payload)

    assert (again.status_code, again.messages, again.duplicates) == (200, 0, 1)
    assert InboundMessage.objects.count() == 1
    assert len(handler.handled) == 1


def test_a_batch_stores_every_message_of_every_buyer_in_order(handler, recorded_statuses):
    result = deliver(load_fixture("batch"))

    assert (result.messages, result.statuses) == (3, 1)
    assert handler.handled == ["wamid.BATCH1", "wamid.BATCH2", "wamid.BATCH3"]
    assert Contact.objects.get(wa_id="5491155550202").profile_name == "Bruno"


def test_a_user_known_only_by_bsuid_is_keyed_by_it():
    deliver(load_fixture("bsuid_only"))

    contact = InboundMessage.objects.get().contact
    assert contact.wa_id == contact.user_id == "AR.99887766554433"
    assert contact.profile_name == "cami"


def test_a_bsuid_contact_takes_the_phone_number_when_meta_sends_it():
    upsert_contact(wa_id="", user_id="AR.99887766554433")

    contact = upsert_contact(wa_id="5491166667777", user_id="AR.99887766554433")

    assert Contact.objects.get() == contact
    assert contact.wa_id == "5491166667777"


def test_the_profile_name_follows_the_latest_message():
    deliver(text_message_payload("5491100000001", "hola", name="Old"))

    deliver(text_message_payload("5491100000001", "hola", name="New"))

    assert Contact.objects.get().profile_name == "New"


def test_traffic_for_another_business_number_is_stored_and_not_answered(handler):
    payload = text_message_payload("5491100000001", "hola", phone_number_id="999")

    deliver(payload)

    message = InboundMessage.objects.get()
    assert (message.state, message.phone_number_id) == (InboundState.IGNORED, "999")
    assert handler.handled == []


def test_without_a_handler_messages_are_stored_only():
    deliver(load_fixture("text"))

    assert InboundMessage.objects.get().state == InboundState.RECEIVED


def test_the_handler_gets_each_new_message_and_it_is_marked_processed(handler):
    deliver(load_fixture("text"))

    message = InboundMessage.objects.get()
    assert handler.handled == [message.wa_message_id]
    assert message.state == InboundState.PROCESSED
    assert message.processed_at is not None


def test_a_handler_failure_is_recorded_and_the_message_kept(handler):
    handler.fail_on.add("boom")

    result = deliver(text_message_payload("5491100000001", "boom"))

    message = InboundMessage.objects.get()
    assert (result.status_code, result.failed) == (200, 1)
    assert message.state == InboundState.FAILED
    assert "bot broke on 'boom'" in message.error


def test_a_handler_failure_rolls_back_the_handlers_own_writes(settings):
    def handler_that_writes_then_fails(message):
        Contact.objects.create(wa_id="written-by-handler")
        raise ValueError("late failure")

    import tests.whatsapp.test_inbound as this

    this.writes_then_fails = handler_that_writes_then_fails
    settings.WHATSAPP_INBOUND_HANDLER = "tests.whatsapp.test_inbound.writes_then_fails"

    deliver(text_message_payload("5491100000001", "hola"))

    assert not Contact.objects.filter(wa_id="written-by-handler").exists()
    assert InboundMessage.objects.get().state == InboundState.FAILED


def test_retry_inbound_reruns_failed_messages_once_fixed(handler):
    handler.fail_on.add("boom")
    deliver(text_message_payload("5491100000001", "boom"))
    handler.fail_on.clear()

    result = retry_inbound()

    message = InboundMessage.objects.get()
    assert result.processed == [message.pk]
    assert (message.state, message.error) == (InboundState.PROCESSED, "")
    assert retry_inbound().processed == []


def test_the_retry_inbound_command_fails_while_messages_still_fail(handler):
    handler.fail_on.add("boom")
    deliver(text_message_payload("5491100000001", "boom"))

    with pytest.raises(CommandError, match="still failing"):
        call_command("retry_inbound")


def test_statuses_are_handed_to_the_outbound_side_with_time_and_errors(recorded_statuses):
    result = deliver(load_fixture("status_failed"))

    assert result.statuses == 1
    [call] = recorded_statuses
    assert call["wa_message_id"].startswith("wamid.")
    assert call["status"] == "failed"
    assert call["at"] == datetime(2025, 11, 22, 2, 1, 40, tzinfo=UTC)
    assert call["errors"][0]["code"] == 131047


def test_batched_out_of_order_statuses_are_all_handed_over_in_payload_order(recorded_statuses):
    result = deliver(load_fixture("statuses_batched_out_of_order"))

    assert result.statuses == 4
    assert [c["status"] for c in recorded_statuses] == ["read", "sent", "delivered", "sent"]


def test_a_value_level_error_is_counted_logged_and_acknowledged(caplog):
    result = deliver(load_fixture("value_error"))

    assert (result.status_code, result.errors) == (200, 1)
    assert "131000" in caplog.text
    assert WebhookCapture.objects.get().errors == 1


def test_a_status_the_outbound_side_cannot_record_does_not_lose_the_messages(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("outbound down")

    monkeypatch.setattr("whatsapp.services.webhooks.record_status", broken)

    result = deliver(load_fixture("batch"))

    assert (result.status_code, result.messages, result.errors) == (200, 3, 1)


def test_a_message_without_id_or_sender_is_an_error_not_a_crash():
    payload = load_fixture("text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"] = []
    del value["messages"][0]["from"]

    result = deliver(payload)

    assert (result.status_code, result.errors) == (200, 1)
    assert not InboundMessage.objects.exists()


def test_a_replayed_capture_is_marked_as_such():
    result = deliver(load_fixture("text"), replayed=True)

    assert WebhookCapture.objects.get(pk=result.capture_id).replayed is True


def test_queries_per_message_stay_few(handler, django_assert_max_num_queries):
    deliver(text_message_payload("5491100000001", "warm up"))  # contact exists: the usual case
    payload = text_message_payload("5491100000001", "hola")

    # One transaction (the test's savepoint pair stands in for BEGIN/COMMIT): savepoint, contact
    # lock + update, insert (already marked processed), release, handler savepoint pair, capture.
    with django_assert_max_num_queries(10):
        deliver(payload)


def test_window_open_is_true_within_24_hours_of_the_last_message():
    recent = baker.make(Contact, last_inbound_at=timezone.now() - timedelta(hours=23))
    old = baker.make(Contact, last_inbound_at=timezone.now() - timedelta(hours=25))
    never = baker.make(Contact, last_inbound_at=None)

    assert (recent.window_open, old.window_open, never.window_open) == (True, False, False)


def test_prune_webhook_captures_deletes_only_older_than_retention(settings):
    settings.WEBHOOK_CAPTURE_RETENTION_DAYS = 30
    old = WebhookCapture.objects.create(body=b"{}")
    WebhookCapture.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=31))
    fresh = WebhookCapture.objects.create(body=b"{}")

    call_command("prune_webhook_captures")

    assert list(WebhookCapture.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_a_message_that_cannot_be_stored_spoils_none_of_the_others(
    handler, monkeypatch, recorded_statuses
):
    real = inbound.upsert_contact

    def failing_for_bruno(**kwargs):
        if kwargs["wa_id"] == "5491155550202":
            Contact.objects.create(wa_id="half-written")  # rolled back with its savepoint
            raise DataError("value too long")
        return real(**kwargs)

    monkeypatch.setattr(inbound, "upsert_contact", failing_for_bruno)

    result = deliver(load_fixture("batch"))

    assert (result.status_code, result.messages, result.errors) == (200, 2, 1)
    assert handler.handled == ["wamid.BATCH1", "wamid.BATCH3"]
    assert not Contact.objects.filter(wa_id="half-written").exists()
    assert WebhookCapture.objects.get().outcome == "item_errors"


def test_a_database_outage_answers_503_keeps_the_capture_and_commits_no_message(monkeypatch):
    def unavailable(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(inbound, "upsert_contact", unavailable)

    result = deliver(load_fixture("text"))

    assert result.status_code == 503
    assert not InboundMessage.objects.exists()
    assert WebhookCapture.objects.get().outcome == "retry_later"


@pytest.mark.parametrize("error", ["database is locked", "server closed the connection"])
def test_a_database_error_in_the_handler_answers_503_and_the_redelivery_is_answered_once(
    handler, monkeypatch, error
):
    real = handler.__class__.__call__

    def database_away(self, message):
        raise OperationalError(error)

    monkeypatch.setattr(handler.__class__, "__call__", database_away)
    first = deliver(load_fixture("text"))
    monkeypatch.setattr(handler.__class__, "__call__", real)

    again = deliver(load_fixture("text"))

    assert first.status_code == 503
    assert (again.status_code, again.messages, again.duplicates) == (200, 1, 0)
    assert handler.handled == [InboundMessage.objects.get().wa_message_id]
    assert InboundMessage.objects.get().state == InboundState.PROCESSED


def test_a_batch_bigger_than_one_chunk_is_stored_whole_under_one_capture(handler):
    from whatsapp.services.webhooks import CHUNK_SIZE
    from whatsapp.simulator import envelope

    messages = [
        {
            "from": "5491100000001",
            "id": f"wamid.BIG{i}",
            "timestamp": "1763776800",
            "type": "text",
            "text": {"body": str(i)},
        }
        for i in range(CHUNK_SIZE * 2 + 7)
    ]
    payload = envelope({"contacts": [{"wa_id": "5491100000001"}], "messages": messages})

    result = deliver(payload)

    assert result.messages == len(messages) == len(handler.handled)
    capture = WebhookCapture.objects.get()
    assert (capture.outcome, capture.messages) == ("processed", len(messages))


def test_one_change_of_an_odd_shape_loses_nothing_else_in_the_post():
    payload = load_fixture("text")
    payload["entry"][0]["changes"].insert(0, {"field": "messages", "value": "not an object"})
    payload["entry"].insert(0, "not an entry")

    result = deliver(payload)

    assert (result.status_code, result.messages, result.errors) == (200, 1, 2)
    assert WebhookCapture.objects.get().outcome == "item_errors"


def test_an_item_that_is_not_an_object_is_counted_and_the_rest_stored(recorded_statuses):
    payload = load_fixture("batch")
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"].insert(1, "not a message")
    value["statuses"].append(42)

    result = deliver(payload)

    assert (result.messages, result.errors) == (3, 2)


def test_the_503_answer_names_no_database_host_or_user_but_the_log_does(
    client, monkeypatch, caplog
):
    from tests.support.signing import signed_post

    def unavailable(**kwargs):
        raise OperationalError('connection to server at "db.internal" failed: user "raffles"')

    monkeypatch.setattr(inbound, "upsert_contact", unavailable)

    response = signed_post(client, load_fixture("text"))

    assert response.status_code == 503
    assert response.json()["detail"] == "database unavailable"
    assert "db.internal" not in response.content.decode()
    assert "raffles" not in response.content.decode()
    assert "db.internal" in caplog.text
