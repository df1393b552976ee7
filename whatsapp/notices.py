"""A notice: a message the business starts (not a reply), which can outlive the 24-hour window.

`conversation` words it twice: the free-form message, and named values (`order`, `raffle`...)
that fill an approved template's body parameters when the window has closed. The kinds are
plain strings defined by the caller; WHATSAPP_NOTICE_TEMPLATES names the template of each.
`buyer_name` is always available: it is filled at delivery time from the contact's profile
name, so a broadcast stays one row shape for every buyer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from whatsapp.outgoing import OutgoingMessage

__all__ = ["BUYER_NAME", "Notice"]

# The value every notice has without being told.
BUYER_NAME = "buyer_name"


@dataclass(frozen=True)
class Notice:
    """`message` is what the buyer reads inside the window; `values` fill the template."""

    kind: str
    message: OutgoingMessage
    values: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def of(cls, kind: str, message: OutgoingMessage, **values: Any) -> Notice:
        # A tuple of pairs, not a dict: a Notice is hashable, so a broadcast groups equal ones.
        return cls(kind=kind, message=message, values=tuple((k, str(v)) for k, v in values.items()))

    @property
    def params(self) -> dict[str, str]:
        return dict(self.values)

    @staticmethod
    def kind_and_params(item: OutgoingMessage | Notice) -> tuple[str, Mapping[str, str]]:
        if isinstance(item, Notice):
            return item.kind, item.params
        return "", {}
