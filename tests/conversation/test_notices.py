"""Each buyer notice the business starts is queued with its kind and its template values, so it
can still reach the buyer as an approved template after the 24-hour window has closed."""

from __future__ import annotations

import pytest
from django.conf import settings

from conversation.notices import NoticeKind
from raffles.models import PaymentProof
from raffles.services import cancel_order, confirm_payment, expire_due, reject_proof
from tests.conversation.transcripts import run
from whatsapp.models import OutboundMessage

pytestmark = pytest.mark.django_db


def _reach_wait_proof(chat) -> None:
    run(
        chat,
        [
            ("hi", "Pick my numbers", "CHOOSE_MODE"),
            ("#2", "How many numbers", "ASK_QTY"),
            ("2", "Reserved for you", "CONFIRM_RESERVATION", "DRAFT"),
            ("#1", "Transfer to Bank 123-456", "WAIT_PROOF", "PENDING_PAYMENT"),
        ],
    )


def last_notice(chat) -> OutboundMessage:
    return (
        OutboundMessage.objects.filter(contact__wa_id=chat.wa_id)
        .exclude(notice_kind="")
        .latest("pk")
    )


def mapped_values(kind: str) -> set[str]:
    return set(settings.WHATSAPP_NOTICE_TEMPLATES[kind]["parameters"]) - {"buyer_name"}


def test_every_notice_kind_has_a_default_template_mapping():
    assert set(settings.WHATSAPP_NOTICE_TEMPLATES) == set(NoticeKind.values)


def test_a_payment_confirmation_carries_its_template_values(chat, raffle):
    _reach_wait_proof(chat)
    run(chat, [("[image]", "received", "DONE")])
    order = chat.order()

    confirm_payment(order=order)

    notice = last_notice(chat)
    assert notice.notice_kind == NoticeKind.PAYMENT_CONFIRMED
    numbers = ", ".join(raffle.format_number(n) for n in order.numbers)
    assert notice.template_params == {
        "order": str(order.pk),
        "raffle": raffle.title,
        "numbers": numbers,
    }
    assert mapped_values(notice.notice_kind) <= set(notice.template_params)


def test_a_cancellation_carries_the_reason(chat, raffle):
    _reach_wait_proof(chat)

    cancel_order(order=chat.order(), reason="Transfer never arrived")

    notice = last_notice(chat)
    assert notice.notice_kind == NoticeKind.ORDER_CANCELLED
    assert notice.template_params["reason"] == "Transfer never arrived"
    assert mapped_values(notice.notice_kind) <= set(notice.template_params)


def test_a_rejected_proof_carries_the_reason(chat, raffle):
    _reach_wait_proof(chat)
    run(chat, [("[image]", "received", "DONE")])

    reject_proof(proof=PaymentProof.objects.get(order=chat.order()), reason="Amount not visible")

    notice = last_notice(chat)
    assert notice.notice_kind == NoticeKind.PROOF_REJECTED
    assert notice.template_params["reason"] == "Amount not visible"
    assert mapped_values(notice.notice_kind) <= set(notice.template_params)


def test_an_expiry_and_a_reminder_carry_their_values(chat, other_chat, raffle):
    from conversation.reminders import remind_pending_orders

    _reach_wait_proof(chat)
    chat.advance(27)
    remind_pending_orders()
    reminder = last_notice(chat)
    chat.advance(4)

    expire_due()

    assert reminder.notice_kind == NoticeKind.PAYMENT_REMINDER
    assert mapped_values(reminder.notice_kind) <= set(reminder.template_params)
    expired = last_notice(chat)
    assert expired.notice_kind == NoticeKind.RESERVATION_EXPIRED
    assert expired.template_params == {"raffle": raffle.title}
