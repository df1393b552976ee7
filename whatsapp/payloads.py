"""Typed models of Meta's webhook payload (WhatsApp Business Account, field "messages").

Lenient on purpose: every model allows unknown fields and almost every field is optional, so a
new Meta field or message type never breaks parsing. The raw JSON of each message is stored too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class Profile(_Lenient):
    name: str | None = None
    username: str | None = None


class WaContact(_Lenient):
    wa_id: str | None = None
    user_id: str | None = None
    profile: Profile | None = None


class Metadata(_Lenient):
    display_phone_number: str | None = None
    phone_number_id: str | None = None


class Text(_Lenient):
    body: str | None = None


class Media(_Lenient):
    """image, document, audio, video, sticker."""

    id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None  # base64 in webhooks (hex at the media endpoint)
    caption: str | None = None
    filename: str | None = None


class Reply(_Lenient):
    id: str | None = None
    title: str | None = None
    description: str | None = None


class Interactive(_Lenient):
    type: str | None = None
    button_reply: Reply | None = None
    list_reply: Reply | None = None


class Button(_Lenient):
    """A quick-reply button on a template message."""

    payload: str | None = None
    text: str | None = None


class Reaction(_Lenient):
    message_id: str | None = None
    emoji: str | None = None


class Location(_Lenient):
    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    address: str | None = None


class Error(_Lenient):
    code: int | str | None = None
    title: str | None = None
    message: str | None = None
    error_data: dict[str, Any] | None = None


class Message(_Lenient):
    id: str
    from_: str | None = Field(default=None, alias="from")
    from_user_id: str | None = None
    timestamp: str | None = None
    type: str | None = None
    text: Text | None = None
    image: Media | None = None
    document: Media | None = None
    audio: Media | None = None
    video: Media | None = None
    sticker: Media | None = None
    interactive: Interactive | None = None
    button: Button | None = None
    reaction: Reaction | None = None
    location: Location | None = None
    errors: list[Error] | None = None

    def media(self) -> Media | None:
        return {
            "image": self.image,
            "document": self.document,
            "audio": self.audio,
            "video": self.video,
            "sticker": self.sticker,
        }.get(self.type or "")


class Status(_Lenient):
    id: str
    status: str
    timestamp: str | None = None
    recipient_id: str | None = None
    errors: list[Error] | None = None


class Value(_Lenient):
    messaging_product: str | None = None
    metadata: Metadata | None = None
    contacts: list[WaContact] | None = None
    messages: list[Any] | None = None  # validated one by one: one bad item spoils none
    statuses: list[Any] | None = None
    errors: list[Error] | None = None


class Change(_Lenient):
    field: str | None = None
    value: dict[str, Any] | None = None


class Entry(_Lenient):
    id: str | None = None
    changes: list[Any] = Field(default_factory=list)  # each validated as a Change on its own


class WebhookPayload(_Lenient):
    """The envelope. Entries and changes are validated one by one, so one odd change loses
    nothing else in the POST."""

    object: str | None = None
    entry: list[Any]
