"""Operators set raffles up in the admin through the same services as the API."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from raffles import services
from raffles.models import Raffle, RaffleEvent, TicketNumber
from tests.admin.conftest import make_buyer, make_raffle, pending_order_with_proof

pytestmark = pytest.mark.django_db


def test_creating_a_raffle_in_the_admin_generates_its_numbers(client, superuser):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:raffles_raffle_add"),
        {
            "title": "Summer raffle",
            "description": "",
            "ticket_price": "3.50",
            "currency": "EUR",
            "min_number": "1",
            "max_number": "200",
            "max_tickets_per_order": "5",
            "reservation_ttl_minutes": "",
            "payment_instructions": "IBAN ...",
            "draw_at_0": "",
            "draw_at_1": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    raffle = Raffle.objects.get(title="Summer raffle")
    assert TicketNumber.objects.filter(raffle=raffle).count() == 200
    assert raffle.tickets_ready


def test_cashier_sees_raffles_but_cannot_edit_or_create_them(client, cashier, raffle):
    client.force_login(cashier)

    view = client.get(reverse("admin:raffles_raffle_change", args=[raffle.pk]))
    edit = client.post(
        reverse("admin:raffles_raffle_change", args=[raffle.pk]), {"title": "Hacked"}
    )
    add = client.get(reverse("admin:raffles_raffle_add"))

    assert view.status_code == 200
    assert edit.status_code == 403
    assert add.status_code == 403
    raffle.refresh_from_db()
    assert raffle.title == "Spring raffle"


def test_cashier_can_confirm_payments(client, cashier, proof_order):
    client.force_login(cashier)

    response = client.post(reverse("admin:raffles_order_confirm", args=[proof_order.pk]))

    assert response.status_code == 302
    proof_order.refresh_from_db()
    assert proof_order.status == "PAID"


def test_activate_action_refuses_a_raffle_whose_numbers_are_missing(client, superuser, raffle):
    services.deactivate_raffle(raffle=raffle)
    Raffle.objects.filter(pk=raffle.pk).update(tickets_ready=False)
    client.force_login(superuser)

    response = client.post(
        reverse("admin:raffles_raffle_changelist"),
        {"action": "activate", "_selected_action": [raffle.pk]},
        follow=True,
    )

    assert "Skipped Spring raffle" in response.content.decode()
    raffle.refresh_from_db()
    assert not raffle.is_active


def test_raffle_list_shows_counts_per_status(client, superuser, raffle):
    order = pending_order_with_proof(raffle, make_buyer(1), [1, 2, 3])
    services.confirm_payment(order=order)
    pending_order_with_proof(raffle, make_buyer(2), [4])
    client.force_login(superuser)

    response = client.get(reverse("admin:raffles_raffle_changelist"))

    changelist = response.context["cl"]
    [shown] = changelist.result_list
    admin_obj = changelist.model_admin
    assert (admin_obj.sold(shown), admin_obj.reserved(shown), admin_obj.available(shown)) == (
        3,
        1,
        96,
    )
    assert not hasattr(admin_obj, "_counts")  # nothing kept on the admin shared by requests


def test_two_raffle_lists_at_once_each_show_their_own_counts(client, superuser, raffle):
    from django.test import RequestFactory

    other = make_raffle(title="Autumn raffle", max_number=9)
    services.confirm_payment(order=pending_order_with_proof(other, make_buyer(1), [1, 2]))
    client.force_login(superuser)
    admin_obj = client.get(reverse("admin:raffles_raffle_changelist")).context["cl"].model_admin
    factory = RequestFactory()

    def changelist(query: str):
        request = factory.get("/", {"q": query})
        request.user = superuser
        return admin_obj.get_changelist_instance(request)

    spring, autumn = changelist("Spring"), changelist("Autumn")  # both alive at once

    assert [admin_obj.sold(r) for r in spring.result_list] == [0]
    assert [admin_obj.sold(r) for r in autumn.result_list] == [2]


def test_sold_numbers_export_lists_each_number_with_its_buyer(client, superuser, raffle):
    paid = pending_order_with_proof(raffle, make_buyer(1, "Ana"), [5, 9])
    services.confirm_payment(order=paid)
    pending_order_with_proof(raffle, make_buyer(2, "Beto"), [6])  # not paid: not exported
    client.force_login(superuser)

    response = client.get(reverse("admin:raffles_raffle_sold_csv", args=[raffle.pk]))

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["raffle", "number", "order", "buyer_wa_id"]
    assert [(r[1], r[4]) for r in rows[1:]] == [("05", "Ana"), ("09", "Ana")]


def test_the_raffle_page_shows_who_changed_what(client, superuser, raffle):
    client.force_login(superuser)
    client.post(
        reverse("admin:raffles_raffle_changelist"),
        {"action": "deactivate", "_selected_action": [raffle.pk]},
    )

    page = client.get(reverse("admin:raffles_raffle_change", args=[raffle.pk])).content.decode()

    event = RaffleEvent.objects.get(raffle=raffle, change="DEACTIVATED")
    assert event.actor == superuser
    assert "Deactivated" in page and "boss" in page
    assert "<b>is_active</b>: True → False" in page


def test_the_history_of_a_deleted_raffle_stays_in_the_admin(client, superuser):
    doomed = make_raffle(title="Doomed raffle", max_number=9)
    services.delete_raffle(raffle=doomed, by=superuser)
    client.force_login(superuser)

    history = client.get(reverse("admin:raffles_raffleevent_changelist"), {"q": "Doomed"})

    page = history.content.decode()
    assert history.status_code == 200
    assert "Doomed raffle" in page and "Deleted" in page and "Created" in page
