"""Signals the WhatsApp transport sends to the apps built on it."""

from django.dispatch import Signal

# kwargs: message (InboundMessage) -- the file is saved and verified (type, size, sha256).
media_stored = Signal()
