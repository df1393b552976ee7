"""Recording: each fact about orders and raffles becomes the events subscribers asked for, in
the transaction of the change, and a whole expiry sweep is written set-based."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from model_bakery import baker

from events.models import DeliveryStatus, EventDelivery
from events.services import delivery
from events.types import SUBSCRIBABLE, EventType
from raffles import services
from raffles.models import Order, TicketNumber
from tests.events.conftest import deliveries
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db


def types_recorded() -> list[str]:
    return [row.event_type for row in deliveries()]


def lapse(order: Order) -> None:
    """The buyer walked away: the deadline (the order's and its numbers') has passed."""
    past = timezone.now() - timedelta(minutes=1)
    Order.objects.filter(pk=order.pk).update(expires_at=past)
    TicketNumber.objects.filter(reserved_by_order=order).update(reserved_until=past)


def test_a_buyers_order_is_reserved_then_pending_then_paid(subscription, raffle, buyer):
    order = services.reserve_specific(raffle=raffle, numbers=[1, 2], contact=buyer)
    services.submit_order(order=order)
    services.confirm_payment(order=order)

    assert types_recorded() == ["order.reserved", "order.pending_payment", "order.paid"]
    assert {row.subject_id for row in deliveries()} == {order.pk}


def test_an_operators_order_for_another_channel_is_reserved_and_pending(
    subscription, raffle, buyer
):
    services.create_order_for_buyer(raffle=raffle, contact=buyer, numbers=[3])

    assert types_recorded() == ["order.reserved", "order.pending_payment"]


def test_a_cancelled_order_is_announced(subscription, raffle, buyer):
    order = services.create_order_for_buyer(raffle=raffle, contact=buyer, numbers=[3])

    services.cancel_order(order=order, reason="Buyer called")

    (cancelled,) = deliveries(event_type="order.cancelled")
    assert cancelled.data["status"] == "CANCELLED"
    assert cancelled.data["cancel_reason"] == "Buyer called"


def test_a_proof_with_its_file_is_received_and_its_rejection_announced(subscription, raffle, buyer):
    order = services.create_order_for_buyer(raffle=raffle, contact=buyer, numbers=[4])
    proof = services.attach_payment_proof(
        order=order,
        media_id="m1",
        mime_type="image/png",
        file=ContentFile(b"\x89PNG\r\n\x1a\n png", "p.png"),
    )

    services.reject_proof(proof=proof, reason="The amount is not visible")

    received, rejected = deliveries(event_type__startswith="proof.")
    assert (received.event_type, rejected.event_type) == ("proof.received", "proof.rejected")
    assert received.data["proof"]["id"] == proof.pk
    assert received.data["proof"]["download_url"] == (
        f"https://raffles.example.com/api/v1/orders/{order.pk}/proofs/{proof.pk}/file"
    )
    assert received.data["order"]["id"] == order.pk
    assert rejected.data["reason"] == "The amount is not visible"
    assert rejected.data["proof"]["status"] == "REJECTED"


def test_a_whatsapp_proof_is_received_when_its_downloaded_file_is_stored(
    subscription, raffle, buyer
):
    order = services.reserve_specific(raffle=raffle, numbers=[5], contact=buyer)
    proof = services.attach_payment_proof(order=order, media_id="wamid-media", mime_type="")
    assert deliveries(event_type="proof.received") == []

    services.store_proof_file(
        proof=proof, content=b"\xff\xd8\xff jpg", mime_type="image/jpeg", filename="p.jpg"
    )
    services.store_proof_file(
        proof=proof, content=b"\xff\xd8\xff jpg2", mime_type="image/jpeg", filename="p.jpg"
    )

    (received,) = deliveries(event_type="proof.received")
    assert received.data["proof"]["download_url"].endswith(f"/proofs/{proof.pk}/file")


def test_selling_the_last_number_announces_the_raffle_sold_out_once(
    subscription, raffle, make_buyer
):
    first = services.create_order_for_buyer(raffle=raffle, contact=make_buyer(), qty=5)
    last = services.create_order_for_buyer(raffle=raffle, contact=make_buyer(), qty=5)
    services.confirm_payment(order=first)
    assert deliveries(event_type="raffle.sold_out") == []

    services.confirm_payment(order=last)
    services.confirm_payment(order=last)  # idempotent: nothing new happens

    (sold_out,) = deliveries(event_type="raffle.sold_out")
    assert sold_out.subject_id == raffle.pk
    assert sold_out.data["id"] == raffle.pk
    assert sold_out.data["title"] == "Spring raffle"


def test_a_subscription_gets_only_the_types_it_asked_for(subscribe, raffle, buyer):
    paid_only = subscribe("order.paid")
    order = services.create_order_for_buyer(raffle=raffle, contact=buyer, numbers=[1])

    services.confirm_payment(order=order)

    assert [(r.subscription_id, r.event_type) for r in deliveries()] == [
        (paid_only.pk, "order.paid")
    ]


def test_nothing_is_recorded_without_an_active_subscriber(subscribe, raffle, buyer):
    subscribe("order.paid", active=False)

    order = services.create_order_for_buyer(raffle=raffle, contact=buyer, numbers=[1])
    services.confirm_payment(order=order)

    assert deliveries() == []


def test_each_subscriber_gets_its_own_row_with_its_own_webhook_id(subscribe, raffle, buyer):
    subscribe("order.reserved")
    subscribe("order.reserved")

    services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    rows = deliveries()
    assert len(rows) == 2
    assert len({row.message_id for row in rows}) == 2
    assert all(row.message_id.startswith("msg_") for row in rows)


def test_an_event_is_written_with_its_change_and_rolled_back_with_it(subscription, raffle, buyer):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
        assert types_recorded() == ["order.reserved"]  # inside the change's transaction
        raise RuntimeError("the change fails after the fact")

    assert deliveries() == []


def test_a_refused_change_records_nothing(subscription, raffle, make_buyer):
    services.reserve_specific(raffle=raffle, numbers=[1], contact=make_buyer())
    EventDelivery.objects.all().delete()

    with pytest.raises(Exception, match="taken"):
        services.reserve_specific(raffle=raffle, numbers=[1], contact=make_buyer())

    assert deliveries() == []


def test_the_data_of_a_change_is_the_object_as_that_change_left_it(subscription, raffle, buyer):
    order = services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    services.submit_order(order=order)

    reserved, pending = deliveries()
    assert reserved.data["status"] == "DRAFT"
    assert pending.data["status"] == "PENDING_PAYMENT"
    assert reserved.data["numbers"] == [1]


def test_an_expiry_sweep_writes_its_events_in_one_insert_without_model_instances(
    subscribe, raffle, make_buyer, settings
):
    subscribe("order.expired")
    subscribe("order.expired", "order.paid")
    orders = [
        services.reserve_specific(raffle=raffle, numbers=[n], contact=make_buyer())
        for n in range(8)
    ]
    for order in orders:
        lapse(order)
    EventDelivery.objects.all().delete()

    with CaptureQueriesContext(connection) as queries:
        result = services.expire_due()

    assert result.count == 8
    event_statements = [q["sql"] for q in queries.captured_queries if "events_" in q["sql"]]
    inserts = [sql for sql in event_statements if sql.startswith("INSERT")]
    assert len(inserts) == 1  # both subscribers, every order: one INSERT ... SELECT
    assert len(event_statements) == 2  # and one read of the subscriptions
    rows = deliveries()
    assert len(rows) == 16
    assert {row.event_type for row in rows} == {"order.expired"}
    assert sorted(row.subject_id for row in rows) == sorted([o.pk for o in orders] * 2)
    assert len({row.message_id for row in rows}) == 16
    assert all(row.data is None and row.status == DeliveryStatus.PENDING for row in rows)


def test_a_bulk_event_gets_its_data_at_its_first_attempt_and_keeps_it(
    subscription, raffle, buyer, receiver
):
    order = services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    lapse(order)
    EventDelivery.objects.all().delete()
    services.expire_due()
    (row,) = deliveries()

    delivery.deliver(delivery_id=row.pk)

    row.refresh_from_db()
    assert row.status == DeliveryStatus.DELIVERED
    assert row.data["id"] == order.pk
    assert row.data["status"] == "EXPIRED"
    assert receiver.events()[0]["data"] == row.data


def test_the_lazy_expiry_inside_a_reservation_is_announced_too(subscription, raffle, make_buyer):
    first = services.reserve_specific(raffle=raffle, numbers=[1], contact=make_buyer())
    lapse(first)

    services.reserve_specific(raffle=raffle, numbers=[1], contact=make_buyer())

    (expired,) = deliveries(event_type="order.expired")
    assert expired.subject_id == first.pk


def test_a_deleted_subscription_takes_its_events_with_it(subscription, raffle, buyer):
    services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    subscription.delete()

    assert EventDelivery.objects.count() == 0


def test_the_subscription_read_is_the_only_cost_when_nobody_subscribed(raffle, buyer):
    baker.make(Contact)  # anything: no subscription exists

    with CaptureQueriesContext(connection) as queries:
        services.reserve_specific(raffle=raffle, numbers=[1], contact=buyer)

    event_statements = [q["sql"] for q in queries.captured_queries if "events_" in q["sql"]]
    assert len(event_statements) == 1
    assert event_statements[0].startswith("SELECT")


def test_the_test_event_is_not_something_to_subscribe_to():
    assert EventType.TEST not in SUBSCRIBABLE
    assert set(SUBSCRIBABLE) == set(EventType.values) - {EventType.TEST}


def test_a_sweeper_pass_builds_the_data_of_bulk_events_together_not_one_by_one(
    subscription, raffle, make_buyer, receiver
):
    orders = [
        services.reserve_specific(raffle=raffle, numbers=[n], contact=make_buyer())
        for n in range(6)
    ]
    for order in orders:
        lapse(order)
    EventDelivery.objects.all().delete()
    services.expire_due()

    with CaptureQueriesContext(connection) as queries:
        assert delivery.send_due() == 6

    order_reads = [q for q in queries.captured_queries if 'FROM "raffles_order"' in q["sql"]]
    assert len(order_reads) == 1
    assert sorted(e["data"]["id"] for e in receiver.events()) == sorted(o.pk for o in orders)
    assert {e["data"]["status"] for e in receiver.events()} == {"EXPIRED"}


def test_the_draw_announces_raffle_drawn_once_with_the_winners_and_the_proof(subscribe, make_buyer):
    from raffles.models import Raffle
    from raffles.services.draw import run_draw
    from tests.raffles.test_draw import cut_off, with_prizes

    subscribe("raffle.drawn")
    raffle = services.create_raffle(
        title="Draw raffle",
        ticket_price=5,
        max_number=99,
        is_active=True,
        draw_at=timezone.now() + timedelta(days=1),
    )
    with_prizes(raffle, 1)
    order = services.create_order_for_buyer(raffle=raffle, contact=make_buyer(), numbers=[42])
    services.confirm_payment(order=order)
    cut_off(raffle)

    run_draw(raffle=Raffle.objects.get(pk=raffle.pk))
    run_draw(raffle=Raffle.objects.get(pk=raffle.pk))  # idempotent: nothing new

    (drawn,) = deliveries(event_type="raffle.drawn")
    assert drawn.subject_id == raffle.pk
    assert drawn.data["raffle"]["id"] == raffle.pk
    assert drawn.data["draw"]["prizes"][0]["winning_number"] == "42"
    assert drawn.data["draw"]["prizes"][0]["winning_order_id"] == order.pk
    assert drawn.data["draw"]["seed"] == Raffle.objects.get(pk=raffle.pk).draw_seed
