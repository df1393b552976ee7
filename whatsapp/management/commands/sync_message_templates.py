"""Read the business account's message templates from Meta into the registry (all pages).

Run it after creating or editing templates in WhatsApp Manager; the admin's "Sync now" button
does the same. Status webhooks keep the registry current between syncs.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from whatsapp.services.templates import TemplateSyncError, sync_message_templates


class Command(BaseCommand):
    help = "Sync the WhatsApp message templates of WHATSAPP_BUSINESS_ACCOUNT_ID from Meta."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = sync_message_templates()
        except TemplateSyncError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"synced {result.summary()}")
