"""The WhatsApp transport app's configuration."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WhatsappConfig(AppConfig):
    """Transport only: Meta's webhook, contacts, inbound and outbound messages."""

    name = "whatsapp"
    verbose_name = _("WhatsApp")
