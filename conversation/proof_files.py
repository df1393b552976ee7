"""A payment proof's file: attached once the transport has downloaded it, or the proof refused
when the transport cannot get it.

A buyer's photo or PDF becomes a `PaymentProof` when the message is answered, and the handler
asks the transport to download that file (nothing else is downloaded). Its bytes arrive later
(`media_stored`); either order is handled: the receiver attaches a file that arrives after the
answer, and the handler attaches one that was already there when a failed message was answered
again. A download refused or given up (`media_failed`) rejects the proof automatically and the
buyer is told why (`conversation.notifications.on_proof_rejected`).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["attach_stored_file", "on_media_failed", "on_media_stored"]

logger = logging.getLogger(__name__)

# The transport's words for a failed download (whatsapp.signals.MEDIA_PROBLEMS) in the raffles'
# words for an unusable proof file (raffles.services.ProofFileProblem values).
_PROBLEMS = {
    "too_large": "too_large",
    "not_a_proof_type": "not_a_proof_file",
    "refused": "unavailable",
    "gave_up": "unavailable",
}


def on_media_stored(sender: Any, *, message: Any, **kwargs: Any) -> None:
    # Not isolated: if the file cannot be attached the transport marks the download FAILED and
    # re-drives it, which is what we want for a payment proof.
    attach_stored_file(message)


def on_media_failed(sender: Any, *, message: Any, problem: str, **kwargs: Any) -> None:
    """The proof waiting for this file is rejected; the order's deadline keeps running."""
    from raffles.services import refuse_proof_file

    proof = _proof_for(message)
    if proof is None:
        return
    refuse_proof_file(proof=proof, problem=_PROBLEMS.get(problem, "unavailable"))


def attach_stored_file(message: Any) -> None:
    """Give the buyer's payment proof its file once the transport has downloaded it."""
    from raffles.services import store_proof_file

    if not message.media_id or not message.media_file:
        return
    proof = _proof_for(message)
    if proof is None or proof.file:
        return
    message.media_file.open("rb")
    try:
        content = message.media_file.read()
    finally:
        message.media_file.close()
    store_proof_file(proof=proof, content=content, filename=message.media_filename)


def _proof_for(message: Any) -> Any | None:
    from raffles.models import PaymentProof

    if not message.media_id:
        return None
    return (
        PaymentProof.objects.filter(media_id=message.media_id, order__contact_id=message.contact_id)
        .order_by("-received_at")
        .first()
    )
