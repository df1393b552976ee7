"""The draw in the admin: the confirmation page, the orders to settle, the proof on the raffle
page, prizes inline, and a Cashier kept out."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from raffles.models import Draw, DrawMethod, OrderStatus, Raffle
from raffles.services import reserve_specific, submit_order
from tests.admin.conftest import make_buyer
from tests.raffles.conftest import make_raffle
from tests.raffles.test_draw import buyers, cut_off, sell, with_prizes

pytestmark = pytest.mark.django_db


@pytest.fixture
def drawable() -> Raffle:
    raffle = make_raffle(draw_at=timezone.now() + timedelta(days=1))
    with_prizes(raffle, 2)
    for contact, number in zip(buyers(3), [11, 22, 33], strict=True):
        sell(raffle, contact, [number])
    return raffle


def draw_url(raffle: Raffle) -> str:
    return reverse("admin:raffles_raffle_run_draw", args=[raffle.pk])


def test_the_confirmation_page_lists_the_orders_to_settle_and_drawing_cancels_them_if_asked(
    client, superuser, drawable
):
    pending = submit_order(
        order=reserve_specific(raffle=drawable, numbers=[44], contact=make_buyer(44, "Late"))
    )
    cut_off(drawable)
    client.force_login(superuser)

    page = client.get(draw_url(drawable))
    refused = client.post(draw_url(drawable), {})
    drawn = client.post(draw_url(drawable), {"cancel_unpaid": "on"})

    assert f"#{pending.pk}" in page.content.decode()
    assert "Orders to settle first" in page.content.decode()
    assert refused.status_code == 200 and "Not drawn" in refused.content.decode()
    assert drawn.status_code == 302
    pending.refresh_from_db()
    assert pending.status == OrderStatus.CANCELLED
    assert Draw.objects.get(raffle=drawable).drawn_by == superuser


def test_the_raffle_page_shows_the_commitment_then_the_revealed_seed(client, superuser, drawable):
    cut_off(drawable)
    client.force_login(superuser)
    change = reverse("admin:raffles_raffle_change", args=[drawable.pk])

    before = client.get(change).content.decode()
    client.post(draw_url(drawable), {})
    after = client.get(change).content.decode()

    assert drawable.seed_commitment in before and drawable.draw_seed not in before
    assert "Run the draw" in before
    draw = Draw.objects.get(raffle=drawable)
    assert draw.seed in after and draw.sold_sha256 in after
    assert "prizes-TOTAL_FORMS" in before  # prizes are edited inline


def test_lottery_results_are_typed_one_per_line_and_checked(client, superuser):
    raffle = make_raffle(
        draw_at=timezone.now() + timedelta(days=1),
        draw_method=DrawMethod.LOTTERY,
        lottery_name="Lotería de Medellín",
        lottery_date=date(2026, 12, 20),
    )
    with_prizes(raffle, 1)
    sell(raffle, make_buyer(7, "Siete"), [7])
    cut_off(raffle)
    client.force_login(superuser)

    bad = client.post(draw_url(raffle), {"lottery_results": "45O7"})
    good = client.post(draw_url(raffle), {"lottery_results": " 4507 \n"})

    assert bad.status_code == 200 and "is not a lottery result" in bad.content.decode()
    assert good.status_code == 302
    assert raffle.prizes.get().winning_number == 7


def test_a_cashier_cannot_run_the_draw(client, cashier, drawable):
    cut_off(drawable)
    client.force_login(cashier)

    page = client.get(draw_url(drawable))
    posted = client.post(draw_url(drawable), {})
    changelist = client.get(reverse("admin:raffles_raffle_changelist"))

    assert page.status_code == posted.status_code == 403
    assert "run_draw" not in changelist.content.decode()
    assert not Draw.objects.exists()


def test_the_run_the_draw_action_opens_the_confirmation_page(client, superuser, drawable):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:raffles_raffle_changelist"),
        {"action": "run_draw", "_selected_action": [drawable.pk]},
    )

    assert response.status_code == 302 and response["Location"] == draw_url(drawable)


def test_the_raffle_list_says_whether_sales_are_open_closed_or_drawn(client, superuser, drawable):
    from django.contrib import admin as django_admin

    from raffles.admin.raffles import RaffleAdmin

    model_admin = RaffleAdmin(Raffle, django_admin.site)

    assert model_admin.sales_state(drawable) == "open"
    cut_off(drawable)
    assert model_admin.sales_state(drawable) == "closed"
    client.force_login(superuser)
    client.post(draw_url(drawable), {})
    drawable.refresh_from_db()
    assert model_admin.sales_state(drawable) == "drawn"


def test_draw_notices_without_a_template_stay_visible_on_the_landing_page(
    client, superuser, drawable, fake_graph, settings
):
    from whatsapp.models import OutboundMessage, OutboundStatus
    from whatsapp.services.delivery import deliver

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    cut_off(drawable)
    client.force_login(superuser)
    client.post(draw_url(drawable), {})  # the buyers never wrote: all outside the window
    notices = OutboundMessage.objects.filter(notice_kind__in=["draw_result", "winner"])
    for pk in notices.values_list("pk", flat=True):
        deliver(outbound_id=pk)  # no approved template: each waits for one

    page = client.get(reverse("admin:index")).content.decode()
    listed = client.get(
        reverse("admin:whatsapp_outboundmessage_changelist") + "?status__exact=needs_template"
    )

    assert notices.filter(status=OutboundStatus.NEEDS_TEMPLATE).count() == 5  # 3 results + 2 wins
    assert 'id="needs-template"' in page and "draw_result" in page and "winner" in page
    assert listed.status_code == 200 and "draw_result" in listed.content.decode()
