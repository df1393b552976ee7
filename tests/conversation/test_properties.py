"""Property: whatever several buyers send, in any order, mixed with operator actions and the
clock running out, the bot never fails, always answers once, never leaves a buyer in an unknown
state, and the inventory invariants hold."""

from __future__ import annotations

import random

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversation.models import Conversation, ConversationState
from raffles.invariants import assert_inventory_consistent
from raffles.models import Order, PaymentProof, ProofStatus
from raffles.services import cancel_order, confirm_payment, expire_due, reject_proof
from tests.conversation.conftest import WebhookChat, make_raffle

TEXTS = [
    "hi",
    "hola",
    "menu",
    "MEN\u00da",
    "cancel",
    "cancelar",
    "help",
    "ayuda",
    "1",
    "2",
    "3",
    "5",
    "5, 7",
    "0-3",
    "07\n8",
    "99",
    "1-50",
    "abc",
    "yes",
    "no",
    "random",
    "pick",
    "",
]

buyer_action = st.one_of(
    st.sampled_from(TEXTS).map(lambda text: ("say", text or "?")),
    st.integers(1, 3).map(lambda n: ("choice", n)),
    st.tuples(
        st.sampled_from(["confirm", "cancel", "continue", "raffle", "qty", "mode", "page"]),
        st.integers(1, 6),
    ).map(lambda pair: ("stale", pair)),
    st.sampled_from(["image", "pdf"]).map(lambda kind: ("media", kind)),
    st.sampled_from(["sticker", "reaction", "location"]).map(lambda kind: ("other", kind)),
    st.just(("clock", 31)),
)
operator_action = st.sampled_from(["confirm", "cancel", "reject", "sweep"]).map(
    lambda what: ("operator", what)
)
step = st.tuples(st.integers(0, 2), st.one_of(buyer_action, buyer_action, operator_action))


def _stale_id(kind: str, n: int) -> str:
    return {
        "qty": f"qty:{n}:2",
        "mode": f"mode:random:{n}",
        "page": f"page:{n}",
    }.get(kind, f"{kind}:{n}")


def _operate(what: str, rng: random.Random) -> None:
    from raffles.errors import RaffleError

    try:
        if what == "sweep":
            expire_due()
            return
        if what == "reject":
            proofs = list(PaymentProof.objects.filter(status=ProofStatus.PENDING))
            if proofs:
                reject_proof(proof=rng.choice(proofs), reason="unreadable")
            return
        orders = list(Order.objects.filter(status__in=["PENDING_PAYMENT", "DRAFT", "EXPIRED"]))
        if not orders:
            return
        order = rng.choice(orders)
        if what == "confirm":
            confirm_payment(order=order)
        else:
            cancel_order(order=order, reason="operator")
    except RaffleError:
        pass  # refusing an operator action is the inventory's right; the bot must cope


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=18))
def test_random_conversations_never_break_the_bot_or_the_inventory(client, bot_settings, steps):
    rng = random.Random(1)
    random.seed(7)
    with transaction.atomic():
        make_raffle(title="Small", max_number=9, max_tickets_per_order=3)
        make_raffle(title="Big", max_number=99)
        chats = [WebhookChat(client, f"54911000000{n:02}") for n in range(3)]
        for who, (kind, arg) in steps:
            chat = chats[who]
            if kind == "say":
                chat.say(arg)
            elif kind == "choice":
                if arg <= len(chat.last_choices):
                    reply_id, title, is_row = chat.last_choices[arg - 1]
                    chat.tap(reply_id, title, is_row=is_row)
                else:
                    chat.say(str(arg))
            elif kind == "stale":
                chat.tap(_stale_id(*arg), arg[0].title(), is_row=False)
            elif kind == "media":
                chat.media(arg)
            elif kind == "other":
                chat.other(arg)
            elif kind == "clock":
                chat.advance(arg)
            else:
                _operate(arg, rng)
            for conversation in Conversation.objects.all():
                assert conversation.state in ConversationState.values
            assert_inventory_consistent()
        transaction.set_rollback(True)
