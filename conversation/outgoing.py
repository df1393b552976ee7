"""The reply shapes the bot builds: re-exported from `whatsapp.outgoing` when it is installed.

Until the transport's module lands this file defines the same frozen dataclasses (same names and
fields, same WhatsApp limits) so the wording and the state machine can be built and tested.
"""

from __future__ import annotations

try:  # pragma: no cover - which branch runs depends on the transport being merged
    from whatsapp.outgoing import (
        Button,
        ButtonsMessage,
        ListMessage,
        ListRow,
        ListSection,
        OutgoingMessage,
        TextMessage,
    )
except ImportError:  # pragma: no cover
    from conversation._outgoing_local import (  # type: ignore[assignment]
        Button,
        ButtonsMessage,
        ListMessage,
        ListRow,
        ListSection,
        OutgoingMessage,
        TextMessage,
    )

__all__ = [
    "Button",
    "ButtonsMessage",
    "ListMessage",
    "ListRow",
    "ListSection",
    "OutgoingMessage",
    "TextMessage",
]
