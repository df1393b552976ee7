"""Fixtures for the WhatsApp transport tests."""

from __future__ import annotations

import pytest

from whatsapp.services import inbound

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
PHONE_NUMBER_ID = "106540352242922"


@pytest.fixture
def whatsapp_settings(settings, tmp_path):
    """Inbound tests' settings. Not autouse: the outbound tests in this folder bring their own."""
    settings.WHATSAPP_APP_SECRET = APP_SECRET
    settings.WHATSAPP_VERIFY_TOKEN = VERIFY_TOKEN
    settings.WHATSAPP_PHONE_NUMBER_ID = PHONE_NUMBER_ID
    settings.WHATSAPP_ACCESS_TOKEN = ""
    settings.WHATSAPP_INBOUND_HANDLER = None
    settings.WHATSAPP_GRAPH_URL = "http://graph.test/v23.0"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
    }
    inbound._import_handler.cache_clear()
    return settings


class RecordingHandler:
    """Stands in for the bot: records what it was handed, can be told to fail."""

    def __init__(self) -> None:
        self.handled: list[str] = []
        self.fail_on: set[str] = set()

    def __call__(self, message) -> None:
        if message.text in self.fail_on:
            raise RuntimeError(f"bot broke on {message.text!r}")
        self.handled.append(message.wa_message_id)


recording = RecordingHandler()


def asks_for_media(message) -> None:
    """Stands in for a bot that takes every image or document as a payment proof."""
    from whatsapp.services.media import request_media_download

    request_media_download(message=message)


@pytest.fixture
def handler(whatsapp_settings):
    """Installs `recording` as WHATSAPP_INBOUND_HANDLER and returns it, emptied."""
    recording.handled.clear()
    recording.fail_on.clear()
    whatsapp_settings.WHATSAPP_INBOUND_HANDLER = "tests.whatsapp.conftest.recording"
    inbound._import_handler.cache_clear()
    return recording


@pytest.fixture
def recorded_statuses(monkeypatch):
    """Replaces the hand-over to the outbound side; returns the calls it received."""
    calls: list[dict] = []
    monkeypatch.setattr("whatsapp.services.webhooks.record_status", lambda **kw: calls.append(kw))
    return calls
