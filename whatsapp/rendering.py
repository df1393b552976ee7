"""Messages as plain text, the one way everything shows them.

What the bot sent is read from its exact Graph API request body (`render_payload`): the body
(an image as "[image]" and its caption), then a list's button label, section titles and rows
numbered `1.`, `2.`, or reply buttons numbered `(1)`, `(2)`. What a buyer sent is read from
the stored message (`inbound_text`). The contact timeline (admin and API), the `chat` command,
`replay_webhook --dry-run` and the bot's tests all use these two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from whatsapp.models import InboundMessage

__all__ = ["Choice", "inbound_text", "render_payload"]


class Choice(NamedTuple):
    """A button or list row the buyer can tap, in the order shown."""

    id: str
    title: str
    is_list_row: bool


def render_payload(
    payload: Mapping[str, Any], *, show_ids: bool = False
) -> tuple[str | None, list[Choice]]:
    """(text, choices) of a text, image or interactive message; (None, []) for anything a
    buyer does not read as a message (a read receipt). `show_ids` adds each choice's id after
    its title."""
    kind = payload.get("type")
    if kind == "text":
        return str((payload.get("text") or {}).get("body", "")), []
    if kind == "image":
        return _image_text(payload), []
    if kind != "interactive":
        return None, []
    interactive = payload.get("interactive") or {}
    action = interactive.get("action") or {}
    lines = [str((interactive.get("body") or {}).get("text", ""))]
    # Header and footer are what the buyer reads too (the footer in small grey type).
    if (interactive.get("header") or {}).get("text"):
        lines.insert(0, str(interactive["header"]["text"]))
    if (interactive.get("footer") or {}).get("text"):
        lines.append(str(interactive["footer"]["text"]))
    found: list[Choice] = []

    def shown(choice: Choice, detail: str = "") -> str:
        return choice.title + detail + (f" ({choice.id})" if show_ids else "")

    if interactive.get("type") == "list":
        lines.append(f"[{action.get('button', '')}]")
        for section in action.get("sections") or []:
            if section.get("title"):
                lines.append(f"  {section['title']}")
            for row in section.get("rows") or []:
                found.append(Choice(row.get("id", ""), row.get("title", ""), True))
                detail = f" \u2014 {row['description']}" if row.get("description") else ""
                lines.append(f"  {len(found)}. {shown(found[-1], detail)}")
    else:
        for button in action.get("buttons") or []:
            reply = button.get("reply") or {}
            found.append(Choice(reply.get("id", ""), reply.get("title", ""), False))
            lines.append(f"  ({len(found)}) {shown(found[-1])}")
    return "\n".join(lines), found


def _image_text(payload: Mapping[str, Any]) -> str:
    """ "[image] caption": what the buyer sees, less the picture itself."""
    caption = str((payload.get("image") or {}).get("caption", ""))
    return f"[image] {caption}".strip()


def inbound_text(message: InboundMessage) -> str:
    """What the buyer sent: the text, the title they tapped, or the kind of file and its caption."""
    if message.text:
        return message.text
    if message.reply_title:
        return f"[tapped] {message.reply_title}"
    if message.media_id:
        return f"[{message.msg_type}] {message.caption or message.media_filename}".strip()
    return f"[{message.msg_type}]"
