"""Money bounds: every price and order size a raffle may be set to gives totals an order can
record; the services refuse the rest (also for raffles stored before the bounds); the admin
says so on the form."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from raffles import bounds
from raffles.errors import OrderTotalTooLarge
from raffles.models import Order, Raffle, TicketNumber, TicketStatus
from raffles.services import create_raffle, reserve_random, reserve_specific, update_raffle
from tests.raffles.conftest import make_raffle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def large_orders_allowed(settings):
    """These orders test money at its bounds, larger than the site's cap on numbers one buyer
    holds (that cap has its own tests, tests/raffles/test_limits.py)."""
    settings.NUMBERS_HELD_PER_CONTACT_PER_RAFFLE = 10**6


OLD_PRICE = Decimal("9999999999.99")  # the raffle: accepted before the bounds


def older_raffle(**stored) -> Raffle:
    """A raffle as an install from before the bounds may hold it: set without validation."""
    raffle = make_raffle(min_number=1, max_number=1000, max_tickets_per_order=10)
    Raffle.objects.filter(pk=raffle.pk).update(**stored)
    raffle.refresh_from_db()
    return raffle


def test_the_largest_price_times_the_largest_order_fits_an_order_total():
    largest = bounds.ticket_price_max() * bounds.tickets_per_order_max()

    assert largest <= bounds.order_total_max()
    assert bounds.fits(bounds.order_total_field(), largest)
    assert bounds.fits(bounds.unit_price_field(), bounds.ticket_price_max())


def test_the_bounds_are_the_ones_the_fields_declare():
    assert bounds.ticket_price_max() == Decimal("9999999.99")
    assert bounds.tickets_per_order_max() == 100_000
    assert bounds.order_total_max() == Decimal("999999999999.99")


def test_a_raffle_whose_largest_order_cannot_record_its_total_is_not_created(db):
    with pytest.raises(OrderTotalTooLarge) as refused:
        create_raffle(title="Typo", ticket_price=OLD_PRICE, max_tickets_per_order=1000)

    assert refused.value.extra() == {
        "limit": "999999999999.99",
        "total": "9999999999990.00",
        "unit_price": "9999999999.99",
        "qty": 1000,
        "max_qty": 100,
    }
    assert not Raffle.objects.exists()


def test_a_price_or_maximum_past_its_bound_is_refused_by_the_field_checks(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as price:
        create_raffle(title="Dear", ticket_price=Decimal("10000000.00"), max_tickets_per_order=1)
    with pytest.raises(ValidationError) as per_order:
        create_raffle(title="Many", ticket_price=Decimal("1.00"), max_tickets_per_order=100_001)

    assert "ticket_price" in price.value.message_dict
    assert "max_tickets_per_order" in per_order.value.message_dict
    assert not Raffle.objects.exists()


def test_the_largest_allowed_raffle_is_created(db):
    raffle = create_raffle(
        title="Top", ticket_price=bounds.ticket_price_max(), max_tickets_per_order=100_000
    )

    raffle.refresh_from_db()
    assert raffle.ticket_price == Decimal("9999999.99")
    assert raffle.max_tickets_per_order == 100_000


def test_changing_only_the_price_is_checked_against_the_stored_maximum(db):
    raffle = older_raffle(ticket_price=Decimal("1.00"), max_tickets_per_order=1_000_000)

    with pytest.raises(OrderTotalTooLarge) as refused:
        update_raffle(raffle=raffle, changes={"ticket_price": Decimal("9999999.99")})

    assert refused.value.qty == 1_000_000
    raffle.refresh_from_db()
    assert raffle.ticket_price == Decimal("1.00")


def test_changing_only_the_maximum_is_checked_against_the_stored_price(db):
    raffle = older_raffle(ticket_price=OLD_PRICE)

    with pytest.raises(OrderTotalTooLarge):
        update_raffle(raffle=raffle, changes={"max_tickets_per_order": 1000})

    raffle.refresh_from_db()
    assert raffle.max_tickets_per_order == 10


def test_an_older_raffle_can_still_be_closed(db):
    raffle = older_raffle(ticket_price=OLD_PRICE, max_tickets_per_order=1000)

    update_raffle(raffle=raffle, changes={"is_active": False})

    raffle.refresh_from_db()
    assert not raffle.is_active


def test_an_order_whose_total_cannot_be_recorded_is_refused_and_takes_nothing(buyer):
    raffle = older_raffle(ticket_price=OLD_PRICE, max_tickets_per_order=1000)

    with pytest.raises(OrderTotalTooLarge) as random_refused:
        reserve_random(raffle=raffle, qty=500, contact=buyer)
    with pytest.raises(OrderTotalTooLarge):
        reserve_specific(raffle=raffle, numbers=list(range(1, 102)), contact=buyer)

    assert random_refused.value.extra()["max_qty"] == 100
    assert not Order.objects.exists()
    assert not TicketNumber.objects.exclude(status=TicketStatus.AVAILABLE).exists()


def test_an_order_on_an_older_raffle_that_fits_is_taken_and_reads_back(buyer):
    raffle = older_raffle(ticket_price=OLD_PRICE, max_tickets_per_order=1000)

    order = reserve_random(raffle=raffle, qty=100, contact=buyer)

    stored = Order.objects.get(pk=order.pk)
    assert stored.total_amount == Decimal("999999999999.00")
    assert bounds.fits(bounds.order_total_field(), stored.total_amount)


# --- the admin -------------------------------------------------------------------------------


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pass-word-1")


def _add_form(**fields) -> dict[str, str]:
    data = {
        "title": "Admin raffle",
        "description": "",
        "ticket_price": "3.50",
        "currency": "USD",
        "min_number": "1",
        "max_number": "20",
        "max_tickets_per_order": "5",
        "reservation_ttl_minutes": "",
        "payment_instructions": "",
        "draw_at_0": "",
        "draw_at_1": "",
    }
    data.update(fields)
    return data


@pytest.mark.parametrize(
    ("field", "value"),
    [("ticket_price", "10000000.00"), ("max_tickets_per_order", "100001")],
)
def test_the_admin_shows_a_value_past_its_bound_as_a_form_error(client, superuser, field, value):
    client.force_login(superuser)

    response = client.post(reverse("admin:raffles_raffle_add"), _add_form(**{field: value}))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert "less than or equal to" in errors[field][0]
    assert not Raffle.objects.exists()


def test_the_admin_refuses_a_price_an_older_maximum_cannot_carry_in_the_sites_language(
    client, superuser, settings
):
    raffle = older_raffle(ticket_price=Decimal("1.00"), max_tickets_per_order=1_000_000)
    client.force_login(superuser)
    url = reverse("admin:raffles_raffle_change", args=[raffle.pk])
    form = _add_form(
        title=raffle.title,
        ticket_price="9999999.99",
        max_tickets_per_order="1000000",
        min_number="1",
        max_number="1000",
    )

    settings.LANGUAGE_CODE = "es"

    response = client.post(url, form)
    errors = response.context["adminform"].form.errors
    combination, maximum = str(errors["__all__"][0]), str(errors["max_tickets_per_order"][0])

    assert response.status_code == 200
    assert "más de lo que admite un pedido (999999999999.99)" in combination
    assert "como máximo 100000 números por pedido" in combination
    assert "menor o igual a 100000" in maximum  # Django's own wording, also in Spanish
    raffle.refresh_from_db()
    assert raffle.ticket_price == Decimal("1.00")
