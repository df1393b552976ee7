"""The bot's replies, as values, read as text for tests: through WhatsApp's one renderer.

A reply is rendered from the exact request body it becomes (`whatsapp.rendering`), so a test
of the machine reads what a buyer, the `chat` command and the admin would read.
"""

from __future__ import annotations

from whatsapp.outgoing import OutgoingMessage
from whatsapp.rendering import Choice, render_payload

__all__ = ["choices", "render", "render_payload"]

# Rendering needs a recipient; what a reply says does not depend on who it is for.
_ANY_BUYER = "-"


def choices(message: OutgoingMessage) -> list[Choice]:
    """(id, title, is_list_row) for every button or list row, in the order shown."""
    return render_payload(message.graph_payload(_ANY_BUYER))[1]


def render(message: OutgoingMessage) -> str:
    """The reply's text with its buttons or rows numbered."""
    return render_payload(message.graph_payload(_ANY_BUYER))[0] or ""
