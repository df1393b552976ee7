"""An operator's raffle day in a real headless Chromium: review, confirm, cancel, and the limits
of a Cashier."""

from __future__ import annotations

import pytest

from raffles.models import Order, OrderStatus, TicketNumber, TicketStatus
from tests.admin.conftest import make_buyer, pending_order_with_proof
from tests.support.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def test_operator_reviews_a_proof_confirms_one_payment_and_cancels_another(
    live_server, page, superuser, raffle
):
    to_confirm = pending_order_with_proof(raffle, make_buyer(1, "Ana"), [7, 8])
    to_cancel = pending_order_with_proof(raffle, make_buyer(2, "Beto"), [9])

    sign_in(page, live_server, "boss", "pass-word-1")
    assert page.locator("#proofs-waiting").get_by_text(f"#{to_confirm.pk}").is_visible()
    screenshot(page, "admin-dashboard")

    page.goto(f"{live_server.url}/admin/raffles/order/?status__exact=PENDING_PAYMENT&has_proof=yes")
    page.click(f"a[href^='/admin/raffles/order/{to_confirm.pk}/change/']")
    preview = page.locator("img.proof-preview")
    preview.wait_for()
    assert preview.evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot(page, "admin-order-page")

    page.click("#confirm-payment")
    page.wait_for_selector(".alert-success, .messagelist .success, .alert")
    assert "is paid" in page.content()

    to_confirm.refresh_from_db()
    assert to_confirm.status == OrderStatus.PAID
    assert set(
        TicketNumber.objects.filter(raffle=raffle, number__in=[7, 8]).values_list(
            "status", flat=True
        )
    ) == {TicketStatus.SOLD}

    page.goto(f"{live_server.url}/admin/raffles/order/{to_cancel.pk}/change/")
    page.click("#cancel-order")
    page.fill("#id_reason", "The transfer was for another raffle")
    page.click("#reason-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/raffles/order/{to_cancel.pk}/change/")

    cancelled = Order.objects.get(pk=to_cancel.pk)
    assert cancelled.status == OrderStatus.CANCELLED
    assert cancelled.cancel_reason == "The transfer was for another raffle"
    assert TicketNumber.objects.get(raffle=raffle, number=9).status == TicketStatus.AVAILABLE


def test_a_cashier_cannot_edit_a_raffle(live_server, page, cashier, raffle):
    sign_in(page, live_server, "cashier", "pass-word-2")

    page.goto(f"{live_server.url}/admin/raffles/raffle/{raffle.pk}/change/")
    assert page.locator("input[name=title]").count() == 0  # shown read-only, no form field

    response = page.goto(f"{live_server.url}/admin/raffles/raffle/add/")
    assert response is not None and response.status == 403
