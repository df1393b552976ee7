"""Signals the WhatsApp transport sends to the apps built on it."""

from django.dispatch import Signal

# kwargs: message (InboundMessage) -- the file is saved and verified (type, size, sha256).
media_stored = Signal()

# kwargs: message (InboundMessage), problem (str): the media asked for will not be stored.
# `problem` is one of MEDIA_PROBLEMS: "too_large", "not_a_proof_type" (the content is not a
# JPEG, PNG, WebP or PDF), "refused" (Meta refused the media id), "gave_up" (the download failed
# WHATSAPP_MEDIA_MAX_ATTEMPTS times). Sent once per message, after its status is saved.
media_failed = Signal()

MEDIA_PROBLEMS = ("too_large", "not_a_proof_type", "refused", "gave_up")
