"""project.prepared: the bot's hot SELECTs, their SQL built once, their rows as the ORM's."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured, MultipleObjectsReturned
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.signals import pre_save
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversation.models import Conversation
from project.prepared import Prepared, insert, update
from raffles.models import Prize, Raffle
from whatsapp.models import Contact, InboundMessage, OutboundMessage, WebhookCapture

pytestmark = pytest.mark.django_db


def _raffle(title: str, **fields: object) -> Raffle:
    return Raffle.objects.create(
        title=title,
        ticket_price=Decimal("12.50"),
        min_number=0,
        max_number=99,
        is_active=True,
        tickets_ready=True,
        **fields,
    )


def _same_fields(a: object, b: object) -> None:
    assert type(a) is type(b)
    for field in type(a)._meta.concrete_fields:
        assert getattr(a, field.attname) == getattr(b, field.attname), field.attname
        assert type(getattr(a, field.attname)) is type(getattr(b, field.attname)), field.attname


def test_rows_come_back_as_the_orm_builds_them():
    raffle = _raffle("Big", draw_at=timezone.now() + timedelta(days=3))
    contact = Contact.objects.create(wa_id="5491100000001", profile_name="Ana")
    Conversation.objects.create(contact=contact, state="CHOOSE_MODE", context={"raffle_id": 7})
    raffles = Prepared(lambda pk: Raffle.objects.filter(pk=pk), int)
    conversations = Prepared(
        lambda contact_id: Conversation.objects.filter(contact_id=contact_id), int
    )

    fetched = raffles.one(raffle.pk)
    conversation = conversations.one(contact.pk)

    # Decimal, aware datetimes, JSON and booleans pass through the database's converters.
    _same_fields(fetched, Raffle.objects.get(pk=raffle.pk))
    _same_fields(conversation, Conversation.objects.get(contact=contact))
    assert conversation.context == {"raffle_id": 7}
    assert fetched._state.adding is False and fetched._state.db == "default"


def test_each_call_binds_its_own_values_and_keeps_the_constant_ones():
    first, second = Contact.objects.create(wa_id="111"), Contact.objects.create(wa_id="222")
    Contact.objects.create(wa_id="333", profile_name="filtered out")
    by_wa_id = Prepared(lambda wa_id: Contact.objects.filter(wa_id=wa_id, profile_name=""), str)

    assert by_wa_id.one("111") == first
    assert by_wa_id.one("222") == second
    assert by_wa_id.one("333") is None  # the constant part of the filter still applies
    assert by_wa_id.one("999") is None


def test_the_sql_is_built_once_and_each_call_is_one_statement():
    contact = Contact.objects.create(wa_id="111")
    by_pk = Prepared(lambda pk: Contact.objects.filter(pk=pk), int)
    by_pk(contact.pk)  # builds

    with (
        mock.patch.object(
            SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql
        ) as built,
        CaptureQueriesContext(connection) as queries,
    ):
        rows = [by_pk(contact.pk), by_pk(contact.pk + 1)]

    assert rows == [[contact], []]
    assert built.call_count == 0
    assert len(queries.captured_queries) == 2


def test_an_instance_it_returns_saves_as_an_update():
    raffle = _raffle("Old title")
    fetched = Prepared(lambda pk: Raffle.objects.filter(pk=pk), int).one(raffle.pk)

    fetched.title = "New title"
    fetched.save(update_fields=["title"])

    assert Raffle.objects.count() == 1
    assert Raffle.objects.get().title == "New title"


def test_an_argument_may_be_a_small_number_as_well_as_a_key():
    raffle = _raffle("With prizes")
    first = Prize.objects.create(raffle=raffle, position=1, title="A bike")
    by_position = Prepared(
        lambda raffle_id, position: Prize.objects.filter(raffle_id=raffle_id, position=position),
        int,
        int,
    )

    assert by_position.one(raffle.pk, 1) == first
    assert by_position.one(raffle.pk, 2) is None


def test_ordering_and_many_rows():
    later = _raffle("Later", draw_at=timezone.now() + timedelta(days=9))
    sooner = _raffle("Sooner", draw_at=timezone.now() + timedelta(days=1))
    closed = _raffle("Closed")
    Raffle.objects.filter(pk=closed.pk).update(is_active=False)
    active = Prepared(lambda: Raffle.objects.filter(is_active=True).order_by("draw_at", "pk"))

    assert active() == [sooner, later]
    with pytest.raises(MultipleObjectsReturned):
        active.one()


@pytest.mark.parametrize(
    "build, arg_types",
    [
        (lambda pk: Conversation.objects.select_related("contact").filter(pk=pk), (int,)),
        (lambda pk: Contact.objects.filter(pk=pk).only("wa_id"), (int,)),
        (lambda pk: Contact.objects.filter(pk=pk).values("wa_id"), (int,)),
        (lambda pk: Contact.objects.filter(pk__gte=pk).filter(pk__lte=pk), (int,)),  # twice
        (lambda pk: Contact.objects.all(), (int,)),  # the argument goes nowhere
    ],
    ids=["select_related", "only", "values", "argument-twice", "argument-unused"],
)
def test_what_it_cannot_reproduce_fails_on_the_first_call(build, arg_types):
    prepared = Prepared(build, *arg_types)

    with pytest.raises(ImproperlyConfigured):
        prepared(1)


def test_arguments_are_checked():
    by_pk = Prepared(lambda pk: Contact.objects.filter(pk=pk), int)

    with pytest.raises(TypeError):
        by_pk(True)  # a bool is an int to Python, not a key
    with pytest.raises(TypeError):
        by_pk("1")
    with pytest.raises(TypeError):
        by_pk(1, 2)
    with pytest.raises(ImproperlyConfigured):
        Prepared(lambda at: Contact.objects.filter(created_at=at), float)


@pytest.mark.django_db(transaction=True)
def test_a_locking_read_outside_a_transaction_is_refused_as_the_orm_refuses_it(on_postgresql):
    contact = Contact.objects.create(wa_id="111")
    locked = Prepared(lambda pk: Contact.objects.select_for_update().filter(pk=pk), int)

    with transaction.atomic():
        assert locked.one(contact.pk) == contact
    if on_postgresql:
        with pytest.raises(TransactionManagementError):
            locked.one(contact.pk)
    else:  # SQLite has no row locks: the ORM runs it anywhere, and so does this
        assert locked.one(contact.pk) == contact


# --- insert() -------------------------------------------------------------------------------------
def test_an_inserted_row_is_the_row_create_would_have_written():
    contact = Contact.objects.create(wa_id="111")
    payload = {"to": "111", "type": "text", "text": {"body": "¡hola!"}}
    fields = dict(contact=contact, kind="text", payload=payload, next_attempt_at=timezone.now())
    ours, theirs = OutboundMessage(**fields), OutboundMessage.objects.create(**fields)

    with CaptureQueriesContext(connection) as queries:
        insert(ours)

    assert len(queries.captured_queries) == 1
    assert ours.pk is not None and ours.pk != theirs.pk
    assert ours.created_at is not None  # auto_now_add set on the instance, as save() does
    assert ours._state.adding is False and ours._state.db == "default"
    stored, expected = (
        OutboundMessage.objects.get(pk=ours.pk),
        OutboundMessage.objects.get(pk=theirs.pk),
    )
    for field in OutboundMessage._meta.concrete_fields:
        if field.name not in {"id", "created_at", "updated_at"}:
            assert getattr(stored, field.attname) == getattr(expected, field.attname), field.name
    assert stored.created_at == ours.created_at


def test_a_duplicate_is_the_orms_integrity_error_and_rolls_back_to_the_savepoint():
    contact = Contact.objects.create(wa_id="111")
    insert(InboundMessage(wa_message_id="wamid.1", contact=contact, raw={}))

    with pytest.raises(IntegrityError), transaction.atomic():
        insert(InboundMessage(wa_message_id="wamid.1", contact=contact, raw={}))

    assert InboundMessage.objects.filter(wa_message_id="wamid.1").count() == 1
    insert(WebhookCapture(body=b"{}", headers={}))  # the transaction is still usable
    assert WebhookCapture.objects.count() == 1


def test_what_save_would_do_more_for_goes_through_save():
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.body)

    pre_save.connect(receiver, sender=WebhookCapture)
    try:
        insert(WebhookCapture(body=b"signalled", headers={}))
    finally:
        pre_save.disconnect(receiver, sender=WebhookCapture)
    insert(WebhookCapture(body=b"quiet", headers={}))
    insert(WebhookCapture(pk=4242, body=b"own pk", headers={}))
    insert(WebhookCapture(body=b"expression", headers={}, detail=Value("from SQL")))

    assert seen == [b"signalled"]
    assert WebhookCapture.objects.get(pk=4242).body == b"own pk"
    assert WebhookCapture.objects.get(body=b"expression").detail == "from SQL"
    assert WebhookCapture.objects.count() == 4


# --- update() -------------------------------------------------------------------------------------
def test_update_writes_the_named_fields_of_that_row_only():
    ana, bob = Contact.objects.create(wa_id="111"), Contact.objects.create(wa_id="222")
    chat = Conversation.objects.create(contact=ana)
    other = Conversation.objects.create(contact=bob, state="MENU")
    at = timezone.now()

    changed = update(
        Conversation, chat.pk, state="CHOOSE_MODE", context={"raffle_id": 3}, updated_at=at
    )

    chat.refresh_from_db(), other.refresh_from_db()
    assert changed == 1
    assert (chat.state, chat.context, chat.updated_at) == ("CHOOSE_MODE", {"raffle_id": 3}, at)
    assert (other.state, other.context) == ("MENU", {})
    assert update(Conversation, chat.pk + other.pk + 1, state="MENU") == 0


def test_update_takes_plain_values_of_concrete_fields():
    contact = Contact.objects.create(wa_id="111")

    with pytest.raises(TypeError):
        update(Contact, contact.pk, profile_name=F("wa_id"))
    with pytest.raises(ImproperlyConfigured):
        update(Contact, contact.pk, id=5)
    with pytest.raises(ImproperlyConfigured):
        update(Contact, contact.pk)
