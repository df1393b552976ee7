"""What the bot can say on WhatsApp, as typed values checked against the Cloud API's limits.

A message that breaks a limit is a programming error: `.validate()` raises
`OutgoingMessageInvalid` before anything is stored or sent, so tests catch it instead of a Meta
400 in production. `.graph_payload(to)` is the exact JSON body for
`POST /{phone-number-id}/messages`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "Button",
    "ButtonsMessage",
    "ImageMessage",
    "ListMessage",
    "ListRow",
    "ListSection",
    "OutgoingMessage",
    "OutgoingMessageInvalid",
    "TextMessage",
    "read_receipt_payload",
]

# Limits from Meta's Cloud API reference (text and interactive messages).
TEXT_BODY_MAX = 4096
INTERACTIVE_BODY_MAX = 1024
LIST_BODY_MAX = 4096
HEADER_TEXT_MAX = 60
FOOTER_TEXT_MAX = 60
BUTTONS_MIN, BUTTONS_MAX = 1, 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_BUTTON_MAX = 20
LIST_SECTIONS_MAX = 10
LIST_ROWS_MAX = 10
LIST_ROW_ID_MAX = 200
LIST_ROW_TITLE_MAX = 24
LIST_ROW_DESCRIPTION_MAX = 72
LIST_SECTION_TITLE_MAX = 24
CAPTION_MAX = 1024  # image captions
MEDIA_ID_MAX = 128


class OutgoingMessageInvalid(ValueError):
    """A message breaks a WhatsApp limit: a bug in the caller, never the buyer's fault."""


def _text(value: str, *, name: str, maximum: int, required: bool = True) -> None:
    if not isinstance(value, str):
        raise OutgoingMessageInvalid(f"{name} must be a string, not {type(value).__name__}")
    if required and not value.strip():
        raise OutgoingMessageInvalid(f"{name} must not be empty")
    if len(value) > maximum:
        raise OutgoingMessageInvalid(f"{name} is {len(value)} characters; the limit is {maximum}")


def _envelope(to: str) -> dict[str, Any]:
    if not to:
        raise OutgoingMessageInvalid("recipient (to) must not be empty")
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}


def _header_footer(interactive: dict[str, Any], header: str, footer: str) -> None:
    if header:
        interactive["header"] = {"type": "text", "text": header}
    if footer:
        interactive["footer"] = {"text": footer}


@dataclass(frozen=True)
class Button:
    """A reply button; the buyer's tap comes back as `button_reply` with this id."""

    id: str
    title: str

    def validate(self) -> None:
        _text(self.id, name="button id", maximum=BUTTON_ID_MAX)
        _text(self.title, name=f"button title {self.title!r}", maximum=BUTTON_TITLE_MAX)


@dataclass(frozen=True)
class ListRow:
    """One choice in a list message; comes back as `list_reply` with this id."""

    id: str
    title: str
    description: str = ""

    def validate(self) -> None:
        _text(self.id, name="row id", maximum=LIST_ROW_ID_MAX)
        _text(self.title, name=f"row title {self.title!r}", maximum=LIST_ROW_TITLE_MAX)
        _text(
            self.description,
            name=f"row description of {self.title!r}",
            maximum=LIST_ROW_DESCRIPTION_MAX,
            required=False,
        )


@dataclass(frozen=True)
class ListSection:
    title: str
    rows: Sequence[ListRow] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        # Frozen values must be hashable and must not change under the caller's feet.
        object.__setattr__(self, "rows", tuple(self.rows))

    def validate(self) -> None:
        _text(self.title, name="section title", maximum=LIST_SECTION_TITLE_MAX, required=False)
        if not self.rows:
            raise OutgoingMessageInvalid(f"section {self.title!r} has no rows")
        for row in self.rows:
            row.validate()


@dataclass(frozen=True)
class TextMessage:
    kind: ClassVar[str] = "text"

    body: str
    preview_url: bool = False

    def validate(self) -> None:
        _text(self.body, name="text body", maximum=TEXT_BODY_MAX)

    def graph_payload(self, to: str) -> dict[str, Any]:
        self.validate()
        return {
            **_envelope(to),
            "type": "text",
            "text": {"preview_url": self.preview_url, "body": self.body},
        }


@dataclass(frozen=True)
class ButtonsMessage:
    kind: ClassVar[str] = "buttons"

    body: str
    buttons: Sequence[Button]
    header: str = ""
    footer: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "buttons", tuple(self.buttons))

    def validate(self) -> None:
        _text(self.body, name="buttons body", maximum=INTERACTIVE_BODY_MAX)
        _text(self.header, name="header", maximum=HEADER_TEXT_MAX, required=False)
        _text(self.footer, name="footer", maximum=FOOTER_TEXT_MAX, required=False)
        if not BUTTONS_MIN <= len(self.buttons) <= BUTTONS_MAX:
            raise OutgoingMessageInvalid(
                f"{len(self.buttons)} buttons; WhatsApp allows {BUTTONS_MIN} to {BUTTONS_MAX}"
            )
        for button in self.buttons:
            button.validate()
        ids = [b.id for b in self.buttons]
        if len(set(ids)) != len(ids):
            raise OutgoingMessageInvalid(f"button ids must be unique: {ids}")
        titles = [b.title for b in self.buttons]
        if len(set(titles)) != len(titles):
            raise OutgoingMessageInvalid(f"button titles must be unique: {titles}")

    def graph_payload(self, to: str) -> dict[str, Any]:
        self.validate()
        interactive: dict[str, Any] = {
            "type": "button",
            "body": {"text": self.body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in self.buttons
                ]
            },
        }
        _header_footer(interactive, self.header, self.footer)
        return {**_envelope(to), "type": "interactive", "interactive": interactive}


@dataclass(frozen=True)
class ListMessage:
    kind: ClassVar[str] = "list"

    body: str
    button: str
    sections: Sequence[ListSection]
    header: str = ""
    footer: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "sections", tuple(self.sections))

    def validate(self) -> None:
        _text(self.body, name="list body", maximum=LIST_BODY_MAX)
        _text(self.button, name="list button label", maximum=LIST_BUTTON_MAX)
        _text(self.header, name="header", maximum=HEADER_TEXT_MAX, required=False)
        _text(self.footer, name="footer", maximum=FOOTER_TEXT_MAX, required=False)
        if not 1 <= len(self.sections) <= LIST_SECTIONS_MAX:
            raise OutgoingMessageInvalid(
                f"{len(self.sections)} sections; WhatsApp allows 1 to {LIST_SECTIONS_MAX}"
            )
        for section in self.sections:
            section.validate()
        if len(self.sections) > 1 and not all(s.title.strip() for s in self.sections):
            raise OutgoingMessageInvalid("every section needs a title when there are several")
        rows = [row for section in self.sections for row in section.rows]
        if len(rows) > LIST_ROWS_MAX:
            raise OutgoingMessageInvalid(
                f"{len(rows)} rows; WhatsApp allows {LIST_ROWS_MAX} in total across sections"
            )
        ids = [row.id for row in rows]
        if len(set(ids)) != len(ids):
            raise OutgoingMessageInvalid(f"row ids must be unique across sections: {ids}")

    def graph_payload(self, to: str) -> dict[str, Any]:
        self.validate()
        sections = []
        for section in self.sections:
            rendered: dict[str, Any] = {"rows": [_row_payload(row) for row in section.rows]}
            if section.title:
                rendered["title"] = section.title
            sections.append(rendered)
        interactive: dict[str, Any] = {
            "type": "list",
            "body": {"text": self.body},
            "action": {"button": self.button, "sections": sections},
        }
        _header_footer(interactive, self.header, self.footer)
        return {**_envelope(to), "type": "interactive", "interactive": interactive}


@dataclass(frozen=True)
class ImageMessage:
    """A picture we uploaded before (`whatsapp.services.uploads`), sent by its media id."""

    kind: ClassVar[str] = "image"

    media_id: str
    caption: str = ""

    def validate(self) -> None:
        _text(self.media_id, name="image media id", maximum=MEDIA_ID_MAX)
        _text(self.caption, name="image caption", maximum=CAPTION_MAX, required=False)

    def graph_payload(self, to: str) -> dict[str, Any]:
        self.validate()
        image: dict[str, Any] = {"id": self.media_id}
        if self.caption:
            image["caption"] = self.caption
        return {**_envelope(to), "type": "image", "image": image}


def _row_payload(row: ListRow) -> dict[str, str]:
    rendered = {"id": row.id, "title": row.title}
    if row.description:
        rendered["description"] = row.description
    return rendered


OutgoingMessage = TextMessage | ButtonsMessage | ListMessage | ImageMessage


def read_receipt_payload(message_id: str) -> dict[str, Any]:
    """Mark an inbound message as read (the buyer sees blue ticks)."""
    if not message_id:
        raise OutgoingMessageInvalid("message_id must not be empty")
    return {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
