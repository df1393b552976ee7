"""`id_set`: many ids as one parameter, matching exactly what `__in` with a list matches."""

from __future__ import annotations

import pytest
from model_bakery import baker

from project.id_sets import id_set
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db


def test_an_id_set_matches_the_listed_rows_and_only_those():
    contacts = baker.make(Contact, _quantity=6)
    wanted = [contacts[1].pk, contacts[4].pk, 10**9]

    found = Contact.objects.filter(pk__in=id_set(wanted)).values_list("pk", flat=True)

    assert sorted(found) == [contacts[1].pk, contacts[4].pk]


def test_an_empty_id_set_matches_nothing():
    baker.make(Contact)

    assert not Contact.objects.filter(pk__in=id_set([])).exists()


def test_an_id_set_is_one_parameter_however_many_ids():
    queryset = Contact.objects.filter(pk__in=id_set(range(5_000)))

    _sql, params = queryset.query.sql_with_params()

    assert len(params) == 1
