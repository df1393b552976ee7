"""A payment proof's file, attached once the transport has downloaded it.

A buyer's photo or PDF becomes a `PaymentProof` when the message is answered, but its bytes
arrive later (the transport downloads media in the background and sends `media_stored`). Either
order is handled: the receiver attaches a file that arrives after the answer, and the handler
attaches one that was already there when a failed message was answered again.
"""

from __future__ import annotations

from typing import Any

__all__ = ["attach_stored_file", "on_media_stored"]


def on_media_stored(sender: Any, *, message: Any, **kwargs: Any) -> None:
    # Not isolated: if the file cannot be attached the transport marks the download FAILED and
    # re-drives it, which is what we want for a payment proof.
    attach_stored_file(message)


def attach_stored_file(message: Any) -> None:
    """Give the buyer's payment proof its file once the transport has downloaded it."""
    from raffles.models import PaymentProof
    from raffles.services import store_proof_file

    if not message.media_id or not message.media_file:
        return
    proof = (
        PaymentProof.objects.filter(media_id=message.media_id, order__contact_id=message.contact_id)
        .order_by("-received_at")
        .first()
    )
    if proof is None or proof.file:
        return
    message.media_file.open("rb")
    try:
        content = message.media_file.read()
    finally:
        message.media_file.close()
    extension = message.media_file.name.rsplit(".", 1)[-1] if "." in message.media_file.name else ""
    filename = message.media_filename or f"proof-{proof.pk}.{extension or 'bin'}"
    store_proof_file(
        proof=proof, content=content, mime_type=message.media_mime_type, filename=filename
    )
