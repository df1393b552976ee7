"""The WhatsApp transport's state changes: webhooks in, the outbox out, contacts and media."""
