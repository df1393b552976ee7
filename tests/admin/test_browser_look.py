"""The admin looks finished in Chromium, in English and Spanish: no text overflows its card and
the top bar's links can be read. Screenshots are kept under test-artifacts/ (git-ignored)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from model_bakery import baker

from conversation.models import Conversation
from raffles import services
from raffles.models import ChangeSource, OrderEvent, OrderStatus
from tests.admin.conftest import PNG_BYTES, make_buyer, pending_order_with_proof
from tests.admin.test_browser_operator_day import sign_in
from tests.support.browser import screenshot
from whatsapp.models import InboundMessage, OutboundMessage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_NOTE = (
    "The buyer called to say the transfer was made from her husband's account at another bank "
    "and that the reference number on the receipt is 0001234567890123456789; please match it "
    "by amount and date rather than by name."
)

# Every element inside a card that reaches past the card's right edge, or a card whose content
# is wider than the card itself (cut off or scrolled away).
OVERFLOWS = """() => {
  const found = [];
  for (const card of document.querySelectorAll('.card, fieldset.module, .tab-pane.active')) {
    const box = card.getBoundingClientRect();
    if (box.width === 0) continue;
    for (const el of card.querySelectorAll('table, td, th, p, pre, img, a, span')) {
      const r = el.getBoundingClientRect();
      if (r.width && r.right > box.right + 1) {
        const text = (el.innerText || '').slice(0, 40);
        found.push(`${el.tagName} "${text}" ends at ${r.right} > ${box.right}`);
        break;
      }
    }
  }
  return found;
}"""

# The contrast ratio (WCAG) of each top-bar link's text against the bar behind it.
TOP_BAR_CONTRAST = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const a of document.querySelectorAll('#jazzy-navbar a.nav-link')) {
    if (!a.getClientRects().length) continue;
    const fg = lum(rgb(getComputedStyle(a).color)), bg = lum(background(a));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    out.push([(a.innerText || a.title || a.className).trim().slice(0, 30), ratio]);
  }
  return out;
}"""


# Sidebar entries whose text is cut ("Authentication and Authorizatio").
SIDEBAR_CUT = """() => [...document.querySelectorAll('.nav-sidebar .nav-header, .nav-sidebar p')]
  .filter((el) => el.scrollWidth > el.clientWidth + 1)
  .map((el) => el.innerText)"""


def assert_looks_finished(page, name: str) -> None:
    screenshot(page, name)
    assert page.evaluate(OVERFLOWS) == [], name
    assert page.evaluate(SIDEBAR_CUT) == [], name
    contrasts = page.evaluate(TOP_BAR_CONTRAST)
    assert contrasts, "no top-bar links found"
    low = [(text, round(ratio, 2)) for text, ratio in contrasts if ratio < 4.5]
    assert low == [], f"{name}: top-bar links without contrast {low}"


@pytest.fixture
def scene(raffle, superuser):
    """A raffle in full swing: proofs to review, an order with two proofs and a long history,
    a buyer waiting for a person, and a buyer with 300 messages."""
    ana = make_buyer(1, "Ana María Fernández de la Torre")
    order = pending_order_with_proof(raffle, ana, [7, 8])
    services.attach_payment_proof(
        order=order,
        media_id="media-back",
        mime_type="image/png",
        file=ContentFile(PNG_BYTES, name="back-of-receipt.png"),
    )
    now = timezone.now()
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=order,
            from_status=OrderStatus.PENDING_PAYMENT,
            to_status=OrderStatus.PENDING_PAYMENT,
            at=now - dt.timedelta(minutes=n),
            source=ChangeSource.OPERATOR,
            note=f"{n}: {LONG_NOTE}",
        )
        for n in range(40)
    )
    pending_order_with_proof(raffle, make_buyer(2, "Beto"), [9])
    services.confirm_payment(order=pending_order_with_proof(raffle, make_buyer(3, "Carla"), [10]))
    Conversation.objects.create(
        contact=make_buyer(4, "Dora"),
        handoff_since=now,
        handoff_until=now + dt.timedelta(hours=2),
        handoff_reason="quiero hablar con alguien " + LONG_NOTE,
    )
    chatty = make_buyer(5, "Elena")
    baker.make(
        InboundMessage,
        contact=chatty,
        msg_type="text",
        text=LONG_NOTE.replace(" ", "_"),
        _quantity=150,
        _bulk_create=True,
    )
    baker.make(
        OutboundMessage,
        contact=chatty,
        kind="text",
        payload={"type": "text", "text": {"body": LONG_NOTE}},
        _quantity=150,
        _bulk_create=True,
    )
    return {"order": order, "chatty": chatty}


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_admin_pages_fit_their_cards_and_the_top_bar_reads(
    live_server, page, settings, scene, raffle, language
):
    settings.LANGUAGE_CODE = language
    sign_in(page, live_server, "boss", "pass-word-1")

    assert_looks_finished(page, f"look-{language}-landing")

    page.goto(f"{live_server.url}/admin/raffles/order/{scene['order'].pk}/change/")
    assert_looks_finished(page, f"look-{language}-order-two-proofs-long-history")

    page.goto(f"{live_server.url}/admin/raffles/raffle/{raffle.pk}/change/")
    assert_looks_finished(page, f"look-{language}-raffle-form")
    # The "Orders" tab holds the raffle's orders (a link per status), not only settings.
    page.click(".nav-tabs a:nth-child(1) >> nth=2")
    orders_link = page.locator(f"a[href$='?raffle__id__exact={raffle.pk}']")
    assert orders_link.is_visible()
    assert_looks_finished(page, f"look-{language}-raffle-form-orders-tab")

    page.goto(f"{live_server.url}/admin/whatsapp/contact/{scene['chatty'].pk}/change/")
    assert page.locator("#conversation-timeline tr").count() == 50
    assert page.locator("#older-messages").is_visible()
    assert_looks_finished(page, f"look-{language}-contact-300-messages")

    page.goto(f"{live_server.url}/admin/raffles/order/")
    assert_looks_finished(page, f"look-{language}-order-list")
