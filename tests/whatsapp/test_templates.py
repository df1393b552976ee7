"""Notices after 24 hours: approved templates outside the window, against a fake Graph API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from model_bakery import baker

from tests.support.signing import signed_post
from whatsapp.models import (
    Contact,
    MessageTemplate,
    NoticeTemplate,
    OutboundMessage,
    OutboundStatus,
    TemplateStatus,
)
from whatsapp.notices import Notice
from whatsapp.outgoing import TextMessage
from whatsapp.services.delivery import deliver, send_due
from whatsapp.services.message_forms import (
    NeedsTemplate,
    choose_template,
    language_preferences,
    template_payload,
)
from whatsapp.services.outbox import broadcast, queue_message
from whatsapp.services.templates import (
    TemplateSyncError,
    apply_template_status_update,
    sync_message_templates,
)

pytestmark = pytest.mark.django_db

PAID_BODY_EN = "Hi {{1}}, payment for order #{{2}} in {{3}} is confirmed. Your numbers: {{4}}."
PAID_BODY_ES = "Hola {{1}}, el pago del pedido #{{2}} en {{3}} está confirmado. Números: {{4}}."


@pytest.fixture(autouse=True)
def quick_delivery(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.WHATSAPP_HTTP_TIMEOUT_SECONDS = 2
    settings.WHATSAPP_CONNECT_TIMEOUT_SECONDS = 2
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def graph(fake_graph, settings):
    settings.WHATSAPP_BUSINESS_ACCOUNT_ID = fake_graph.business_account_id
    return fake_graph


def buyer(*, wrote_hours_ago: float | None, language: str = "", wa_id: str = "5491100000001"):
    last = None if wrote_hours_ago is None else timezone.now() - timedelta(hours=wrote_hours_ago)
    return baker.make(
        Contact, wa_id=wa_id, profile_name="Ana", last_inbound_at=last, language=language
    )


def paid_notice(order: int = 42) -> Notice:
    return Notice.of(
        "payment_confirmed",
        TextMessage(body=f"Payment confirmed for order #{order}."),
        order=order,
        raffle="Car raffle",
        numbers="07, 12",
    )


def registry(name: str, language: str, body: str, status: str = "APPROVED") -> MessageTemplate:
    return MessageTemplate.objects.create(
        name=name,
        language=language,
        status=status,
        category="UTILITY",
        components=[{"type": "BODY", "text": body}],
    )


def approved_paid_template(graph, language: str = "en_US", body: str = PAID_BODY_EN):
    """The template exists at Meta (the fake checks sends against it) and in our registry."""
    graph.add_template("payment_confirmed", language, body=body)
    return registry("payment_confirmed", language, body)


def send(contact: Contact, notice: Notice) -> OutboundMessage:
    row = queue_message(contact=contact, message=notice)
    return deliver(outbound_id=row.pk)


# --- the window ---------------------------------------------------------------------------------
def test_inside_the_window_a_notice_goes_as_its_free_form_message(graph):
    approved_paid_template(graph)
    contact = buyer(wrote_hours_ago=2)

    row = send(contact, paid_notice())

    assert row.status == OutboundStatus.SENT
    assert graph.sent() == [row.payload]
    assert graph.sent()[0]["text"]["body"] == "Payment confirmed for order #42."
    assert row.template_name == ""


def test_outside_the_window_a_notice_goes_as_its_approved_template_filled_in_order(graph):
    approved_paid_template(graph)
    contact = buyer(wrote_hours_ago=30)

    row = send(contact, paid_notice())

    assert row.status == OutboundStatus.SENT
    [sent] = graph.sent()
    assert sent == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": contact.wa_id,
        "type": "template",
        "template": {
            "name": "payment_confirmed",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Ana"},
                        {"type": "text", "text": "42"},
                        {"type": "text", "text": "Car raffle"},
                        {"type": "text", "text": "07, 12"},
                    ],
                }
            ],
        },
    }
    assert (row.template_name, row.template_language) == ("payment_confirmed", "en_US")


def test_a_buyer_who_never_wrote_is_outside_the_window(graph):
    approved_paid_template(graph)

    row = send(buyer(wrote_hours_ago=None), paid_notice())

    assert graph.sent()[0]["type"] == "template"
    assert row.status == OutboundStatus.SENT


def test_a_plain_reply_is_never_turned_into_a_template(graph):
    approved_paid_template(graph)
    contact = buyer(wrote_hours_ago=30)
    graph.closed_windows.add(contact.wa_id)

    row = send(contact, TextMessage(body="Hello"))

    assert row.status == OutboundStatus.FAILED
    assert row.last_error_code == "131047"
    assert [r.json["type"] for r in graph.message_posts()] == ["text"]


# --- no usable template ---------------------------------------------------------------------
def test_without_a_template_the_notice_needs_one_and_nothing_is_sent_or_retried(graph):
    contact = buyer(wrote_hours_ago=30)

    row = send(contact, paid_notice())

    assert row.status == OutboundStatus.NEEDS_TEMPLATE
    assert row.last_error_code == "template_missing"
    assert "payment_confirmed" in row.last_error
    assert row.next_attempt_at is None
    assert graph.requests == []
    assert send_due() == 0  # not due again: a retry cannot make a template appear
    assert graph.requests == []


@pytest.mark.parametrize("status", [TemplateStatus.PENDING, TemplateStatus.PAUSED])
def test_a_template_that_is_not_approved_is_not_used(graph, status):
    registry("payment_confirmed", "en_US", PAID_BODY_EN, status=status)

    row = send(buyer(wrote_hours_ago=30), paid_notice())

    assert row.status == OutboundStatus.NEEDS_TEMPLATE
    assert row.last_error_code == "template_not_approved"
    assert status.value in row.last_error
    assert graph.requests == []


def test_an_operator_sends_it_again_once_the_template_is_approved(graph, admin_client):
    contact = buyer(wrote_hours_ago=30)
    row = send(contact, paid_notice())
    assert row.status == OutboundStatus.NEEDS_TEMPLATE
    approved_paid_template(graph)

    admin_client.post(
        "/admin/whatsapp/outboundmessage/",
        {"action": "send_again", "_selected_action": [row.pk]},
    )
    send_due()

    row.refresh_from_db()
    assert row.status == OutboundStatus.SENT
    assert graph.sent()[0]["template"]["name"] == "payment_confirmed"


# --- 131047 ---------------------------------------------------------------------------------
def test_a_131047_turns_the_notice_into_its_template_in_the_same_attempt(graph):
    approved_paid_template(graph)
    contact = buyer(wrote_hours_ago=2)  # our record says open; Meta knows better
    graph.closed_windows.add(contact.wa_id)

    row = send(contact, paid_notice())

    assert row.status == OutboundStatus.SENT
    assert row.attempts == 1
    assert [r.json["type"] for r in graph.message_posts()] == ["text", "template"]
    assert row.template_name == "payment_confirmed"


def test_a_131047_with_no_template_leaves_the_notice_needing_one(graph):
    contact = buyer(wrote_hours_ago=2)
    graph.closed_windows.add(contact.wa_id)

    row = send(contact, paid_notice())

    assert row.status == OutboundStatus.NEEDS_TEMPLATE
    assert "131047" in row.last_error
    assert len(graph.message_posts()) == 1


def test_a_template_meta_no_longer_has_is_reported_not_retried(graph):
    registry("payment_confirmed", "en_US", PAID_BODY_EN)  # deleted at Meta since the last sync

    row = send(buyer(wrote_hours_ago=30), paid_notice())

    assert row.status == OutboundStatus.NEEDS_TEMPLATE
    assert row.last_error_code == "template_refused"
    assert "132001" in row.last_error


# --- parameters -------------------------------------------------------------------------------
def test_a_parameter_count_mismatch_is_caught_before_sending(graph):
    body = "Hi {{1}}, order #{{2}} is paid."  # two parameters; the mapping gives four
    graph.add_template("payment_confirmed", "en_US", body=body)
    registry("payment_confirmed", "en_US", body)

    row = send(buyer(wrote_hours_ago=30), paid_notice())

    assert row.status == OutboundStatus.NEEDS_TEMPLATE
    assert row.last_error_code == "template_params"
    assert "2 body parameter(s)" in row.last_error
    assert graph.requests == []  # Meta's 132000 never happens


def test_a_mapping_edited_in_the_admin_fixes_the_parameter_order(graph):
    body = "Hi {{1}}, order #{{2}} is paid."
    graph.add_template("payment_confirmed", "en_US", body=body)
    registry("payment_confirmed", "en_US", body)
    NoticeTemplate.objects.create(
        notice_kind="payment_confirmed",
        template_name="payment_confirmed",
        parameters=["buyer_name", "order"],
    )

    row = send(buyer(wrote_hours_ago=30), paid_notice())

    assert row.status == OutboundStatus.SENT
    parameters = graph.sent()[0]["template"]["components"][0]["parameters"]
    assert [p["text"] for p in parameters] == ["Ana", "42"]


def test_a_value_the_notice_lacks_is_caught_before_sending(graph):
    approved_paid_template(graph)
    notice = Notice.of("payment_confirmed", TextMessage(body="Paid."), order=1, raffle="Car")

    row = send(buyer(wrote_hours_ago=30), notice)

    assert row.status == OutboundStatus.NEEDS_TEMPLATE
    assert "numbers" in row.last_error
    assert graph.requests == []


def test_a_header_variable_is_reported_not_sent_half_filled(graph):
    template = approved_paid_template(graph)
    template.components = [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
        *template.components,
    ]
    template.save()

    row = send(buyer(wrote_hours_ago=30), paid_notice())

    assert row.status == OutboundStatus.NEEDS_TEMPLATE
    assert "header" in row.last_error
    assert graph.requests == []


def test_parameters_are_flattened_to_what_meta_accepts(graph):
    approved_paid_template(graph)
    notice = Notice.of(
        "payment_confirmed", TextMessage(body="Paid."), order=1, raffle="Car\n\traffle", numbers=""
    )

    send(buyer(wrote_hours_ago=30), notice)

    texts = [p["text"] for p in graph.sent()[0]["template"]["components"][0]["parameters"]]
    assert texts == ["Ana", "1", "Car raffle", "-"]


# --- language -----------------------------------------------------------------------------------
def test_the_buyers_language_picks_the_templates_language(graph):
    approved_paid_template(graph, "en_US", PAID_BODY_EN)
    approved_paid_template(graph, "es", PAID_BODY_ES)

    spanish = send(buyer(wrote_hours_ago=30, language="es-MX", wa_id="1"), paid_notice())
    default = send(buyer(wrote_hours_ago=30, language="", wa_id="2"), paid_notice())
    unknown = send(buyer(wrote_hours_ago=30, language="pt_BR", wa_id="3"), paid_notice())

    assert spanish.template_language == "es"
    assert default.template_language == "en_US"  # LANGUAGE_CODE "en"
    assert unknown.template_language == "en_US"  # no Portuguese: the bot's language


def test_an_exact_regional_match_beats_the_bare_language():
    registry("payment_confirmed", "es", PAID_BODY_ES)
    registry("payment_confirmed", "es_AR", PAID_BODY_ES)
    registry("payment_confirmed", "es_MX", PAID_BODY_ES)

    template, _ = choose_template(notice_kind="payment_confirmed", language="es_MX")

    assert template.language == "es_MX"
    assert language_preferences("es-MX") == ["es_mx", "es", "en"]


def test_a_mapping_for_one_language_names_its_own_template(graph):
    approved_paid_template(graph, "en_US", PAID_BODY_EN)
    graph.add_template("pago_confirmado", "es", body=PAID_BODY_ES)
    registry("pago_confirmado", "es", PAID_BODY_ES)
    NoticeTemplate.objects.create(
        notice_kind="payment_confirmed",
        language="es",
        template_name="pago_confirmado",
        parameters=["buyer_name", "order", "raffle", "numbers"],
    )

    row = send(buyer(wrote_hours_ago=30, language="es"), paid_notice())

    assert (row.template_name, row.template_language) == ("pago_confirmado", "es")


# --- the registry: sync ---------------------------------------------------------------------
def test_sync_follows_paging_next_and_stores_every_template(graph):
    graph.template_page_size = 2
    for n in range(5):
        graph.add_template(f"notice_{n}", "es", body="Hola {{1}}")
    graph.add_template("draft", "en_US", body="Hi {{1}} {{2}}", status="PENDING")
    stale = registry("gone", "en_US", "Old")

    result = sync_message_templates()

    pages = [r for r in graph.requests if "message_templates" in r.path]
    assert result.pages == len(pages) == 3
    assert result.templates == 6 and result.created == 6
    draft = MessageTemplate.objects.get(name="draft")
    assert draft.status == TemplateStatus.PENDING
    assert draft.category == "UTILITY"
    assert draft.body_placeholders == ["1", "2"]
    stale.refresh_from_db()
    assert stale.status == TemplateStatus.DELETED


def test_a_second_sync_updates_rather_than_duplicates(graph):
    template = graph.add_template("payment_confirmed", "en_US", body=PAID_BODY_EN)
    sync_message_templates()
    template["status"] = "PAUSED"

    result = sync_message_templates()

    assert (result.created, result.updated) == (0, 1)
    assert MessageTemplate.objects.get().status == TemplateStatus.PAUSED


def test_sync_refuses_a_paging_link_to_another_host(graph, monkeypatch):
    from whatsapp.client import GraphClient

    def page(self, url):
        return {"data": [], "paging": {"next": "https://evil.example/steal?after=1"}}

    original = GraphClient.message_templates_page
    calls = []

    def spy(self, url):
        calls.append(url)
        return page(self, url) if len(calls) == 1 else original(self, url)

    monkeypatch.setattr(GraphClient, "message_templates_page", spy)

    with pytest.raises(TemplateSyncError, match="paging URL not on the Graph API host"):
        sync_message_templates()
    assert graph.requests == []  # neither the first page (stubbed) nor the foreign host


def test_the_sync_command_reports_and_fails_clearly(graph, settings, capsys):
    graph.add_template("payment_confirmed", "en_US", body=PAID_BODY_EN)

    call_command("sync_message_templates")

    assert "1 template(s) in 1 page(s)" in capsys.readouterr().out
    settings.WHATSAPP_BUSINESS_ACCOUNT_ID = ""
    with pytest.raises(CommandError, match="WHATSAPP_BUSINESS_ACCOUNT_ID"):
        call_command("sync_message_templates")


def test_the_admin_sync_now_button_syncs(graph, admin_client):
    graph.add_template("payment_confirmed", "en_US", body=PAID_BODY_EN)

    page = admin_client.get("/admin/whatsapp/messagetemplate/")
    response = admin_client.post("/admin/whatsapp/messagetemplate/sync/", follow=True)

    assert b"sync-templates" in page.content
    assert MessageTemplate.objects.filter(name="payment_confirmed", status="APPROVED").exists()
    assert b"Synced 1 template(s)" in response.content


def test_sync_now_needs_post_and_the_right(graph, client, django_user_model):
    staff = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    client.force_login(staff)

    assert client.post("/admin/whatsapp/messagetemplate/sync/").status_code == 403
    assert graph.requests == []


# --- the registry: status webhooks ------------------------------------------------------------
def template_update(event: str, name: str = "payment_confirmed", language: str = "en_US"):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "waba-1",
                "time": 1767225600,
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {
                            "event": event,
                            "message_template_id": 1234,
                            "message_template_name": name,
                            "message_template_language": language,
                            "reason": "NONE" if event == "APPROVED" else "INCORRECT_CATEGORY",
                        },
                    }
                ],
            }
        ],
    }


def test_status_webhooks_update_the_registry(client, whatsapp_settings):
    registry("payment_confirmed", "en_US", PAID_BODY_EN, status="PENDING")

    approved = signed_post(client, template_update("APPROVED"))
    template = MessageTemplate.objects.get()
    assert approved.status_code == 200
    assert (template.status, template.status_reason) == ("APPROVED", "")

    signed_post(client, template_update("PAUSED"))
    template.refresh_from_db()
    assert template.status == TemplateStatus.PAUSED
    assert template.status_reason == "INCORRECT_CATEGORY"
    assert template.components  # what the sync stored stays


def test_a_status_webhook_for_an_unknown_template_adds_it_unusable_until_synced(
    client, whatsapp_settings
):
    signed_post(client, template_update("APPROVED", name="winner", language="es"))

    template = MessageTemplate.objects.get(name="winner")
    assert template.status == TemplateStatus.APPROVED
    assert template.wa_template_id == "1234"
    with pytest.raises(NeedsTemplate, match="components are unknown"):
        template_payload(notice_kind="winner", values={}, to="1", language="es")


def test_a_flagged_template_keeps_its_status_and_a_reinstated_one_is_approved():
    registry("payment_confirmed", "en_US", PAID_BODY_EN, status="APPROVED")
    base = {"message_template_name": "payment_confirmed", "message_template_language": "en_US"}

    flagged = apply_template_status_update(value={**base, "event": "FLAGGED"})
    assert flagged.status == TemplateStatus.APPROVED
    apply_template_status_update(value={**base, "event": "PAUSED"})
    reinstated = apply_template_status_update(value={**base, "event": "REINSTATED"})

    assert reinstated.status == TemplateStatus.APPROVED
    assert apply_template_status_update(value={"event": "APPROVED"}) is None


# --- the operator sees what waits -------------------------------------------------------------
def test_the_landing_page_and_the_timeline_show_notices_waiting_for_a_template(graph, admin_client):
    contact = buyer(wrote_hours_ago=30)
    row = send(contact, paid_notice())

    landing = admin_client.get("/admin/").content.decode()
    timeline = admin_client.get(f"/admin/whatsapp/contact/{contact.pk}/change/").content.decode()

    assert 'id="needs-template"' in landing
    assert f"#{row.pk}" in landing and "payment_confirmed" in landing
    assert "Needs a template: no template payment_confirmed" in timeline


# --- the draw announcement at scale ----------------------------------------------------------
def test_an_announcement_to_10000_buyers_outside_the_window_is_queued_set_based(graph):
    stale = timezone.now() - timedelta(days=3)
    Contact.objects.bulk_create(
        Contact(wa_id=f"54911{n:08d}", profile_name=f"Buyer {n}", last_inbound_at=stale)
        for n in range(10_000)
    )
    ids = list(Contact.objects.values_list("pk", flat=True))
    notice = Notice.of(
        "draw_result",
        TextMessage(body="The draw of Car raffle is done: the winning number is 0427."),
        raffle="Car raffle",
        winning_number="0427",
    )

    with CaptureQueriesContext(connection) as queries:
        written = broadcast(messages=[(pk, notice) for pk in ids])

    assert written == 10_000
    assert len(queries) <= 5  # one INSERT ... SELECT, not one per buyer
    rows = OutboundMessage.objects.filter(notice_kind="draw_result")
    assert rows.count() == 10_000
    same = {"raffle": "Car raffle", "winning_number": "0427"}
    assert rows.filter(template_params=same).count() == 10_000
    # Delivered, each goes as the template, named for its own buyer.
    body = "Hi {{1}}, the draw of {{2}} is done: the winning number is {{3}}."
    graph.add_template("draw_result", "en_US", body=body)
    registry("draw_result", "en_US", body)
    first = rows.order_by("pk").first()
    deliver(outbound_id=first.pk)
    [sent] = graph.sent()
    assert sent["type"] == "template" and sent["to"] == first.contact.wa_id
    assert sent["template"]["components"][0]["parameters"][0]["text"] == first.contact.profile_name


# --- the admin: mapping and the buyer's language --------------------------------------------
def test_the_notice_mapping_is_edited_in_the_admin_and_checked(admin_client):
    url = "/admin/whatsapp/noticetemplate/add/"
    form = {"notice_kind": "winner", "language": "es", "template_name": "ganador"}

    refused = admin_client.post(url, {**form, "parameters": '"buyer_name"'})
    unknown = admin_client.post(url, {**form, "notice_kind": "lottery", "parameters": "[]"})
    saved = admin_client.post(url, {**form, "parameters": '["buyer_name", "prize"]'})

    assert refused.status_code == unknown.status_code == 200  # the form again, with the error
    assert saved.status_code == 302
    [row] = NoticeTemplate.objects.all()
    assert (row.notice_kind, row.language, row.parameters) == (
        "winner",
        "es",
        ["buyer_name", "prize"],
    )


def test_the_contact_page_offers_the_buyers_language(admin_client):
    contact = buyer(wrote_hours_ago=1)

    page = admin_client.get(f"/admin/whatsapp/contact/{contact.pk}/change/").content.decode()

    assert 'name="language"' in page
    assert 'name="wa_id"' not in page  # the rest stays read-only
