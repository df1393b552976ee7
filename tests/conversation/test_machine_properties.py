"""Property, on the bare machine over the real inventory: any sequence of inputs from several
buyers gives one valid reply per message, a known state, JSON context, and an inventory whose
invariants hold (no number held twice, counts that add up, one rule for "under review")."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversation.machine import Inbound, InboundKind, State
from raffles.invariants import assert_inventory_consistent
from raffles.models import Order
from tests.conversation.conftest import advance_deadlines, make_raffle
from tests.conversation.machine_chat import MachineChat, buyer

# Ids in taps are written as references ("R1": the first raffle, "O2": the buyers' second order)
# and resolved when the step runs: database ids differ from one example to the next. Each kind
# of tap gets mostly sensible arguments, and some junk.
JUNK = ["", "0", "-1", "zz", "999999"]
RAFFLES = st.sampled_from(["R1", "R2", "R1", "R2", *JUNK])
ORDERS = st.sampled_from(["O1", "O2", "O3", "O1", "O2", *JUNK])
QTY = st.sampled_from(["1", "2", "3", "1", "2", "0", "-1", "zz"])


def _tap(*parts: str) -> Inbound:
    return Inbound(kind=InboundKind.TAP, reply_id=":".join(parts))


taps = st.one_of(
    st.builds(lambda r: _tap("raffle", r), RAFFLES),
    st.builds(lambda p: _tap("page", p), st.sampled_from(["0", "1", "2", "zz"])),
    st.sampled_from([_tap("mine"), _tap("menu"), _tap("bogus", "1")]),
    st.builds(lambda m, r: _tap("mode", m, r), st.sampled_from(["pick", "random", "x"]), RAFFLES),
    st.builds(lambda r, q: _tap("qty", r, q), RAFFLES, QTY),
    st.builds(lambda r, q: _tap("qty", r, q), RAFFLES, QTY),
    st.builds(_tap, st.sampled_from(["confirm", "cancel", "continue"]), ORDERS),
)
inputs = st.one_of(
    st.text(max_size=40).map(lambda text: Inbound(kind=InboundKind.TEXT, text=text)),
    st.sampled_from(
        ["hi", "menu", "cancel", "help", "1", "2", "3", "5", "yes", "no", "1-4", "7, 8", "pick"]
    ).map(lambda text: Inbound(kind=InboundKind.TEXT, text=text)),
    taps,
    taps,
    taps,
    st.just(Inbound(kind=InboundKind.MEDIA, media_id="m", mime_type="image/jpeg")),
    st.just(Inbound(kind=InboundKind.OTHER)),
    st.just(None),  # the clock moves 31 minutes
)


def _resolve(inbound: Inbound, raffles: list, orders: list[int]) -> Inbound:
    if inbound.kind != InboundKind.TAP:
        return inbound
    ids = {f"R{n}": raffle.pk for n, raffle in enumerate(raffles, start=1)}
    ids |= {f"O{n}": pk for n, pk in enumerate(orders, start=1)}
    parts = [str(ids.get(part, part)) for part in inbound.reply_id.split(":")]
    return Inbound(kind=InboundKind.TAP, reply_id=":".join(parts))


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.tuples(st.integers(0, 2), inputs), min_size=3, max_size=25))
def test_any_input_sequence_keeps_the_machine_and_inventory_sound(bot_settings, steps):
    with transaction.atomic():
        raffles = [
            make_raffle(title="Small", max_number=5, max_tickets_per_order=3),
            make_raffle(title="Big"),
        ]
        chats = [MachineChat(buyer(f"54911000000{who:02}")) for who in range(3)]
        for who, inbound in steps:
            if inbound is None:
                advance_deadlines(31)
                continue
            orders = list(Order.objects.order_by("pk").values_list("pk", flat=True))

            turn = chats[who].step(_resolve(inbound, raffles, orders))

            assert turn.state in State.values
        assert_inventory_consistent()
        transaction.set_rollback(True)
