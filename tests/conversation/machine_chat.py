"""A buyer talking to the bare state machine, over the real inventory on the test database.

No webhook, no outbox: `Machine.step` is called the way the handler calls it, with the same
`RafflesInventory` production uses, so what these tests check is what production does (there
is no in-memory stand-in that could drift from the raffles services).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from conversation.answering import answering_contact
from conversation.inventory import RafflesInventory
from conversation.machine import Inbound, InboundKind, Machine
from conversation.render import choices, render
from tests.conversation.conftest import JPEG_BYTES, PDF_BYTES, advance_deadlines
from whatsapp.models import Contact


class RecordingInventory(RafflesInventory):
    """The real inventory, noting every change the machine asks of it ("submit 12")."""

    def __init__(self, calls: list[str]) -> None:
        super().__init__()
        self.calls = calls

    def reserve_specific(self, *, raffle: Any, numbers: Sequence[int], contact: Any) -> Any:
        self.calls.append(f"reserve_specific {list(numbers)}")
        return super().reserve_specific(raffle=raffle, numbers=numbers, contact=contact)

    def reserve_random(self, *, raffle: Any, qty: int, contact: Any) -> Any:
        self.calls.append(f"reserve_random {qty}")
        return super().reserve_random(raffle=raffle, qty=qty, contact=contact)

    def submit(self, *, order: Any) -> Any:
        self.calls.append(f"submit {order.pk}")
        return super().submit(order=order)

    def cancel(self, *, order: Any) -> Any:
        self.calls.append(f"cancel {order.pk}")
        return super().cancel(order=order)

    def attach_proof(self, *, order: Any, media_id: str, mime_type: str) -> Any:
        self.calls.append(f"attach_proof {order.pk} {mime_type}")
        return super().attach_proof(order=order, media_id=media_id, mime_type=mime_type)

    def expire(self, *, order: Any) -> Any:
        self.calls.append(f"expire {order.pk}")
        return super().expire(order=order)


def buyer(wa_id: str = "5491100000001", name: str = "Ana") -> Contact:
    return Contact.objects.get_or_create(wa_id=wa_id, defaults={"profile_name": name})[0]


class MachineChat:
    """Drives `Machine.step` as the handler does (one transaction per turn, the buyer marked as
    the one being answered), keeping state and context between turns."""

    inventory_class: type[RecordingInventory] = RecordingInventory

    def __init__(self, contact: Contact | None = None) -> None:
        self.contact = contact or buyer()
        self.calls: list[str] = []
        self._state = "MENU"
        self.context: dict = {}
        self.last_choices: list = []

    def step(self, inbound: Inbound) -> Any:
        """One turn; returns the machine's `Turn` (the reply is checked against Meta's limits)."""
        # One inventory per turn, as the handler makes one per message.
        inventory = self.inventory_class(self.calls)
        machine = Machine(inventory=inventory, contact=self.contact, now=timezone.now())
        with answering_contact(self.contact.pk), transaction.atomic():
            turn = machine.step(state=self._state, context=self.context, inbound=inbound)
        assert turn.reply is not None
        turn.reply.validate()
        self._state = str(turn.state)
        self.context = json.loads(json.dumps(turn.context))  # stored as JSON
        self.last_choices = choices(turn.reply)
        return turn

    def _send(self, inbound: Inbound) -> str:
        return render(self.step(inbound).reply)

    def say(self, text: str) -> str:
        return self._send(Inbound(kind=InboundKind.TEXT, text=text))

    def tap(self, reply_id: str, title: str, *, is_row: bool) -> str:
        return self._send(Inbound(kind=InboundKind.TAP, reply_id=reply_id, text=title))

    def media(self, kind: str, *, file_arrives: bool = True) -> str:
        """Send a photo or a PDF. If the bot asks for the file, it arrives right after the
        answer (as the transport's download would), unless `file_arrives` is False."""
        mime = "image/jpeg" if kind == "image" else "application/pdf"
        media_id = f"m-{kind}-{len(self.calls)}"
        turn = self.step(Inbound(kind=InboundKind.MEDIA, media_id=media_id, mime_type=mime))
        if turn.fetch_media and file_arrives:
            from raffles.models import PaymentProof
            from raffles.services import store_proof_file

            proof = PaymentProof.objects.get(media_id=media_id, order__contact=self.contact)
            content = JPEG_BYTES if kind == "image" else PDF_BYTES
            store_proof_file(proof=proof, content=content, filename=f"transfer.{kind}")
        return render(turn.reply)

    def other(self, kind: str) -> str:
        return self._send(Inbound(kind=InboundKind.OTHER))

    def advance(self, minutes: int) -> None:
        advance_deadlines(minutes, contact=self.contact)

    def state(self) -> str:
        return self._state

    def order(self) -> Any:
        from raffles.selectors import orders_of

        return orders_of(self.contact).first()

    def order_status(self) -> str | None:
        order = self.order()
        return order.status if order else None
