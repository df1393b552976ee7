"""Property, on the bare machine: any sequence of inputs from several buyers gives one valid
reply per message, a known state, JSON context, and an inventory where no number is held twice."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from conversation.machine import Inbound, InboundKind, Machine, State
from tests.conversation.fakes import FakeInventory, FakeRaffle

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)

inputs = st.one_of(
    st.text(max_size=40).map(lambda text: Inbound(kind=InboundKind.TEXT, text=text)),
    st.sampled_from(
        ["hi", "menu", "cancel", "help", "1", "2", "3", "5", "yes", "no", "1-4", "7, 8", "pick"]
    ).map(lambda text: Inbound(kind=InboundKind.TEXT, text=text)),
    st.builds(
        lambda action, a, b: Inbound(kind=InboundKind.TAP, reply_id=f"{action}:{a}:{b}"),
        st.sampled_from(["raffle", "page", "mine", "menu", "mode", "qty", "confirm", "cancel"]),
        st.sampled_from(["1", "2", "pick", "random", "x", ""]),
        st.sampled_from(["1", "2", "3", "0", "-1", "zz"]),
    ),
    st.builds(
        lambda n: Inbound(kind=InboundKind.TAP, reply_id=f"continue:{n}"), st.integers(-1, 5)
    ),
    st.just(Inbound(kind=InboundKind.MEDIA, media_id="m", mime_type="image/jpeg")),
    st.just(Inbound(kind=InboundKind.OTHER)),
    st.just(None),  # the clock moves 31 minutes
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), inputs), max_size=25))
def test_any_input_sequence_keeps_the_machine_and_inventory_sound(steps):
    inventory = FakeInventory(
        [
            FakeRaffle(pk=1, title="Small", max_number=5, max_tickets_per_order=3),
            FakeRaffle(pk=2, title="Big"),
        ],
        now=NOW,
    )
    chats = {who: ("MENU", {}) for who in range(3)}
    for who, inbound in steps:
        if inbound is None:
            inventory.now += dt.timedelta(minutes=31)
            continue
        state, context = chats[who]
        machine = Machine(inventory=inventory, contact=f"buyer-{who}", now=inventory.now)

        turn = machine.step(state=state, context=context, inbound=inbound)

        assert turn.reply is not None
        turn.reply.validate()
        assert turn.state in State.values
        chats[who] = (str(turn.state), json.loads(json.dumps(turn.context)))
    held = list(inventory.holder.values())
    for order in inventory.orders.values():
        mine = held.count(order.pk)
        assert mine == (len(order.numbers) if order.status in ("DRAFT", "PENDING_PAYMENT") else 0)
