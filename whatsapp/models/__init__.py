"""WhatsApp transport data: contacts, inbound and outbound messages, captured webhooks."""

from whatsapp.models.captures import *  # noqa: F403
from whatsapp.models.contacts import *  # noqa: F403
from whatsapp.models.inbound import *  # noqa: F403
from whatsapp.models.outbound import *  # noqa: F403
from whatsapp.models.templates import *  # noqa: F403
