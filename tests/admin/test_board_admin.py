"""The board picture on the raffle's admin page: served by an admin view, shown in a tab."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from raffles import services
from raffles.board_picture import STRIKE
from raffles.services.board import board_for
from tests.admin.conftest import make_buyer, make_raffle
from tests.support.browser import screenshot

pytestmark = pytest.mark.django_db


def sell(raffle, numbers):
    order = services.reserve_specific(raffle=raffle, numbers=numbers, contact=make_buyer(1))
    services.confirm_payment(order=services.submit_order(order=order))


def test_the_raffle_page_shows_the_board_picture(client, superuser, raffle):
    client.force_login(superuser)

    page = client.get(reverse("admin:raffles_raffle_change", args=[raffle.pk]))

    board_url = reverse("admin:raffles_raffle_board_png", args=[raffle.pk])
    assert page.status_code == 200
    assert f'src="{board_url}"' in page.content.decode()


def test_the_admin_view_serves_the_current_board(client, superuser, raffle, settings):
    settings.BOARD_MIN_RENDER_SECONDS = 0
    sell(raffle, [12])
    client.force_login(superuser)

    response = client.get(reverse("admin:raffles_raffle_board_png", args=[raffle.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    layout = board_for(raffle=raffle).layout
    x0, y0, x1, y1 = layout.cell_box(12)
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.getpixel((x0 + max(4, (x1 - x0) // 10) + 2, (y0 + y1) // 2)) == STRIKE


def test_a_raffle_too_large_for_a_board_says_so_instead_of_a_picture(client, superuser):
    big = make_raffle(min_number=1, max_number=2000)
    client.force_login(superuser)

    page = client.get(reverse("admin:raffles_raffle_change", args=[big.pk])).content.decode()
    picture = client.get(reverse("admin:raffles_raffle_board_png", args=[big.pk]))

    assert "a board picture shows at most 1,000" in page
    assert "raffle-board" not in page
    assert picture.status_code == 422


def test_the_board_view_needs_the_admin_and_view_permission(client, django_user_model, raffle):
    url = reverse("admin:raffles_raffle_board_png", args=[raffle.pk])
    assert client.get(url).status_code == 302  # to the login page

    client.force_login(django_user_model.objects.create_user("nobody", is_staff=True))

    assert client.get(url).status_code == 403


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_operator_sees_the_board_in_the_raffle_tab(live_server, page, superuser):
    raffle = make_raffle(title="Board raffle")
    sell(raffle, [3, 4])

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "pass-word-1")
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/raffles/raffle/{raffle.pk}/change/")
    page.get_by_role("tab", name="Board").click()
    picture = page.locator("img.raffle-board")
    picture.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('img.raffle-board').complete")

    assert picture.evaluate("img => img.naturalWidth") == 1080
    screenshot(page, "admin-raffle-board")
