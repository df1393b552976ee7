"""An operator signs in to the Jazzmin back office in a real browser."""

import pytest

from tests.support.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_signs_in_and_sees_the_jazzmin_back_office(live_server, page, django_user_model):
    django_user_model.objects.create_superuser("boss", "boss@example.com", "pass-word-1")

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "pass-word-1")
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    assert "Raffle Backoffice" in page.title()
    assert page.locator("#jazzy-sidebar").is_visible()
    screenshot(page, "admin-index")
