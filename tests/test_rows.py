"""project.rows.one_or_none: the row of a unique lookup, without first()'s ORDER BY."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversation.models import Conversation
from project.rows import one_or_none
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db


def test_the_matching_row_or_none():
    contact = Contact.objects.create(wa_id="5491100000001")

    assert one_or_none(Contact.objects, wa_id="5491100000001") == contact
    assert one_or_none(Contact.objects.filter(profile_name=""), pk=contact.pk) == contact
    assert one_or_none(Contact.objects, wa_id="5491100009999") is None


def test_no_order_by_even_where_the_model_has_a_default_ordering():
    conversation = Conversation.objects.create(contact=Contact.objects.create(wa_id="54911"))
    assert Conversation._meta.ordering  # what first() would sort by

    with CaptureQueriesContext(connection) as queries:
        assert one_or_none(Conversation.objects, contact=conversation.contact) == conversation

    [query] = queries.captured_queries
    assert "ORDER BY" not in query["sql"]
