"""Conversations written as tables: (buyer does -> bot answers (substring) / state / order).

The same tables run against the bare state machine (with an in-memory inventory) and against the
real pipeline (signed webhook POSTs, raffles services, outbound rows). A step is a tuple
`(buyer, expected_substrings, expected_state[, expected_order_status])` where `buyer` is:

- plain text: the buyer types it
- "#2": the buyer taps the second button or list row of the bot's last reply
- "@confirm:1": the buyer taps a button with that id (e.g. one from an old message)
- "[image]", "[pdf]", "[sticker]", "[location]", "[reaction]": media and other message kinds
- "+31m": the clock moves on 31 minutes (no message; expected substrings must be empty)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

Step = tuple[Any, ...]


class ChatBackend(Protocol):
    last_choices: list[tuple[str, str, bool]]

    def say(self, text: str) -> str: ...
    def tap(self, reply_id: str, title: str, *, is_row: bool) -> str: ...
    def media(self, kind: str) -> str: ...
    def other(self, kind: str) -> str: ...
    def advance(self, minutes: int) -> None: ...
    def state(self) -> str: ...
    def order_status(self) -> str | None: ...


def run(chat: ChatBackend, steps: Sequence[Step]) -> list[str]:
    """Play the steps, asserting each answer; returns the transcript for failure messages."""
    transcript: list[str] = []
    for number, step in enumerate(steps, start=1):
        buyer, expected, state, *rest = step
        if isinstance(expected, str):
            expected = [expected] if expected else []
        answer = _act(chat, buyer)
        transcript.append(f"> {buyer}\n{answer}")
        where = f"step {number} ({buyer!r})\n\n" + "\n\n".join(transcript)
        for piece in expected:
            assert piece.lower() in answer.lower(), f"{piece!r} missing at {where}"
        if state is not None:
            assert chat.state() == state, f"state {chat.state()} != {state} at {where}"
        if rest and rest[0] is not None:
            assert chat.order_status() == rest[0], (
                f"order {chat.order_status()} != {rest[0]} at {where}"
            )
    return transcript


def _act(chat: ChatBackend, buyer: str) -> str:
    if minutes := re.fullmatch(r"\+(\d+)m", buyer):
        chat.advance(int(minutes[1]))
        return ""
    if buyer.startswith("#") and buyer[1:].isdigit():
        index = int(buyer[1:]) - 1
        assert 0 <= index < len(chat.last_choices), f"no choice {buyer} in {chat.last_choices}"
        reply_id, title, is_row = chat.last_choices[index]
        return chat.tap(reply_id, title, is_row=is_row)
    if buyer.startswith("@"):
        return chat.tap(buyer[1:], buyer[1:].split(":")[0].title(), is_row=False)
    if buyer in ("[image]", "[pdf]"):
        return chat.media(buyer[1:-1])
    if buyer.startswith("[") and buyer.endswith("]"):
        return chat.other(buyer[1:-1])
    return chat.say(buyer)
