"""The bot is plugged into the transport, the raffles signals and the periodic jobs."""

from __future__ import annotations

from django.conf import settings


def test_the_bot_answers_inbound_messages():
    assert settings.WHATSAPP_INBOUND_HANDLER == "conversation.handler.handle_inbound"


def test_deadline_reminders_run_every_minute():
    assert ("remind_pending_orders", 60) in settings.PERIODIC_COMMANDS


def test_the_bot_listens_to_inventory_and_media_signals():
    from raffles.signals import order_status_changed, orders_expired, proof_rejected
    from whatsapp.signals import media_stored

    for signal in (order_status_changed, orders_expired, proof_rejected, media_stored):
        assert any("conversation" in str(key) for key, *_ in signal.receivers), signal
