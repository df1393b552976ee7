"""The conversation as an explicit state machine: one inbound message in, one turn out.

`Machine.step` reads the buyer's state and context and the message, asks the inventory for what
it needs (and makes the one raffles service call the message calls for), and returns a `Turn`:
the next state, the next context and the single reply. It stores nothing and sends nothing, so
every rule here is testable without HTTP or Meta (see tests/conversation/test_machine.py).

Button and list taps carry the object they act on in their id (see `conversation.actions`) and
are handled the same in every state, so a tap on an old message is judged against the order's
current status and never acts twice. Typed text is read according to the current state.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conversation import replies
from conversation.actions import Action, Tap, parse_tap
from conversation.inventory import Inventory, Refused
from conversation.models import ConversationState as State
from conversation.parsing import (
    Command,
    Mode,
    is_board_request,
    is_greeting,
    names_numbers,
    normalize,
    parse_command,
    parse_index,
    parse_mode,
    parse_numbers,
    parse_quantity,
    parse_random_request,
    parse_yes_no,
)
from raffles.errors import (
    InvalidQuantity,
    LiveOrderExists,
    NotEnoughAvailable,
    NumbersLost,
    NumbersOutOfRange,
    OrderExpired,
    OrderTotalTooLarge,
    RaffleInactive,
    RaffleNotReady,
    SalesClosed,
    SoldOut,
    TicketsTaken,
    TooManyLiveOrders,
    TooManyProofs,
)
from raffles.limits import most_per_order
from raffles.models import LIVE_STATUSES, OrderStatus
from raffles.selectors import sales_are_closed
from raffles.services.board import has_board
from whatsapp.outgoing import OutgoingMessage, TextMessage

__all__ = ["Inbound", "InboundKind", "Machine", "State", "Turn"]


class InboundKind(enum.StrEnum):
    TEXT = "text"  # typed text
    TAP = "tap"  # a reply button, list row or quick-reply button
    MEDIA = "media"  # an image or a document: a payment proof when one is expected
    OTHER = "other"  # stickers, reactions, locations, audio, unsupported...


@dataclass(frozen=True)
class Inbound:
    """One buyer message as the machine sees it, independent of Meta's payload shapes."""

    kind: InboundKind
    text: str = ""
    reply_id: str = ""
    media_id: str = ""
    mime_type: str = ""


@dataclass
class Turn:
    """What should happen: the state and context to store, and the one reply to queue.
    `fetch_media`: the message's file became a payment proof and should be downloaded (no
    other file is). `show_board`: a raffle whose board picture precedes the reply."""

    state: State
    context: dict[str, Any] = field(default_factory=dict)
    reply: OutgoingMessage | None = None
    fetch_media: bool = False
    # The board picture of this raffle goes first, and `reply` right after it
    # (`conversation.board` sends both once the picture is uploaded).
    show_board: int | None = None


class Machine:
    """The transition rules for one buyer's turn."""

    def __init__(self, *, inventory: Inventory, contact: Any, now: dt.datetime) -> None:
        self.inventory = inventory
        self.contact = contact
        self.now = now

    # --- entry point ---------------------------------------------------------------------------
    def step(self, *, state: str, context: dict[str, Any], inbound: Inbound) -> Turn:
        current = State(state) if state in State.values else State.MENU
        context = dict(context or {})
        if inbound.kind == InboundKind.TAP:
            tap = parse_tap(inbound.reply_id)
            if tap is not None:
                return self.on_tap(tap, current, context)
            # A quick-reply button we never sent: read its title as if typed.
            inbound = Inbound(kind=InboundKind.TEXT, text=inbound.text)
        if inbound.kind == InboundKind.MEDIA:
            if current == State.WAIT_PROOF:
                return self.on_proof(context, inbound)
            if current == State.DONE and self._proof_sent_for(context):
                # A second photo right after the first (the back of the receipt, a clearer
                # shot) belongs to the same payment.
                return self.on_proof(context, inbound, extra=True)
            return Turn(current, context, replies.media_not_expected(state=current))
        if inbound.kind == InboundKind.TEXT:
            command = parse_command(inbound.text)
            if command is not None:
                return self.on_command(command, current, context)
            if is_greeting(inbound.text) or current == State.DONE:
                return self.menu(prefix=self._lapsed_notice(current, context))
            return self._text_handlers[current](self, inbound.text, context)
        return Turn(current, context, replies.unsupported(state=current))

    # --- global commands and taps --------------------------------------------------------------
    def on_command(self, command: Command, state: State, context: dict[str, Any]) -> Turn:
        if command == Command.MENU:
            return self.menu(prefix=self._lapsed_notice(state, context))
        if command == Command.CANCEL:
            # The order this chat is about, if still live; else the buyer's newest live one.
            order = self._context_order(context)
            if order is not None and order.status in LIVE_STATUSES:
                return self.cancel(order.pk)
            return self.cancel(None)
        if state in (State.MENU, State.DONE):
            turn = self.menu()
            return Turn(turn.state, turn.context, replies.prefixed(turn.reply, replies.help_text()))
        return Turn(state, context, replies.help_message(hint=replies.hint_for(state)))

    def on_tap(self, tap: Tap, state: State, context: dict[str, Any]) -> Turn:
        first = tap.int_arg(0)
        if tap.action == Action.MENU:
            return self.menu()
        if tap.action == Action.PAGE:
            return self.menu(page=first or 0)
        if tap.action == Action.MINE:
            orders = self.inventory.orders_of(self.contact, 10)
            return Turn(state, context, replies.my_tickets(orders=orders))
        if tap.action == Action.RAFFLE and first is not None:
            return self.open_raffle(first)
        if tap.action == Action.MODE:
            raffle_id = tap.int_arg(1)
            mode = Mode.PICK if tap.args[:1] == ("pick",) else Mode.RANDOM
            if raffle_id is not None:
                return self.choose_mode(raffle_id, mode)
        if tap.action == Action.BOARD and first is not None:
            return self.show_board(first)
        if tap.action == Action.QTY:
            qty = tap.int_arg(1)
            if first is not None and qty is not None:
                return self.quantity(first, qty)
        if first is not None:
            if tap.action == Action.CONFIRM:
                return self.confirm(first)
            if tap.action == Action.CANCEL:
                return self.cancel(first)
            if tap.action == Action.CONTINUE:
                return self.resume(first)
        return Turn(state, context, replies.not_understood(state=state))

    # --- menu and raffle choice ----------------------------------------------------------------
    def menu(self, *, prefix: str = "", page: int = 0) -> Turn:
        """The menu: a live order first, else the open raffles (straight in when only one)."""
        live = self._order_needing_buyer()
        if live is not None:
            return Turn(
                State.MENU,
                {"offer_order": live.pk},
                replies.live_order_offer(order=live, prefix=prefix),
            )
        raffles = list(self.inventory.active_raffles())
        if not raffles:
            return Turn(State.MENU, {}, replies.no_raffles(prefix=prefix))
        if len(raffles) == 1:
            raffle = raffles[0]
            if sales_are_closed(raffle):
                return self._sales_closed(raffle, prefix=prefix)
            left = self.inventory.available_count(raffle)
            if left <= 0:
                return Turn(State.MENU, {}, replies.say(prefix, replies.sold_out(raffle=raffle)))
            return self._raffle_card(raffle, left, prefix)
        if page * replies.PAGE_SIZE >= len(raffles):
            page = 0
        rows = [(raffle, self.inventory.available_count(raffle)) for raffle in raffles]
        reply = replies.menu(raffles=rows, page=page, prefix=prefix)
        return Turn(State.MENU, {"page": page, "options": _option_ids(reply)}, reply)

    def open_raffle(self, raffle_id: int, *, prefix: str = "") -> Turn:
        blocked = self._offer_live(prefix)
        if blocked:
            return blocked
        raffle = self._open_raffle(raffle_id)
        if raffle is None:
            return self.menu(prefix=replies.raffle_closed(prefix=prefix))
        if sales_are_closed(raffle):
            return self._sales_closed(raffle, prefix=prefix)
        left = self.inventory.available_count(raffle)
        if left <= 0:
            return self._sold_out(raffle)
        return self._raffle_card(raffle, left, prefix)

    def _raffle_card(self, raffle: Any, left: int, prefix: str = "") -> Turn:
        """The raffle card; for raffles with a board picture its third button shows it."""
        board = has_board(raffle)
        context: dict[str, Any] = {"raffle_id": raffle.pk}
        if board:
            context["board"] = True  # a typed "3" means the board, not "My tickets"
        return Turn(
            State.CHOOSE_MODE,
            context,
            replies.choose_mode(raffle=raffle, left=left, prefix=prefix, board=board),
        )

    def show_board(self, raffle_id: int) -> Turn:
        """The board picture, then how the buyer wants to pick (both sent by the handler)."""
        ready = self._ready_to_reserve(raffle_id)
        if isinstance(ready, Turn):
            return ready
        raffle, _most = ready
        left = self.inventory.available_count(raffle)
        if not has_board(raffle):
            return self._raffle_card(raffle, left)
        return Turn(
            State.CHOOSE_MODE,
            {"raffle_id": raffle.pk},
            replies.after_board(raffle=raffle, left=left),
            show_board=raffle.pk,
        )

    def _ready_to_reserve(self, raffle_id: int) -> tuple[Any, int] | Turn:
        """The raffle and how many numbers one order may take now, or the turn that answers
        instead: a live order to finish first, a closed raffle, or nothing left."""
        blocked = self._offer_live()
        if blocked:
            return blocked
        raffle = self._open_raffle(raffle_id)
        if raffle is None:
            return self.menu(prefix=replies.raffle_closed())
        if sales_are_closed(raffle):
            return self._sales_closed(raffle)
        most = self._most(raffle)
        if most <= 0:
            return self._sold_out(raffle)
        return raffle, most

    def choose_mode(self, raffle_id: int, mode: Mode) -> Turn:
        ready = self._ready_to_reserve(raffle_id)
        if isinstance(ready, Turn):
            return ready
        raffle, most = ready
        context = {"raffle_id": raffle.pk, "mode": mode.value}
        if mode == Mode.PICK:
            return Turn(
                State.ASK_PICK_NUMBERS, context, replies.ask_numbers(raffle=raffle, most=most)
            )
        return Turn(State.ASK_QTY, context, replies.ask_quantity(raffle=raffle, most=most))

    # --- reserving -----------------------------------------------------------------------------
    def quantity(self, raffle_id: int, qty: int) -> Turn:
        ready = self._ready_to_reserve(raffle_id)
        if isinstance(ready, Turn):
            return ready
        raffle, most = ready
        context = {"raffle_id": raffle.pk, "mode": Mode.RANDOM.value}
        if not 1 <= qty <= most:
            return Turn(
                State.ASK_QTY,
                context,
                replies.ask_quantity(
                    raffle=raffle, most=most, prefix=replies.quantity_out_of_range(most=most)
                ),
            )
        try:
            order = self.inventory.reserve_random(raffle=raffle, qty=qty, contact=self.contact)
        except Refused as refusal:
            return self._refused(refusal, raffle, State.ASK_QTY, context)
        context.update(qty=qty, order_id=order.pk)
        return Turn(
            State.CONFIRM_RESERVATION,
            context,
            replies.confirm_reservation(order=order, now=self.now),
        )

    def pick(self, raffle_id: int, text: str) -> Turn:
        ready = self._ready_to_reserve(raffle_id)
        if isinstance(ready, Turn):
            return ready
        raffle, most = ready
        context = {"raffle_id": raffle.pk, "mode": Mode.PICK.value}

        def again(message: str) -> Turn:
            return Turn(State.ASK_PICK_NUMBERS, context, TextMessage(body=message))

        parsed = parse_numbers(text, limit=most)
        if parsed.junk:
            return again(replies.numbers_unreadable(junk=parsed.junk))
        if not parsed.numbers:
            return again(replies.numbers_missing())
        if parsed.too_many:
            left = self.inventory.available_count(raffle)
            if left < _per_order(raffle, left):
                return again(replies.not_enough_left(left=left))
            return again(replies.too_many_numbers(most=most))
        outside = [n for n in parsed.numbers if not raffle.min_number <= n <= raffle.max_number]
        if outside:
            return again(replies.numbers_out_of_range(raffle=raffle, numbers=outside))
        try:
            order = self.inventory.reserve_specific(
                raffle=raffle, numbers=parsed.numbers, contact=self.contact
            )
        except Refused as refusal:
            if refusal.code == TicketsTaken.code:
                taken = refusal.numbers or []
                suggestions = [
                    n for n in self.inventory.sample_available(raffle, 3) if n not in taken
                ]
                return Turn(
                    State.ASK_PICK_NUMBERS,
                    context,
                    replies.numbers_taken(raffle=raffle, taken=taken, suggestions=suggestions),
                )
            return self._refused(refusal, raffle, State.ASK_PICK_NUMBERS, context)
        context.update(order_id=order.pk, picked=list(parsed.numbers))
        return Turn(
            State.CONFIRM_RESERVATION,
            context,
            replies.confirm_reservation(order=order, now=self.now),
        )

    # --- confirming, paying, cancelling --------------------------------------------------------
    def confirm(self, order_id: int) -> Turn:
        order = self.inventory.order(self.contact, order_id)
        if order is None:
            return self.menu(prefix=replies.order_gone())
        if order.status != OrderStatus.DRAFT:
            return self.where_it_stands(order, stale=True)
        try:
            # Even past the deadline the service is asked: it owns expiry and records it.
            order = self.inventory.submit(order=order)
        except Refused as refusal:
            fresh = self.inventory.order(self.contact, order_id) or order
            if (
                refusal.code in (OrderExpired.code, NumbersLost.code)
                or fresh.status == OrderStatus.EXPIRED
            ):
                return self._expired(fresh)
            return self.where_it_stands(fresh, prefix=_refusal_text(refusal, fresh.raffle))
        return Turn(
            State.WAIT_PROOF,
            {"order_id": order.pk, "raffle_id": order.raffle.pk},
            replies.payment_instructions(order=order, now=self.now),
        )

    def cancel(self, order_id: int | None) -> Turn:
        """CANCEL: the named order (from a button) or else the buyer's live order."""
        if order_id is None:
            order = self.inventory.live_order(self.contact)
            if order is None:
                return self.menu(prefix=replies.nothing_to_cancel())
        else:
            order = self.inventory.order(self.contact, order_id)
            if order is None:
                return self.menu(prefix=replies.order_gone())
        if order.status not in LIVE_STATUSES:
            return self.menu(prefix=replies.stale_order(order=order))
        try:
            order = self.inventory.cancel(order=order)
        except Refused as refusal:
            fresh = self.inventory.order(self.contact, order.pk) or order
            return self.where_it_stands(fresh, prefix=_refusal_text(refusal, fresh.raffle))
        return self.menu(prefix=replies.order_cancelled(order=order))

    def resume(self, order_id: int) -> Turn:
        order = self.inventory.order(self.contact, order_id)
        if order is None:
            return self.menu(prefix=replies.order_gone())
        return self.where_it_stands(order)

    def on_proof(self, context: dict[str, Any], inbound: Inbound, *, extra: bool = False) -> Turn:
        order = self._context_order(context)
        if order is None:
            return self.menu(prefix=replies.order_gone())
        if order.status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED):
            return self.where_it_stands(order)
        late = order.status == OrderStatus.EXPIRED or self._deadline_passed(order)
        try:
            self.inventory.attach_proof(
                order=order, media_id=inbound.media_id, mime_type=inbound.mime_type
            )
        except Refused as refusal:
            fresh = self.inventory.order(self.contact, order.pk) or order
            if refusal.code == TooManyProofs.code:
                # Nothing more to send for this order: the operator checks what arrived.
                return Turn(
                    State.DONE,
                    {"order_id": fresh.pk, "raffle_id": fresh.raffle.pk},
                    TextMessage(body=_refusal_text(refusal, fresh.raffle)),
                )
            return self.where_it_stands(fresh, prefix=_refusal_text(refusal, fresh.raffle))
        reply = (
            replies.proof_added(order=order)
            if extra
            else replies.proof_received(order=order, late=late)
        )
        return Turn(
            State.DONE,
            {"order_id": order.pk, "raffle_id": order.raffle.pk},
            reply,
            fetch_media=True,
        )

    def where_it_stands(self, order: Any, *, prefix: str = "", stale: bool = False) -> Turn:
        """Answer from the order's current status: the sensible reply to any old button."""
        status = order.status
        context = {"order_id": order.pk, "raffle_id": order.raffle.pk}
        if status == OrderStatus.DRAFT:
            if self._deadline_passed(order):
                return self._expired(order)
            return Turn(
                State.CONFIRM_RESERVATION,
                context,
                replies.confirm_reservation(order=order, prefix=prefix, now=self.now),
            )
        if status == OrderStatus.PENDING_PAYMENT:
            if order.is_under_review:
                return Turn(
                    State.DONE,
                    context,
                    replies.prefixed(replies.proof_already_received(order=order), prefix),
                )
            if self._deadline_passed(order):
                return self._expired(order)
            if stale:
                prefix = prefix or replies.stale_order(order=order)
            return Turn(
                State.WAIT_PROOF,
                context,
                replies.payment_instructions(order=order, prefix=prefix, now=self.now),
            )
        if status == OrderStatus.EXPIRED:
            return self._expired(order)
        text = replies.join(prefix, replies.stale_order(order=order))
        if status == OrderStatus.PAID:
            return Turn(State.DONE, context, TextMessage(body=text))
        return self.menu(prefix=text)

    # --- typed text, per state -----------------------------------------------------------------
    def text_in_menu(self, text: str, context: dict[str, Any]) -> Turn:
        offered = context.get("offer_order")
        if offered:
            answer = parse_yes_no(text)
            if answer is True or normalize(text) in {"continue", "continuar", "seguir"}:
                return self.resume(int(offered))
            if answer is False:
                return self.cancel(int(offered))
        index = parse_index(text)
        options = context.get("options") or []
        if index is not None and 1 <= index <= len(options):
            tap = parse_tap(options[index - 1])
            if tap is not None:
                return self.on_tap(tap, State.MENU, context)
        wanted = normalize(text)
        for raffle in self.inventory.active_raffles():
            if normalize(raffle.title) == wanted:
                return self.open_raffle(raffle.pk)
        if not context:
            # A first message (or the first after a reset) is an opening, not a wrong answer.
            return self.menu()
        return self.menu(prefix=replies.didnt_understand())

    def text_in_choose_mode(self, text: str, context: dict[str, Any]) -> Turn:
        raffle_id = context.get("raffle_id")
        if raffle_id is None:
            return self.menu()
        # "dame 2 al azar" or "el 7 y el 13" answer the next question too.
        if (qty := parse_random_request(text)) is not None:
            return self.quantity(int(raffle_id), qty)
        if names_numbers(text):
            return self.pick(int(raffle_id), text)
        mode = parse_mode(text)
        index = parse_index(text)
        if mode is None and index in (1, 2):
            mode = Mode.PICK if index == 1 else Mode.RANDOM
        if mode is not None:
            return self.choose_mode(int(raffle_id), mode)
        if (index == 3 and context.get("board")) or is_board_request(text):
            return self.show_board(int(raffle_id))
        if index == 3 or normalize(text) in {"my tickets", "mis boletos", "mis numeros"}:
            orders = self.inventory.orders_of(self.contact, 10)
            return Turn(State.CHOOSE_MODE, context, replies.my_tickets(orders=orders))
        return self.open_raffle(int(raffle_id), prefix=replies.hint_for(State.CHOOSE_MODE))

    def text_in_ask_qty(self, text: str, context: dict[str, Any]) -> Turn:
        raffle_id = context.get("raffle_id")
        if raffle_id is None:
            return self.menu()
        qty = parse_quantity(text)
        if qty is not None:
            return self.quantity(int(raffle_id), qty)
        raffle = self._open_raffle(int(raffle_id))
        if raffle is None:
            return self.menu(prefix=replies.raffle_closed())
        most = self._most(raffle)
        if most <= 0:
            return self._sold_out(raffle)
        return Turn(
            State.ASK_QTY,
            context,
            replies.ask_quantity(raffle=raffle, most=most, prefix=replies.hint_for(State.ASK_QTY)),
        )

    def text_in_ask_pick_numbers(self, text: str, context: dict[str, Any]) -> Turn:
        raffle_id = context.get("raffle_id")
        if raffle_id is None:
            return self.menu()
        if (qty := parse_random_request(text)) is not None:
            return self.quantity(int(raffle_id), qty)
        return self.pick(int(raffle_id), text)

    def text_in_confirm(self, text: str, context: dict[str, Any]) -> Turn:
        order = self._context_order(context)
        if order is None:
            return self.menu(prefix=replies.order_gone())
        answer = parse_yes_no(text)
        if answer is True:
            return self.confirm(order.pk)
        if answer is False:
            return self.cancel(order.pk)
        return self.where_it_stands(order, prefix=replies.hint_for(State.CONFIRM_RESERVATION))

    def text_in_wait_proof(self, text: str, context: dict[str, Any]) -> Turn:
        order = self._context_order(context)
        if order is None:
            return self.menu(prefix=replies.order_gone())
        if (
            order.status == OrderStatus.PENDING_PAYMENT
            and not order.is_under_review
            and not self._deadline_passed(order)
        ):
            return Turn(
                State.WAIT_PROOF, context, replies.proof_reminder(order=order, now=self.now)
            )
        return self.where_it_stands(order)

    _text_handlers: dict[State, Callable[[Machine, str, dict[str, Any]], Turn]] = {
        State.MENU: text_in_menu,
        State.CHOOSE_MODE: text_in_choose_mode,
        State.ASK_QTY: text_in_ask_qty,
        State.ASK_PICK_NUMBERS: text_in_ask_pick_numbers,
        State.CONFIRM_RESERVATION: text_in_confirm,
        State.WAIT_PROOF: text_in_wait_proof,
        State.DONE: text_in_menu,
    }

    # --- helpers -------------------------------------------------------------------------------
    def _order_needing_buyer(self) -> Any | None:
        """The live order the buyer still has to act on (not one already waiting for review)."""
        order = self.inventory.live_order(self.contact)
        if order is None or self._deadline_passed(order) or order.is_under_review:
            return None
        return order

    def _offer_live(self, prefix: str = "") -> Turn | None:
        live = self._order_needing_buyer()
        if live is None:
            return None
        return Turn(
            State.MENU,
            {"offer_order": live.pk},
            replies.live_order_offer(order=live, prefix=prefix),
        )

    def _open_raffle(self, raffle_id: int) -> Any | None:
        raffle = self.inventory.raffle(raffle_id)
        return raffle if raffle is not None and raffle.is_active else None

    def _most(self, raffle: Any) -> int:
        left = self.inventory.available_count(raffle)
        return min(_per_order(raffle, left), left)

    def _sales_closed(self, raffle: Any, *, prefix: str = "") -> Turn:
        """The card of a raffle that no longer sells: the draw's date, or its result."""
        prizes = self.inventory.prizes_of(raffle) if raffle.drawn_at else ()
        return Turn(
            State.MENU, {}, replies.sales_closed_card(raffle=raffle, prizes=prizes, prefix=prefix)
        )

    def _sold_out(self, raffle: Any) -> Turn:
        turn = self.menu(prefix=replies.sold_out(raffle=raffle))
        if turn.state == State.CHOOSE_MODE and turn.context.get("raffle_id") == raffle.pk:
            return Turn(State.MENU, {}, TextMessage(body=replies.sold_out(raffle=raffle)))
        return turn

    def _proof_sent_for(self, context: dict[str, Any]) -> bool:
        """The chat's order took a proof and still waits for payment (its file on the way, or
        under review): another file now is more of the same payment."""
        order = self._context_order(context)
        return (
            order is not None
            and order.status == OrderStatus.PENDING_PAYMENT
            and (order.is_under_review or not self._deadline_passed(order))
        )

    def _context_order(self, context: dict[str, Any]) -> Any | None:
        order_id = context.get("order_id")
        if order_id is None:
            return None
        return self.inventory.order(self.contact, int(order_id))

    def _deadline_passed(self, order: Any) -> bool:
        if order.status == OrderStatus.EXPIRED:
            return True
        # An order under review has no deadline: the proof stopped the clock.
        return (
            order.status in LIVE_STATUSES
            and order.expires_at is not None
            and order.expires_at <= self.now
        )

    def _lapsed_notice(self, state: State, context: dict[str, Any]) -> str:
        """Leaving a reservation whose deadline passed: say so before showing the menu."""
        if state not in (State.CONFIRM_RESERVATION, State.WAIT_PROOF):
            return ""
        order = self._context_order(context)
        if order is None or not self._deadline_passed(order):
            return ""
        return self._expired(order).reply.body

    def _expired(self, order: Any) -> Turn:
        if order.status in LIVE_STATUSES:
            # Lapsed but not yet swept: record it now, so the order, the numbers and what the
            # buyer is told agree (and no later sweep announces it a second time).
            order = self.inventory.expire(order=order)
        return Turn(State.MENU, {}, TextMessage(body=replies.reservation_expired(order=order)))

    def _refused(
        self, refusal: Refused, raffle: Any, state: State, context: dict[str, Any]
    ) -> Turn:
        code = refusal.code
        if code == LiveOrderExists.code:
            order = (
                self.inventory.order(self.contact, refusal.order_id) if refusal.order_id else None
            ) or self.inventory.live_order(self.contact)
            if order is not None:
                return Turn(
                    State.MENU, {"offer_order": order.pk}, replies.live_order_offer(order=order)
                )
        if code in (RaffleInactive.code, RaffleNotReady.code):
            return self.menu(prefix=replies.raffle_closed())
        if code == SalesClosed.code and raffle is not None:
            return self._sales_closed(self.inventory.raffle(raffle.pk) or raffle)
        if code == SoldOut.code:
            return self._sold_out(raffle)
        if code == NotEnoughAvailable.code:
            left = self.inventory.available_count(raffle)
            return Turn(state, context, TextMessage(body=replies.not_enough_left(left=left)))
        if code == NumbersOutOfRange.code:
            return Turn(
                state,
                context,
                TextMessage(
                    body=replies.numbers_out_of_range(raffle=raffle, numbers=refusal.numbers)
                ),
            )
        if code == InvalidQuantity.code:
            most = max(self._most(raffle), 1)
            return Turn(state, context, TextMessage(body=replies.quantity_out_of_range(most=most)))
        if code == OrderTotalTooLarge.code:
            most = max(int(refusal.extra.get("max_qty") or 1), 1)
            return Turn(state, context, TextMessage(body=replies.order_total_too_large(most=most)))
        if code == TooManyLiveOrders.code:
            # Nothing to retry here: the buyer must finish or cancel an order first.
            return Turn(State.MENU, {}, TextMessage(body=_refusal_text(refusal, raffle)))
        return Turn(state, context, TextMessage(body=_refusal_text(refusal, raffle)))


def _refusal_text(refusal: Refused, raffle: Any) -> str:
    """The catalogued wording of a refusal the machine has no special turn for."""
    return replies.refused(code=refusal.code, extra=refusal.extra, raffle=raffle)


def _per_order(raffle: Any, left: int) -> int:
    """The most one order may take: the raffle's own limit capped by the site's (so the bot
    never offers what the services would refuse)."""
    return most_per_order(raffle) or left


def _option_ids(reply: OutgoingMessage) -> list[str]:
    """Ids of the rows or buttons shown, so a buyer can type "2" for the second one."""
    sections = getattr(reply, "sections", None)
    if sections:
        return [row.id for section in sections for row in section.rows]
    return [button.id for button in getattr(reply, "buttons", [])]
