"""Serving private files (payment proofs, buyers' media) and spreadsheets safely.

A buyer chose these bytes: the browser must never run them as a page of ours. Every file
response is sandboxed (`Content-Security-Policy: sandbox`), never sniffed into another type,
never cached, and named with a properly quoted `Content-Disposition`. Spreadsheet cells a buyer
can fill (their WhatsApp name) are neutralised so no formula runs when an operator opens them.
"""

from __future__ import annotations

from typing import IO, Any

from django.http import FileResponse
from django.utils.http import content_disposition_header

__all__ = ["private_file_response", "spreadsheet_cell"]

# OWASP "CSV injection": a cell starting with one of these is read as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def private_file_response(
    handle: IO[bytes], *, content_type: str, filename: str, as_attachment: bool = False
) -> FileResponse:
    """A response streaming `handle`, hardened for files whose bytes someone else chose."""
    response = FileResponse(handle, content_type=content_type or "application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    response["Content-Security-Policy"] = "sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def spreadsheet_cell(value: Any) -> str:
    """`value` as a CSV cell that a spreadsheet shows as text, never evaluates."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text
