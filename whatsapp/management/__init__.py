"""Management commands of the WhatsApp transport."""
