"""The draw service: close of sales, the two methods, settling unpaid orders, idempotency,
the audit trail and verification."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from model_bakery import baker

from raffles import errors
from raffles.models import (
    Draw,
    DrawMethod,
    Order,
    OrderStatus,
    Prize,
    PrizeOutcome,
    Raffle,
    RaffleChange,
    RaffleEvent,
    UnsoldPolicy,
)
from raffles.services import (
    confirm_payment,
    expire_orders,
    reserve_random,
    reserve_specific,
    submit_order,
    update_raffle,
)
from raffles.services.draw import run_draw, verify_draw
from raffles.services.draw_proof import seed_commitment, sold_list_sha256
from raffles.services.sales import close_due_sales, close_sales
from raffles.signals import raffle_drawn
from tests.raffles.conftest import lapse, make_raffle
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db


def sell(raffle: Raffle, contact: Contact, numbers: list[int]) -> Order:
    order = submit_order(order=reserve_specific(raffle=raffle, numbers=numbers, contact=contact))
    return confirm_payment(order=order)


def buyers(n: int) -> list[Contact]:
    return [baker.make(Contact, wa_id=f"57300000{i:04d}") for i in range(n)]


def with_prizes(raffle: Raffle, n: int = 2) -> list[Prize]:
    return [
        Prize.objects.create(raffle=raffle, position=i, title=f"Prize {i}") for i in range(1, n + 1)
    ]


def cut_off(raffle: Raffle) -> Raffle:
    """Move the draw so its cut-off is in the past (sales due to close)."""
    Raffle.objects.filter(pk=raffle.pk).update(draw_at=timezone.now() + timedelta(minutes=5))
    raffle.refresh_from_db()
    return raffle


@pytest.fixture
def sold_raffle(db) -> Raffle:
    raffle = make_raffle(draw_at=timezone.now() + timedelta(days=3))
    with_prizes(raffle, 2)
    for contact, numbers in zip(buyers(3), [[3, 14], [15, 42], [77]], strict=True):
        sell(raffle, contact, numbers)
    return raffle


# --- the seed and the draw setup -----------------------------------------------------------


def test_opening_sales_commits_a_seed_whose_hash_is_public_and_the_seed_is_not():
    raffle = make_raffle()

    assert len(raffle.draw_seed) == 64
    assert raffle.seed_commitment == seed_commitment(raffle.draw_seed)
    event = RaffleEvent.objects.get(raffle=raffle, change=RaffleChange.SEED_COMMITTED)
    assert event.changes == {"seed_commitment": {"before": "", "after": raffle.seed_commitment}}
    assert raffle.draw_seed not in str(RaffleEvent.objects.filter(raffle=raffle).values())


def test_a_lottery_raffle_commits_no_seed_and_needs_its_lottery_named():
    lottery = make_raffle(
        draw_method=DrawMethod.LOTTERY,
        lottery_name="Lotería de Medellín",
        lottery_date=date(2026, 12, 20),
    )

    assert lottery.seed_commitment == ""
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        make_raffle(draw_method=DrawMethod.LOTTERY)


def test_the_draw_method_cannot_change_once_sales_opened():
    raffle = make_raffle()

    with pytest.raises(errors.DrawSetupLocked) as err:
        update_raffle(raffle=raffle, changes={"unsold_policy": UnsoldPolicy.NEXT_RESULT})

    assert err.value.fields == ["unsold_policy"]
    raffle.refresh_from_db()
    assert raffle.unsold_policy == UnsoldPolicy.HOUSE_KEEPS


def test_before_sales_open_the_draw_method_can_change():
    raffle = make_raffle(is_active=False)

    update_raffle(
        raffle=raffle,
        changes={
            "draw_method": DrawMethod.LOTTERY,
            "lottery_name": "Lotería de Bogotá",
            "lottery_date": date(2026, 12, 24),
        },
    )

    raffle.refresh_from_db()
    assert raffle.draw_method == DrawMethod.LOTTERY


# --- the close of sales ----------------------------------------------------------------------


def test_no_reservation_gets_in_once_the_cut_off_has_passed(buyer):
    raffle = cut_off(make_raffle(draw_at=timezone.now() + timedelta(days=1)))

    with pytest.raises(errors.SalesClosed) as err:
        reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    with pytest.raises(errors.SalesClosed):
        reserve_random(raffle=raffle, qty=1, contact=buyer)

    assert err.value.extra()["draw_at"] == raffle.draw_at.isoformat()
    assert not Order.objects.filter(raffle=raffle).exists()


def test_a_raffle_before_its_cut_off_still_sells(buyer):
    raffle = make_raffle(draw_at=timezone.now() + timedelta(minutes=61), sales_cutoff_minutes=60)

    assert reserve_specific(raffle=raffle, numbers=[1], contact=buyer).status == OrderStatus.DRAFT


def test_the_close_job_closes_due_raffles_once_and_publishes_the_sold_list(sold_raffle):
    cut_off(sold_raffle)
    later = make_raffle(draw_at=timezone.now() + timedelta(days=2))

    first = close_due_sales()
    second = close_due_sales()

    sold_raffle.refresh_from_db()
    assert first == [sold_raffle.pk] and second == []
    assert sold_raffle.sales_closed_at is not None
    assert sold_raffle.closing_sold_count == 5
    assert sold_raffle.closing_sold_sha256 == sold_list_sha256([3, 14, 15, 42, 77], width=2)
    assert (
        RaffleEvent.objects.filter(raffle=sold_raffle, change=RaffleChange.SALES_CLOSED).count()
        == 1
    )
    later.refresh_from_db()
    assert later.sales_closed_at is None


def test_a_late_payment_cannot_sell_numbers_again_after_the_close(raffle, buyer):
    order = submit_order(order=reserve_specific(raffle=raffle, numbers=[5], contact=buyer))
    lapse(order)
    expire_orders(order_ids=[order.pk])
    close_sales(raffle=raffle)

    with pytest.raises(errors.SalesClosed):
        confirm_payment(order=Order.objects.get(pk=order.pk))

    assert Order.objects.get(pk=order.pk).status == OrderStatus.EXPIRED


# --- refusals --------------------------------------------------------------------------------


def test_the_draw_is_refused_while_sales_are_open(sold_raffle):
    with pytest.raises(errors.SalesStillOpen):
        run_draw(raffle=sold_raffle)

    assert not Draw.objects.exists()


def test_the_draw_is_refused_without_prizes(buyer):
    raffle = make_raffle()
    close_sales(raffle=raffle)

    with pytest.raises(errors.NoPrizes):
        run_draw(raffle=raffle)


def test_unpaid_orders_block_the_draw_and_are_named(sold_raffle, buyer):
    pending = submit_order(order=reserve_specific(raffle=sold_raffle, numbers=[50], contact=buyer))
    cut_off(sold_raffle)

    with pytest.raises(errors.OrdersStillPending) as err:
        run_draw(raffle=sold_raffle)

    assert err.value.order_ids == [pending.pk]
    assert err.value.http_status == 409
    assert not Draw.objects.exists()


def test_asked_to_the_draw_cancels_the_unpaid_orders_and_tells_their_buyers(sold_raffle, buyer):
    pending = submit_order(order=reserve_specific(raffle=sold_raffle, numbers=[50], contact=buyer))
    cut_off(sold_raffle)

    draw = run_draw(raffle=sold_raffle, cancel_unpaid=True)

    pending.refresh_from_db()
    assert pending.status == OrderStatus.CANCELLED
    assert draw.cancelled_order_ids == [pending.pk]
    assert 50 not in [int(e["number"]) for e in draw.results]
    assert buyer.outbound_messages.exists()  # the usual cancellation notice


def test_a_lapsed_reservation_does_not_block_the_draw(sold_raffle, buyer):
    order = reserve_specific(raffle=sold_raffle, numbers=[50], contact=buyer)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    cut_off(sold_raffle)

    assert run_draw(raffle=sold_raffle).sold_count == 5


# --- the random draw -------------------------------------------------------------------------


def test_the_random_draw_reveals_the_seed_and_gives_each_prize_a_sold_number(sold_raffle):
    cut_off(sold_raffle)
    heard = []
    raffle_drawn.connect(lambda **kw: heard.append(kw), weak=False, dispatch_uid="test-heard")
    try:
        draw = run_draw(raffle=sold_raffle)
    finally:
        raffle_drawn.disconnect(dispatch_uid="test-heard")

    sold_raffle.refresh_from_db()
    assert draw.seed == sold_raffle.draw_seed
    assert seed_commitment(draw.seed) == draw.seed_commitment == sold_raffle.seed_commitment
    assert draw.sold_sha256 == sold_raffle.closing_sold_sha256
    prizes = list(sold_raffle.prizes.order_by("position"))
    assert [p.outcome for p in prizes] == [PrizeOutcome.WON, PrizeOutcome.WON]
    won = [p.winning_number for p in prizes]
    assert len(set(won)) == 2 and set(won) <= {3, 14, 15, 42, 77}
    for prize in prizes:
        assert prize.winning_number in prize.winning_order.numbers
    assert sold_raffle.drawn_at == draw.drawn_at
    assert RaffleEvent.objects.get(raffle=sold_raffle, change=RaffleChange.DRAWN).changes["seed"]
    assert len(heard) == 1 and len(heard[0]["paid_contact_ids"]) == 3


def test_running_the_draw_twice_changes_nothing(sold_raffle):
    cut_off(sold_raffle)
    first = run_draw(raffle=sold_raffle)
    events = RaffleEvent.objects.count()

    again = run_draw(raffle=sold_raffle)

    assert again.pk == first.pk and again.results == first.results
    assert RaffleEvent.objects.count() == events


def test_more_prizes_than_sold_numbers_leaves_the_rest_to_the_house(buyer):
    raffle = make_raffle(draw_at=timezone.now() + timedelta(days=1))
    with_prizes(raffle, 3)
    sell(raffle, buyer, [9])
    cut_off(raffle)

    draw = run_draw(raffle=raffle)

    assert [(e["outcome"], e["number"]) for e in draw.results] == [
        (PrizeOutcome.WON, "09"),
        (PrizeOutcome.HOUSE_KEEPS, None),
        (PrizeOutcome.HOUSE_KEEPS, None),
    ]


def test_a_random_draw_takes_no_lottery_results(sold_raffle):
    cut_off(sold_raffle)

    with pytest.raises(errors.LotteryResultsNotExpected):
        run_draw(raffle=sold_raffle, lottery_results=["1234"])


def test_verify_reproduces_the_draw_and_catches_a_tampered_seed(sold_raffle):
    cut_off(sold_raffle)
    draw = run_draw(raffle=sold_raffle)

    assert verify_draw(raffle=sold_raffle).ok

    Draw.objects.filter(pk=draw.pk).update(seed="0" * 64)
    report = verify_draw(raffle=sold_raffle)
    assert not report.ok
    assert next(w for w, ok, _ in report.checks if not ok) == "seed matches its commitment"


def test_verify_before_the_draw_says_so(sold_raffle):
    with pytest.raises(errors.NotDrawn):
        verify_draw(raffle=sold_raffle)


# --- the official lottery --------------------------------------------------------------------


def lottery_raffle(policy: str, prizes: int = 2) -> Raffle:
    raffle = make_raffle(
        draw_at=timezone.now() + timedelta(days=1),
        draw_method=DrawMethod.LOTTERY,
        lottery_name="Lotería de Medellín",
        lottery_date=date(2026, 12, 20),
        unsold_policy=policy,
    )
    with_prizes(raffle, prizes)
    return raffle


def test_a_lottery_result_wins_with_its_last_two_digits_leading_zero_included(buyer, other_buyer):
    raffle = lottery_raffle(UnsoldPolicy.HOUSE_KEEPS)
    winner = sell(raffle, buyer, [7])
    sell(raffle, other_buyer, [70])
    cut_off(raffle)

    draw = run_draw(raffle=raffle, lottery_results=["4507", "1270"])

    prizes = list(raffle.prizes.order_by("position"))
    assert [(p.winning_number, p.lottery_result) for p in prizes] == [(7, "4507"), (70, "1270")]
    assert prizes[0].winning_order == winner
    assert draw.results[0]["number"] == "07"
    assert verify_draw(raffle=raffle).ok


def test_an_unsold_lottery_number_leaves_the_prize_with_the_house(buyer):
    raffle = lottery_raffle(UnsoldPolicy.HOUSE_KEEPS)
    sell(raffle, buyer, [7])
    cut_off(raffle)

    run_draw(raffle=raffle, lottery_results=["4507", "9999"])

    second = raffle.prizes.get(position=2)
    assert (second.outcome, second.winning_number, second.winning_order) == (
        PrizeOutcome.HOUSE_KEEPS,
        99,
        None,
    )


def test_an_unsold_lottery_number_can_make_the_prize_wait_for_the_next_result(buyer):
    raffle = lottery_raffle(UnsoldPolicy.NEXT_RESULT)
    sell(raffle, buyer, [7, 8])
    cut_off(raffle)

    with pytest.raises(errors.InvalidLotteryResults) as err:
        run_draw(raffle=raffle, lottery_results=["4507", "9999"])
    assert not Draw.objects.exists()

    draw = run_draw(raffle=raffle, lottery_results=["4507", "9999", "0008"])

    assert err.value.http_status == 422
    assert [e["number"] for e in draw.results] == ["07", "08"]
    assert draw.lottery_results == ["4507", "9999", "0008"]
    assert verify_draw(raffle=raffle).ok


def test_a_lottery_raffle_numbered_from_one_reads_three_digits(buyer):
    raffle = make_raffle(
        min_number=1,
        max_number=100,
        draw_at=timezone.now() + timedelta(days=1),
        draw_method=DrawMethod.LOTTERY,
        lottery_name="Lotería de Boyacá",
        lottery_date=date(2026, 12, 20),
    )
    with_prizes(raffle, 1)
    sell(raffle, buyer, [100])
    cut_off(raffle)

    draw = run_draw(raffle=raffle, lottery_results=["12100"])

    assert draw.results[0]["number"] == "100"
    assert draw.results[0]["outcome"] == PrizeOutcome.WON


def test_a_lottery_drawn_again_with_other_results_is_refused_the_same_is_a_no_op(buyer):
    raffle = lottery_raffle(UnsoldPolicy.HOUSE_KEEPS, prizes=1)
    sell(raffle, buyer, [7])
    cut_off(raffle)
    draw = run_draw(raffle=raffle, lottery_results=["4507"])

    assert run_draw(raffle=raffle, lottery_results=["4507"]).pk == draw.pk
    with pytest.raises(errors.AlreadyDrawn):
        run_draw(raffle=raffle, lottery_results=["4508"])
    assert raffle.prizes.get().winning_number == 7


def test_a_lottery_draw_needs_its_results(buyer):
    raffle = lottery_raffle(UnsoldPolicy.HOUSE_KEEPS, prizes=1)
    cut_off(raffle)

    with pytest.raises(errors.InvalidLotteryResults):
        run_draw(raffle=raffle)


def test_a_random_raffle_that_never_opened_has_no_seed_to_draw_with():
    raffle = make_raffle(is_active=False, draw_at=timezone.now() + timedelta(days=1))
    with_prizes(raffle, 1)
    cut_off(raffle)

    with pytest.raises(errors.NoSeedCommitted):
        run_draw(raffle=raffle)

    assert not Draw.objects.exists()


def test_the_board_picture_lists_the_prizes_and_is_drawn_again_when_one_changes(db, settings):
    from raffles.services.board import BOARD_PRIZE_LINES, board_for, prize_lines

    settings.BOARD_MIN_RENDER_SECONDS = 0  # no rush of sales here: a change draws it again

    sold_raffle = make_raffle(draw_at=timezone.now() + timedelta(days=3))
    prizes = with_prizes(sold_raffle, BOARD_PRIZE_LINES + 2)
    before = board_for(raffle=sold_raffle).version

    lines = prize_lines(sold_raffle)
    Prize.objects.filter(pk=prizes[0].pk).update(title="A red car")

    assert lines[:2] == ["Prize 1: Prize 1", "Prize 2: Prize 2"]
    assert lines[-1] == "and 2 more prizes" and len(lines) == BOARD_PRIZE_LINES + 1
    assert prize_lines(sold_raffle)[0] == "Prize 1: A red car"
    assert board_for(raffle=sold_raffle).version != before
