"""WhatsApp transport services: each one business action, keyword-only, atomic."""
