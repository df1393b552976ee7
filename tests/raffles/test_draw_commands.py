"""`close_sales`, `run_draw` and `verify_draw` from the shell."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from raffles.models import Draw, Raffle
from tests.raffles.conftest import make_raffle
from tests.raffles.test_draw import buyers, cut_off, sell, with_prizes

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def drawable() -> Raffle:
    raffle = make_raffle(draw_at=timezone.now() + timedelta(days=1))
    with_prizes(raffle, 2)
    for contact, number in zip(buyers(4), [5, 16, 27, 38], strict=True):
        sell(raffle, contact, [number])
    return cut_off(raffle)


def test_close_sales_closes_what_is_due_and_says_so(drawable):
    assert "closed sales of raffle" in run("close_sales")
    assert "0 raffle(s) closed" in run("close_sales")


def test_close_sales_is_a_periodic_job(settings):
    assert ("close_sales", 60) in settings.PERIODIC_COMMANDS


def test_run_draw_prints_the_proof_and_verify_draw_reproduces_it(drawable):
    out = run("run_draw", str(drawable.pk))
    draw = Draw.objects.get(raffle=drawable)

    assert f"seed {draw.seed}" in out
    assert draw.sold_sha256 in out
    verified = run("verify_draw", str(drawable.pk))
    assert "does NOT" not in verified and "matches its published values" in verified
    assert verified.count("OK  ") == 4  # hash, seed, winners, holders


def test_verify_draw_fails_loudly_when_the_record_was_tampered_with(drawable):
    run("run_draw", str(drawable.pk))
    draw = Draw.objects.get(raffle=drawable)
    draw.results[0]["number"] = "99"
    draw.save()

    with pytest.raises(CommandError, match="does NOT match"):
        run("verify_draw", str(drawable.pk))


def test_run_draw_refusals_are_clear_errors(drawable):
    with pytest.raises(CommandError, match="No raffle"):
        run("run_draw", "999999")
    with pytest.raises(CommandError, match="lottery_results_not_expected"):
        run("run_draw", str(drawable.pk), "--result", "1234")
    with pytest.raises(CommandError, match="not_drawn"):
        run("verify_draw", str(drawable.pk))
    assert not Draw.objects.exists()
