"""Replies as plain text for terminals and tests: the body, then buttons and rows numbered."""

from __future__ import annotations

from typing import Any

__all__ = ["choices", "render"]


def choices(message: Any) -> list[tuple[str, str, bool]]:
    """(id, title, is_list_row) for every button or list row, in the order shown."""
    sections = getattr(message, "sections", None)
    if sections:
        return [(row.id, row.title, True) for section in sections for row in section.rows]
    return [(button.id, button.title, False) for button in getattr(message, "buttons", None) or []]


def render(message: Any) -> str:
    lines = [message.body]
    sections = getattr(message, "sections", None)
    if sections:
        lines.append(f"[{message.button}]")
        index = 0
        for section in sections:
            if section.title:
                lines.append(f"  {section.title}")
            for row in section.rows:
                index += 1
                detail = f" \u2014 {row.description}" if row.description else ""
                lines.append(f"  {index}. {row.title}{detail}")
    for index, button in enumerate(getattr(message, "buttons", None) or [], start=1):
        lines.append(f"  ({index}) {button.title}")
    return "\n".join(lines)


def render_payload(payload: dict[str, Any]) -> tuple[str | None, list[tuple[str, str, bool]]]:
    """A queued Graph API request body as text plus its choices; None for non-visible rows."""
    kind = payload.get("type")
    if kind == "text":
        return payload["text"]["body"], []
    if kind != "interactive":
        return None, []
    interactive = payload["interactive"]
    lines = [interactive.get("body", {}).get("text", "")]
    action = interactive.get("action", {})
    found: list[tuple[str, str, bool]] = []
    if interactive.get("type") == "list":
        lines.append(f"[{action.get('button', '')}]")
        for section in action.get("sections", []):
            if section.get("title"):
                lines.append(f"  {section['title']}")
            for row in section.get("rows", []):
                found.append((row["id"], row["title"], True))
                detail = f" \u2014 {row['description']}" if row.get("description") else ""
                lines.append(f"  {len(found)}. {row['title']}{detail}")
    else:
        for button in action.get("buttons", []):
            reply = button.get("reply", {})
            found.append((reply["id"], reply["title"], False))
            lines.append(f"  ({len(found)}) {reply['title']}")
    return "\n".join(lines), found
