"""The WhatsApp transport app's configuration."""

from django.apps import AppConfig


class WhatsappConfig(AppConfig):
    """Transport only: Meta's webhook, contacts, inbound and outbound messages."""

    name = "whatsapp"
    verbose_name = "WhatsApp"
