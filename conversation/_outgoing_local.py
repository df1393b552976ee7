"""Stand-in for `whatsapp.outgoing` (same names, fields and limits) until the transport lands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class OutgoingMessageInvalid(ValueError):
    """A reply that WhatsApp would refuse."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise OutgoingMessageInvalid(message)


@dataclass(frozen=True)
class Button:
    id: str
    title: str

    def validate(self) -> None:
        _check(0 < len(self.title) <= 20, f"button title too long: {self.title!r}")
        _check(0 < len(self.id) <= 256, "button id length")


@dataclass(frozen=True)
class ListRow:
    id: str
    title: str
    description: str = ""

    def validate(self) -> None:
        _check(0 < len(self.title) <= 24, f"row title too long: {self.title!r}")
        _check(len(self.description) <= 72, f"row description too long: {self.description!r}")


@dataclass(frozen=True)
class ListSection:
    title: str
    rows: Sequence[ListRow]


@dataclass(frozen=True)
class TextMessage:
    body: str

    def validate(self) -> None:
        _check(0 < len(self.body) <= 4096, "text body length")


@dataclass(frozen=True)
class ButtonsMessage:
    body: str
    buttons: Sequence[Button]

    def validate(self) -> None:
        _check(0 < len(self.body) <= 1024, "buttons body length")
        _check(1 <= len(self.buttons) <= 3, "1..3 buttons")
        _check(len({b.id for b in self.buttons}) == len(self.buttons), "button ids unique")
        for button in self.buttons:
            button.validate()


@dataclass(frozen=True)
class ListMessage:
    body: str
    button: str
    sections: Sequence[ListSection]

    def validate(self) -> None:
        rows = [row for section in self.sections for row in section.rows]
        _check(0 < len(self.body) <= 1024, "list body length")
        _check(0 < len(self.button) <= 20, "list button length")
        _check(1 <= len(rows) <= 10, "1..10 rows")
        _check(len({row.id for row in rows}) == len(rows), "row ids unique")
        for section in self.sections:
            _check(len(section.title) <= 24, "section title length")
        for row in rows:
            row.validate()


OutgoingMessage = TextMessage | ButtonsMessage | ListMessage
