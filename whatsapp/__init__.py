"""WhatsApp transport: Meta's webhook, contacts, inbound and outbound messages, Graph client."""
