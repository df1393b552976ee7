"""/api/v1/contacts: find buyers, see what was said lately."""

from __future__ import annotations

import pytest
from model_bakery import baker

pytestmark = pytest.mark.django_db


def test_contacts_are_listed_newest_first_and_searchable(api, make_buyer):
    ana = make_buyer(profile_name="Ana Díaz", wa_id="5491111111111")
    bob = make_buyer(profile_name="Bob", wa_id="5492222222222")

    everyone = api.get("/api/v1/contacts").json()
    by_name = api.get("/api/v1/contacts?search=díaz").json()
    by_number = api.get("/api/v1/contacts?search=22222").json()

    assert [c["id"] for c in everyone["results"]] == [bob.pk, ana.pk]
    assert [c["name"] for c in by_name["results"]] == ["Ana Díaz"]
    assert [c["wa_id"] for c in by_number["results"]] == ["5492222222222"]


def test_a_contact_comes_with_its_latest_messages(api, buyer):
    from whatsapp.models import InboundMessage

    baker.make(InboundMessage, contact=buyer, msg_type="text", text="hola", wa_message_id="w1")
    baker.make(InboundMessage, contact=buyer, msg_type="text", text="quiero 2", wa_message_id="w2")

    body = api.get(f"/api/v1/contacts/{buyer.pk}").json()

    assert body["wa_id"] == buyer.wa_id
    texts = [m["text"] for m in body["latest_messages"] if m["direction"] == "in"]
    assert texts == ["quiero 2", "hola"]
    assert body["latest_messages"][0]["at"].endswith("+00:00")


def test_an_unknown_contact_is_404(api):
    assert api.get("/api/v1/contacts/98765").status_code == 404


def test_latest_messages_merge_both_directions_without_read_receipts(api, buyer):
    from whatsapp.models import InboundMessage, OutboundMessage

    baker.make(InboundMessage, contact=buyer, msg_type="text", text="hola", wa_message_id="w1")
    baker.make(
        OutboundMessage,
        contact=buyer,
        kind="text",
        payload={"type": "text", "text": {"body": "¡Hola!"}},
        status="sent",
    )
    baker.make(OutboundMessage, contact=buyer, kind="read_receipt", payload={}, acknowledges="w1")

    messages = api.get(f"/api/v1/contacts/{buyer.pk}").json()["latest_messages"]

    assert [(m["direction"], m["text"]) for m in messages] == [("out", "¡Hola!"), ("in", "hola")]
    assert messages[0]["status"] == "sent"
