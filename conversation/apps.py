from django.apps import AppConfig


class ConversationConfig(AppConfig):
    """The bot: per-contact state machine, parsing, reply wording, buyer notifications."""

    name = "conversation"
    verbose_name = "Conversation"
