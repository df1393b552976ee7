"""replay_webhook: captured or recorded traffic through the real pipeline, safely and exactly."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.support.signing import FIXTURES, signed_post
from whatsapp.management.commands.replay_webhook import _render_reply
from whatsapp.models import Contact, InboundMessage, InboundState, WebhookCapture
from whatsapp.simulator import encode, text_message_payload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("whatsapp_settings")]


def replay(*args: str, stdin: bytes | None = None, monkeypatch=None) -> str:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", SimpleNamespace(buffer=io.BytesIO(stdin)))
    call_command("replay_webhook", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_a_fixture_file_goes_through_the_real_pipeline_and_is_captured_as_a_replay(handler):
    out = replay(str(FIXTURES / "text.json"))

    message = InboundMessage.objects.get()
    assert message.state == InboundState.PROCESSED
    assert handler.handled == [message.wa_message_id]
    assert WebhookCapture.objects.get().replayed is True
    assert "text.json: 200 processed: 1 messages, 0 duplicates" in out
    assert "replayed 1 payloads" in out


def test_a_replayed_message_already_processed_is_a_duplicate_not_reprocessed(handler):
    replay(str(FIXTURES / "text.json"))

    out = replay(str(FIXTURES / "text.json"))

    assert "0 messages, 1 duplicates" in out
    assert len(handler.handled) == 1


def test_a_directory_is_replayed_in_name_order(tmp_path):
    for name, text in [("b.json", "second"), ("a.json", "first"), ("notes.txt", "x")]:
        (tmp_path / name).write_text(
            json.dumps(text_message_payload("5491100000001", text))
            if name.endswith("json")
            else text
        )

    out = replay(str(tmp_path))

    assert out.index("a.json") < out.index("b.json")
    assert list(InboundMessage.objects.order_by("pk").values_list("text", flat=True)) == [
        "first",
        "second",
    ]


def test_a_file_may_hold_a_list_of_payloads(tmp_path):
    path = tmp_path / "many.json"
    path.write_text(json.dumps([text_message_payload("1", "a"), text_message_payload("1", "b")]))

    out = replay(str(path))

    assert "many.json[1]" in out
    assert InboundMessage.objects.count() == 2


def test_standard_input_is_a_source(monkeypatch):
    replay(
        "-", stdin=encode(text_message_payload("5491100000001", "hola")), monkeypatch=monkeypatch
    )

    assert InboundMessage.objects.get().text == "hola"


def test_a_file_that_is_not_json_names_the_file_and_the_problem(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")

    with pytest.raises(CommandError, match=r"broken.json: not JSON"):
        replay(str(path))


def test_json_that_is_not_a_webhook_payload_is_refused_before_anything_is_sent(tmp_path):
    good = tmp_path / "a.json"
    good.write_text(json.dumps(text_message_payload("1", "a")))
    bad = tmp_path / "b.json"
    bad.write_text('{"hello": 1}')

    with pytest.raises(CommandError, match=r"b.json: not a webhook payload"):
        replay(str(tmp_path))

    assert not InboundMessage.objects.exists()


def test_no_sign_sends_it_unsigned_and_exits_non_zero():
    with pytest.raises(CommandError, match="rejected or failed"):
        replay(str(FIXTURES / "text.json"), "--no-sign")

    assert not WebhookCapture.objects.exists()


def test_captured_traffic_is_selected_by_id_since_and_contact(client):
    signed_post(client, text_message_payload("5491100000001", "one"))
    signed_post(client, text_message_payload("5491100000002", "two"))
    first, second = WebhookCapture.objects.order_by("pk")
    WebhookCapture.objects.filter(pk=first.pk).update(
        received_at=timezone.now() - timedelta(days=3)
    )
    InboundMessage.objects.all().delete()

    by_id = replay("--captured", str(first.pk))
    since = replay("--captured-since", (timezone.now() - timedelta(days=1)).date().isoformat())
    by_contact = replay("--captured-since", "2000-01-01", "--contact", "5491100000002")

    assert f"capture {first.pk}: 200" in by_id
    assert f"capture {second.pk}: 200" in since and f"capture {first.pk}" not in since
    assert f"capture {second.pk}" in by_contact and f"capture {first.pk}" not in by_contact


def test_captured_selection_skips_earlier_replays_unless_asked(client):
    signed_post(client, text_message_payload("5491100000001", "one"))
    replay("--captured-since", "2000-01-01")
    assert WebhookCapture.objects.filter(replayed=True).count() == 1

    again = replay("--captured-since", "2000-01-01")
    everything = replay("--captured-since", "2000-01-01", "--include-replays")

    assert "replayed 1 payloads" in again
    assert "replayed 3 payloads" in everything  # the original and both replays


def test_new_ids_run_a_conversation_again_as_new_traffic_as_another_buyer(handler):
    replay(str(FIXTURES / "text.json"))

    out = replay(str(FIXTURES / "text.json"), "--new-ids", "--as", "5491199999999")

    assert "1 messages, 0 duplicates" in out
    assert InboundMessage.objects.count() == 2
    newest = InboundMessage.objects.order_by("-pk").first()
    assert newest.contact.wa_id == "5491199999999"
    assert newest.state == InboundState.PROCESSED
    assert len(handler.handled) == 2


def test_dry_run_rolls_everything_back(handler):
    out = replay(str(FIXTURES / "batch.json"), "--dry-run")

    assert "3 messages" in out
    assert "dry run: everything rolled back, nothing sent" in out
    assert not InboundMessage.objects.exists()
    assert not Contact.objects.exists()
    assert not WebhookCapture.objects.exists()


def test_dry_run_cannot_be_combined_with_a_url():
    with pytest.raises(CommandError, match="--dry-run"):
        replay(str(FIXTURES / "text.json"), "--dry-run", "--url", "http://127.0.0.1:1/")


def test_replies_are_rendered_readably():
    buttons = SimpleNamespace(
        contact=SimpleNamespace(wa_id="549"),
        payload={
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "How many?"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "q:1", "title": "1"}}]},
            },
        },
    )
    rows = SimpleNamespace(
        contact=SimpleNamespace(wa_id="549"),
        payload={
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pick a raffle"},
                "action": {
                    "button": "Raffles",
                    "sections": [{"title": "Open", "rows": [{"id": "r:1", "title": "Xmas"}]}],
                },
            },
        },
    )
    text = SimpleNamespace(
        contact=None, payload={"to": "549", "type": "text", "text": {"body": "Hi"}}
    )

    assert _render_reply(text) == "  -> 549: Hi"
    assert "(1) 1 (q:1)" in _render_reply(buttons)
    assert "1. Xmas (r:1)" in _render_reply(rows)


@pytest.mark.once
@pytest.mark.django_db(transaction=True)
def test_url_posts_to_a_running_server_and_its_capture_says_replay(live_server):
    out = replay(str(FIXTURES / "text.json"), "--url", f"{live_server.url}/whatsapp/webhook/")

    assert "text.json: 200 processed: 1 messages" in out
    assert WebhookCapture.objects.get().replayed is True


@pytest.mark.once
@pytest.mark.django_db(transaction=True)
def test_url_replay_unsigned_is_rejected_by_the_server(live_server):
    with pytest.raises(CommandError):
        replay(
            str(FIXTURES / "text.json"), "--no-sign", "--url", f"{live_server.url}/whatsapp/webhook"
        )

    assert not WebhookCapture.objects.exists()
