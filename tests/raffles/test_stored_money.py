"""Installs hit before the money bounds: `check --database default` finds orders whose money
Django cannot read back and raffles whose largest order cannot record its total, and
`repair_order_money --cancel` cancels the orders so every order list works again."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.db import DataError, connection, transaction
from django.test import Client
from rest_framework.authtoken.models import Token

from raffles.models import ChangeSource, Order, OrderEvent, OrderStatus, Raffle, TicketStatus
from raffles.services import confirm_payment, create_order_for_buyer, expire_orders
from tests.raffles.conftest import lapse, make_raffle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def large_orders_allowed(settings):
    """These orders test money at its bounds, larger than the site's cap on numbers one buyer
    holds (that cap has its own tests, tests/raffles/test_limits.py)."""
    settings.NUMBERS_HELD_PER_CONTACT_PER_RAFFLE = 10**6


only_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="only SQLite stores an amount larger than its column"
)
only_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's own refusal of such an amount"
)

# The order: 1000 numbers at 9,999,999,999.99 is a total of 13 integer digits.
BAD_PRICE = "9999999999.99"


def plant_unfit_order(order: Order) -> None:
    """What the unbounded API stored: a price and total larger than the columns declare. One
    statement computes the total the way the table's check constraint does (in SQLite's
    floating point), so the constraint holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Order._meta.db_table} SET unit_price = {BAD_PRICE}, "
            f"total_amount = {BAD_PRICE} * qty WHERE id = %s",
            [order.pk],
        )


@pytest.fixture
def raffle(db) -> Raffle:
    return make_raffle(min_number=1, max_number=2000, max_tickets_per_order=1000)


@pytest.fixture
def make_order(raffle):
    from model_bakery import baker

    from whatsapp.models import Contact

    def make(qty: int = 1000) -> Order:
        buyer = baker.make(Contact, wa_id=f"54911{Contact.objects.count():08d}")
        return create_order_for_buyer(raffle=raffle, contact=buyer, qty=qty)

    return make


@pytest.fixture
def api_get(db):
    from django.contrib.auth.models import User

    user = User.objects.create_superuser("boss", "boss@example.com", "pass-word-1")
    key = Token.objects.create(user=user).key
    # The typed API takes Bearer tokens, the DRF compatibility paths `Token <key>`.
    api = Client(headers={"Authorization": f"Bearer {key}"}, raise_request_exception=False)
    compat = Client(headers={"Authorization": f"Token {key}"}, raise_request_exception=False)
    admin = Client(raise_request_exception=False)
    admin.force_login(user)

    def get(which: str) -> int:
        if which == "admin":
            return admin.get("/admin/raffles/order/").status_code
        client = api if which.startswith("/api/v1/") else compat
        return client.get(which).status_code

    return get


LISTS = ["/api/v1/orders", "/api/orders", "/api/orders/pending-payment/", "admin"]


def check_messages() -> list:
    from django.core.checks import run_checks

    return run_checks(databases=["default"])


@only_sqlite
def test_a_planted_unfit_order_breaks_every_order_list(make_order, api_get):
    plant_unfit_order(make_order())

    assert {path: api_get(path) for path in LISTS} == dict.fromkeys(LISTS, 500)


@only_sqlite
def test_the_database_check_lists_an_order_whose_money_does_not_fit(make_order):
    fine, bad = make_order(qty=3), make_order()
    plant_unfit_order(bad)

    errors = [m for m in check_messages() if m.id == "raffles.E001"]

    assert len(errors) == 1
    assert f"Order #{bad.pk} (PENDING_PAYMENT" in errors[0].msg
    assert f"Order #{fine.pk} " not in errors[0].msg
    assert "repair_order_money --cancel" in errors[0].hint
    with pytest.raises(SystemCheckError, match=r"raffles\.E001"):
        call_command("check", databases=["default"])


def test_the_check_runs_only_when_a_database_is_named(raffle):
    Raffle.objects.filter(pk=raffle.pk).update(ticket_price=Decimal(BAD_PRICE))
    plain, named = StringIO(), StringIO()

    call_command("check", stdout=plain, stderr=plain)
    call_command("check", databases=["default"], stdout=named, stderr=named)

    assert "raffles.W001" not in plain.getvalue()
    assert "raffles.W001" in named.getvalue()


def test_the_database_check_warns_of_a_raffle_whose_largest_order_cannot_fit(raffle):
    Raffle.objects.filter(pk=raffle.pk).update(ticket_price=Decimal(BAD_PRICE))

    warnings = [m for m in check_messages() if m.id == "raffles.W001"]

    assert len(warnings) == 1
    assert f"Raffle #{raffle.pk}" in warnings[0].msg
    assert "at most 100 at this price" in warnings[0].hint


@only_sqlite
def test_the_repair_command_lists_without_changing_anything(make_order):
    bad = make_order()
    plant_unfit_order(bad)
    out = StringIO()

    call_command("repair_order_money", stdout=out)

    assert f"Order #{bad.pk} (PENDING_PAYMENT, raffle #{bad.raffle_id}): 1000 x" in out.getvalue()
    assert Order.objects.filter(pk=bad.pk, status=OrderStatus.PENDING_PAYMENT).exists()


@only_sqlite
def test_repairing_cancels_the_order_with_an_audited_reason_and_releases_its_numbers(
    make_order, api_get, raffle
):
    bad = make_order()
    fine = make_order(qty=3)
    plant_unfit_order(bad)

    call_command("repair_order_money", "--cancel", stdout=StringIO())

    order = Order.objects.get(pk=bad.pk)
    assert order.status == OrderStatus.CANCELLED
    assert (order.unit_price, order.total_amount) == (0, 0)
    assert "It was 1000 x 9999999999.99 = 9999999999990.00" in order.cancel_reason
    event = OrderEvent.objects.filter(order=order).latest("id")
    assert (event.to_status, event.source, event.note) == (
        OrderStatus.CANCELLED,
        ChangeSource.SYSTEM,
        order.cancel_reason,
    )
    assert not raffle.tickets.filter(reserved_by_order=order).exists()
    assert raffle.tickets.filter(status=TicketStatus.RESERVED).count() == 3  # `fine` keeps its
    assert Order.objects.get(pk=fine.pk).status == OrderStatus.PENDING_PAYMENT
    assert {path: api_get(path) for path in LISTS} == dict.fromkeys(LISTS, 200)
    assert [m for m in check_messages() if m.id == "raffles.E001"] == []


@only_sqlite
def test_repairing_twice_changes_nothing_the_second_time(make_order):
    bad = make_order()
    plant_unfit_order(bad)
    call_command("repair_order_money", "--cancel", stdout=StringIO())
    events = OrderEvent.objects.count()
    out = StringIO()

    call_command("repair_order_money", "--cancel", stdout=out)

    assert "No order holds money that does not fit" in out.getvalue()
    assert OrderEvent.objects.count() == events


@only_sqlite
def test_an_expired_unfit_order_keeps_its_status_and_gets_a_history_row(make_order, api_get):
    bad = lapse(make_order())
    expire_orders(order_ids=[bad.pk])
    plant_unfit_order(bad)

    call_command("repair_order_money", "--cancel", stdout=StringIO())

    order = Order.objects.get(pk=bad.pk)
    assert order.status == OrderStatus.EXPIRED
    assert order.total_amount == 0
    event = OrderEvent.objects.filter(order=order).latest("id")
    assert (event.from_status, event.to_status) == (OrderStatus.EXPIRED, OrderStatus.EXPIRED)
    assert "9999999999990.00" in event.note
    assert api_get("/api/v1/orders") == 200


@only_sqlite
def test_a_paid_unfit_order_is_left_for_an_operator_and_the_command_fails(make_order):
    bad = make_order()
    confirm_payment(order=bad)
    plant_unfit_order(bad)

    with pytest.raises(CommandError, match=f"order #{bad.pk}: .*PAID"):
        call_command("repair_order_money", "--cancel", stdout=StringIO())

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status FROM {Order._meta.db_table} WHERE id = %s", [bad.pk])
        assert cursor.fetchone() == (OrderStatus.PAID,)


@only_postgresql
def test_postgresql_refuses_to_store_such_an_order(make_order):
    order = make_order()

    with pytest.raises(DataError), transaction.atomic():
        plant_unfit_order(order)

    assert [m for m in check_messages() if m.id.startswith("raffles.")] == []
