"""`__any_of`: many ids as one parameter, matching exactly what `__in` with a list matches."""

from __future__ import annotations

import pytest
from model_bakery import baker

from project.id_sets import AnyOf
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db


def test_any_of_matches_the_listed_rows_and_only_those():
    contacts = baker.make(Contact, _quantity=6)
    wanted = [contacts[1].pk, contacts[4].pk, 10**9]

    found = Contact.objects.filter(pk__any_of=wanted).values_list("pk", flat=True)

    assert sorted(found) == [contacts[1].pk, contacts[4].pk]


def test_any_of_an_empty_list_matches_nothing():
    baker.make(Contact)

    assert not Contact.objects.filter(pk__any_of=[]).exists()


def test_any_of_is_one_parameter_however_many_ids():
    queryset = Contact.objects.filter(pk__any_of=range(5_000))

    _sql, params = queryset.query.sql_with_params()

    assert len(params) == 1


def test_any_of_works_on_a_foreign_key_and_as_an_expression():
    from django.db.models import F

    from raffles.models import Order

    orders = baker.make(Order, qty=1, unit_price=1, total_amount=1, _quantity=3)
    contact_ids = [orders[0].contact_id, orders[2].contact_id]

    by_fk = Order.objects.filter(contact_id__any_of=contact_ids)
    by_expression = Order.objects.filter(AnyOf(F("contact_id"), contact_ids))

    assert sorted(by_fk.values_list("pk", flat=True)) == [orders[0].pk, orders[2].pk]
    assert sorted(by_expression.values_list("pk", flat=True)) == [orders[0].pk, orders[2].pk]
