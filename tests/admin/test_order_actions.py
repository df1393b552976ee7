"""Operators confirm, reject and cancel through the admin, and the same rules hold as in the API."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from raffles import services
from raffles.models import OrderStatus, ProofStatus, TicketNumber, TicketStatus
from tests.admin.conftest import make_buyer, pending_order_with_proof

pytestmark = pytest.mark.django_db


def change_url(order) -> str:
    return reverse("admin:raffles_order_change", args=[order.pk])


def test_confirm_button_marks_the_order_paid_and_its_tickets_sold(client, superuser, proof_order):
    client.force_login(superuser)

    response = client.post(reverse("admin:raffles_order_confirm", args=[proof_order.pk]))

    assert response.status_code == 302
    proof_order.refresh_from_db()
    assert proof_order.status == OrderStatus.PAID
    assert proof_order.confirmed_by == superuser
    statuses = set(
        TicketNumber.objects.filter(raffle=proof_order.raffle, number__in=[7, 8]).values_list(
            "status", flat=True
        )
    )
    assert statuses == {TicketStatus.SOLD}


def test_confirm_of_a_cancelled_order_is_refused_with_a_message_not_an_error(
    client, superuser, proof_order
):
    services.cancel_order(order=proof_order, reason="duplicate")
    client.force_login(superuser)

    response = client.post(
        reverse("admin:raffles_order_confirm", args=[proof_order.pk]), follow=True
    )

    assert response.status_code == 200
    assert "Not confirmed" in response.content.decode()
    proof_order.refresh_from_db()
    assert proof_order.status == OrderStatus.CANCELLED


def test_cancel_asks_for_a_reason_then_releases_the_numbers(client, superuser, proof_order):
    client.force_login(superuser)
    url = reverse("admin:raffles_order_cancel", args=[proof_order.pk])

    form_page = client.get(url)
    empty = client.post(url, {"reason": ""})
    done = client.post(url, {"reason": "Transfer never arrived"})

    assert form_page.status_code == 200 and "Reason" in form_page.content.decode()
    assert empty.status_code == 200  # the form again, nothing changed
    assert done.status_code == 302
    proof_order.refresh_from_db()
    assert proof_order.status == OrderStatus.CANCELLED
    assert proof_order.cancel_reason == "Transfer never arrived"
    assert not TicketNumber.objects.filter(reserved_by_order=proof_order).exists()


def test_reject_proof_gives_the_order_a_fresh_deadline(client, superuser, proof_order, proof):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:raffles_order_reject_proof", args=[proof_order.pk, proof.pk]),
        {"reason": "The photo is blurry"},
    )

    assert response.status_code == 302
    proof.refresh_from_db()
    proof_order.refresh_from_db()
    assert proof.status == ProofStatus.REJECTED
    assert proof.review_note == "The photo is blurry"
    assert proof_order.status == OrderStatus.PENDING_PAYMENT
    assert proof_order.expires_at is not None


def test_bulk_confirm_reports_per_order_what_happened(client, superuser, raffle):
    confirmable = [pending_order_with_proof(raffle, make_buyer(i), [i]) for i in (1, 2, 3)]
    cancelled = pending_order_with_proof(raffle, make_buyer(4), [4])
    services.cancel_order(order=cancelled, reason="changed their mind")
    client.force_login(superuser)

    response = client.post(
        reverse("admin:raffles_order_changelist"),
        {
            "action": "confirm_selected",
            "_selected_action": [o.pk for o in [*confirmable, cancelled]],
        },
        follow=True,
    )

    text = response.content.decode()
    assert response.status_code == 200
    assert "3 confirmed" in text
    assert "1 skipped: " in text and f"#{cancelled.pk}" in text
    assert all(
        o.status == OrderStatus.PAID
        for o in type(cancelled).objects.filter(pk__in=[c.pk for c in confirmable])
    )


def test_bulk_cancel_asks_once_for_the_reason(client, superuser, raffle):
    orders = [pending_order_with_proof(raffle, make_buyer(i), [i]) for i in (1, 2)]
    client.force_login(superuser)
    changelist = reverse("admin:raffles_order_changelist")
    selected = [o.pk for o in orders]

    ask = client.post(changelist, {"action": "cancel_selected", "_selected_action": selected})
    done = client.post(
        changelist,
        {
            "action": "cancel_selected",
            "_selected_action": selected,
            "apply": "1",
            "reason": "Raffle postponed",
        },
        follow=True,
    )

    assert ask.status_code == 200 and "reason-form" in ask.content.decode()
    assert "2 cancelled" in done.content.decode()
    assert {o.cancel_reason for o in type(orders[0]).objects.filter(pk__in=selected)} == {
        "Raffle postponed"
    }


def test_order_search_finds_by_ticket_number_and_by_buyer_phone(client, superuser, raffle):
    ana = pending_order_with_proof(raffle, make_buyer(1, "Ana"), [42])
    beto = pending_order_with_proof(raffle, make_buyer(2, "Beto"), [43])
    client.force_login(superuser)
    changelist = reverse("admin:raffles_order_changelist")

    by_number = client.get(changelist, {"q": "42"}).context["cl"].result_list
    by_phone = client.get(changelist, {"q": beto.contact.wa_id}).context["cl"].result_list

    assert [o.pk for o in by_number] == [ana.pk]
    assert [o.pk for o in by_phone] == [beto.pk]


def test_order_page_shows_proof_preview_numbers_and_history(client, superuser, proof_order):
    client.force_login(superuser)

    html = client.get(change_url(proof_order)).content.decode()

    assert "proof-preview" in html
    assert "07, 08" in html
    assert "Pending payment" in html
    assert 'id="confirm-payment"' in html and 'id="cancel-order"' in html


def test_staff_without_the_confirm_permission_cannot_confirm(
    client, django_user_model, proof_order
):
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)

    page = client.get(change_url(proof_order)).content.decode()
    response = client.post(reverse("admin:raffles_order_confirm", args=[proof_order.pk]))

    assert 'id="confirm-payment"' not in page
    assert response.status_code == 403
    proof_order.refresh_from_db()
    assert proof_order.status == OrderStatus.PENDING_PAYMENT
