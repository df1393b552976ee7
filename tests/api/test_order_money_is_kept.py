"""An order keeps the money it was made with: its own currency and unit price, and a raffle with
orders cannot change its price or currency (409 `price_locked`)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from raffles import services
from raffles.errors import PriceLocked
from raffles.models import Order, Raffle

pytestmark = pytest.mark.django_db


def test_an_order_stores_the_currency_of_its_raffle(make_raffle, make_order):
    raffle = make_raffle(currency="EUR")

    order = make_order(raffle=raffle, numbers=[3])

    assert Order.objects.get(pk=order.pk).currency == "EUR"


@pytest.mark.parametrize(
    "changes",
    [{"currency": "JPY"}, {"ticket_price": "5.00"}, {"ticket_price": "5.00", "title": "x"}],
)
def test_a_raffle_with_orders_refuses_a_new_price_or_currency_and_changes_nothing(
    api, raffle, make_order, changes
):
    order = make_order(numbers=[1])
    services.confirm_payment(order=order)

    response = api.patch_json(f"/api/v1/raffles/{raffle.pk}", changes)

    assert response.status_code == 409
    assert response.json()["code"] == "price_locked"
    assert set(response.json()["extra"]["fields"]) == set(changes) - {"title"}
    raffle.refresh_from_db()
    assert (raffle.ticket_price, raffle.currency, raffle.title) == (
        Decimal("10.00"),
        "USD",
        "Summer raffle",
    )
    paid = api.get(f"/api/v1/orders/{order.pk}").json()
    assert (paid["unit_price"], paid["currency"]) == ("10.00", "USD")


def test_sending_the_same_price_again_is_no_change(api, raffle, make_order):
    make_order(numbers=[1])

    response = api.patch_json(
        f"/api/v1/raffles/{raffle.pk}", {"ticket_price": "10.0", "currency": "USD", "title": "New"}
    )

    assert response.status_code == 200, response.content
    assert response.json()["title"] == "New"


def test_a_raffle_without_orders_can_change_its_price_and_currency(api, raffle):
    response = api.patch_json(
        f"/api/v1/raffles/{raffle.pk}", {"ticket_price": "7.50", "currency": "EUR"}
    )

    assert response.status_code == 200
    assert (response.json()["ticket_price"], response.json()["currency"]) == ("7.50", "EUR")


def test_the_service_refuses_it_for_the_admin_and_the_bot_too(raffle, make_order):
    make_order(numbers=[1])

    with pytest.raises(PriceLocked):
        services.update_raffle(raffle=raffle, changes={"currency": "JPY"})


def test_the_migration_gives_existing_orders_their_raffles_currency(transactional_db):
    executor = MigrationExecutor(connection)
    # WhatsApp's tables as they are now: only the raffles' migrations go back.
    before = [
        ("raffles", "0006_proofs_wait_for_their_files"),
        ("whatsapp", "0004_message_templates_and_notice_forms"),
    ]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    raffle = old.get_model("raffles", "Raffle").objects.create(
        title="Old", ticket_price=Decimal("2.00"), currency="ARS", min_number=1, max_number=5
    )
    contact = old.get_model("whatsapp", "Contact").objects.create(wa_id="5491100000001")
    old.get_model("raffles", "Order").objects.create(
        raffle_id=raffle.pk, contact_id=contact.pk, qty=1, unit_price=2, total_amount=2
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert list(Order.objects.values_list("currency", flat=True)) == ["ARS"]
    assert Raffle.objects.get(pk=raffle.pk).currency == "ARS"


# --- Confirming: every status, as the operation's description says ------------------------------


def test_confirming_an_expired_order_retakes_its_numbers(api, order):
    from raffles.services.expiry import expire_orders

    assert expire_orders(order_ids=[order.pk], now=timezone.now() + timedelta(days=30))

    response = api.post_json(f"/api/v1/orders/{order.pk}/confirm-payment")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["numbers"]) == ("PAID", [7, 8])


def test_confirming_an_expired_order_whose_number_was_taken_is_numbers_lost(api, order, make_order):
    from raffles.services.expiry import expire_orders

    assert expire_orders(order_ids=[order.pk], now=timezone.now() + timedelta(days=30))
    make_order(numbers=[8])

    response = api.post_json(f"/api/v1/orders/{order.pk}/confirm-payment")

    assert response.status_code == 409
    assert response.json()["code"] == "numbers_lost"
    assert response.json()["extra"]["numbers"] == [8]


def test_confirming_a_draft_order_is_order_not_pending(api, order):
    Order.objects.filter(pk=order.pk).update(status="DRAFT")

    response = api.post_json(f"/api/v1/orders/{order.pk}/confirm-payment")

    assert response.status_code == 409
    assert response.json()["code"] == "order_not_pending"
