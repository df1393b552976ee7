"""Start-up warnings an operator should see once, in `check` and when serving."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def whatsapp_configuration(app_configs: object, **kwargs: object) -> list[Warning]:
    warnings: list[Warning] = []
    if not settings.WHATSAPP_APP_SECRET:
        warnings.append(
            Warning(
                "WHATSAPP_APP_SECRET is not set: the webhook rejects every POST. "
                "The in-process tools (chat, replay_webhook) still work.",
                id="raffle.W001",
            )
        )
    if not (settings.WHATSAPP_ACCESS_TOKEN and settings.WHATSAPP_PHONE_NUMBER_ID):
        warnings.append(
            Warning(
                "WHATSAPP_ACCESS_TOKEN or WHATSAPP_PHONE_NUMBER_ID is not set: outbound messages "
                "are recorded, not sent.",
                id="raffle.W002",
            )
        )
    return warnings
