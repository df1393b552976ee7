"""Creating raffles and generating their numbers: set-based, idempotent, never losing a sale."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from raffles import errors
from raffles.models import Raffle, TicketNumber
from raffles.services import (
    activate_raffle,
    change_range,
    create_raffle,
    generate_tickets,
    reserve_specific,
)
from tests.raffles.conftest import make_raffle

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


def numbers_of(raffle: Raffle) -> list[int]:
    return list(
        TicketNumber.objects.filter(raffle=raffle)
        .order_by("number")
        .values_list("number", flat=True)
    )


def test_creating_a_small_raffle_generates_every_number_at_once():
    raffle = make_raffle(min_number=1, max_number=50)

    assert numbers_of(raffle) == list(range(1, 51))
    assert raffle.tickets_ready and raffle.is_active
    assert {t.status for t in raffle.tickets.all()} == {"AVAILABLE"}


def test_a_large_raffle_is_generated_by_a_task_and_opens_when_complete(
    settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    settings.RAFFLE_INLINE_GENERATION_MAX = 100

    with django_capture_on_commit_callbacks(execute=True):
        raffle = make_raffle(max_number=999, is_active=True)
        assert not raffle.is_active  # not before its numbers exist

    raffle.refresh_from_db()
    assert raffle.tickets_ready and raffle.is_active
    assert TicketNumber.objects.filter(raffle=raffle).count() == 1000


def test_a_raffle_cannot_be_activated_until_all_its_numbers_exist(
    settings, django_capture_on_commit_callbacks
):
    settings.TASKS = DUMMY
    settings.RAFFLE_INLINE_GENERATION_MAX = 100
    with django_capture_on_commit_callbacks(execute=True):
        raffle = make_raffle(max_number=999, is_active=False)

    with pytest.raises(errors.RaffleNotReady) as err:
        activate_raffle(raffle=raffle)
    assert err.value.code == "raffle_not_ready"
    with pytest.raises(IntegrityError), transaction.atomic():
        Raffle.objects.filter(pk=raffle.pk).update(is_active=True)

    generate_tickets(raffle=raffle)
    assert activate_raffle(raffle=raffle).is_active


def test_generation_is_idempotent_and_fills_holes():
    raffle = make_raffle(max_number=99)
    TicketNumber.objects.filter(raffle=raffle, number__in=[5, 77]).delete()

    first = generate_tickets(raffle=raffle, chunk_size=30)
    second = generate_tickets(raffle=raffle)

    assert (first.created, second.created) == (2, 0)
    assert numbers_of(raffle) == list(range(100))


def test_generation_reports_progress_per_chunk():
    raffle = make_raffle(max_number=99)
    seen: list[tuple[int, int]] = []

    generate_tickets(raffle=raffle, chunk_size=40, progress=lambda d, t: seen.append((d, t)))

    assert seen == [(40, 100), (80, 100), (100, 100)]


def test_growing_the_range_adds_numbers_and_keeps_sales(buyer):
    raffle = make_raffle(max_number=9)
    order = reserve_specific(raffle=raffle, numbers=[3], contact=buyer)

    change_range(raffle=raffle, min_number=0, max_number=19)

    assert numbers_of(raffle) == list(range(20))
    assert TicketNumber.objects.get(raffle=raffle, number=3).reserved_by_order_id == order.pk
    assert raffle.is_active


def test_shrinking_over_free_numbers_drops_them():
    raffle = make_raffle(max_number=19)

    change_range(raffle=raffle, min_number=5, max_number=9)

    assert numbers_of(raffle) == [5, 6, 7, 8, 9]


def test_shrinking_a_range_with_reserved_numbers_is_refused(buyer):
    raffle = make_raffle(max_number=19)
    reserve_specific(raffle=raffle, numbers=[15], contact=buyer)

    with pytest.raises(errors.RangeHasTakenNumbers) as err:
        change_range(raffle=raffle, min_number=0, max_number=9)

    assert err.value.code == "range_has_taken_numbers"
    assert err.value.numbers == [15]
    raffle.refresh_from_db()
    assert raffle.max_number == 19
    assert len(numbers_of(raffle)) == 20


def test_a_raffle_has_at_most_the_configured_count_of_numbers(settings):
    settings.RAFFLE_MAX_NUMBERS = 1000

    with pytest.raises(errors.InvalidRange) as err:
        create_raffle(title="Huge", ticket_price=Decimal("1"), min_number=0, max_number=1000)

    assert err.value.code == "invalid_range"
    assert err.value.extra()["limit"] == 1000


def test_generate_tickets_command_creates_missing_numbers():
    raffle = make_raffle(max_number=9)
    TicketNumber.objects.filter(raffle=raffle, number=4).delete()
    out = StringIO()

    call_command("generate_tickets", str(raffle.pk), stdout=out)

    assert "1 numbers created" in out.getvalue()
    assert len(numbers_of(raffle)) == 10


def test_generate_tickets_command_fails_for_an_unknown_raffle():
    with pytest.raises(CommandError):
        call_command("generate_tickets", "999999")


def _synchronous_commit() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_only_generation_chunks_skip_the_wait_for_the_disk():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    raffle = make_raffle(max_number=99, is_active=False)
    TicketNumber.objects.filter(raffle=raffle).delete()

    with CaptureQueriesContext(connection) as queries:
        result = generate_tickets(raffle=raffle, chunk_size=40)

    assert result.created == 100
    relaxed = [q for q in queries.captured_queries if "synchronous_commit" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(relaxed) == 3  # one per chunk transaction
        assert _synchronous_commit() == "on"  # the session (and what it commits next) is not
    else:
        assert relaxed == []  # SQLite has no such setting: nothing is sent


@pytest.mark.django_db(transaction=True)
def test_generation_inside_a_callers_transaction_leaves_its_commit_durable():
    from django.db import connection

    raffle = make_raffle(max_number=99, is_active=False)
    TicketNumber.objects.filter(raffle=raffle).delete()

    with transaction.atomic():
        generate_tickets(raffle=raffle, chunk_size=40)
        if connection.vendor == "postgresql":
            assert _synchronous_commit() == "on"

    assert len(numbers_of(raffle)) == 100
