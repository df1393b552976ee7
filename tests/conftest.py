"""Shared fixtures for the whole suite."""

from __future__ import annotations

import os

import pytest
from django.db import connection

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip locally when a real part is missing; in CI the same absence is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


# --- fake Graph API (wa-outbound) --------------------------------------------------------------
@pytest.fixture
def fake_graph(settings):
    """A fake WhatsApp Cloud API on 127.0.0.1; settings point at it (credentials included)."""
    from tests.support.fake_graph import FakeGraph

    with FakeGraph() as graph:
        settings.WHATSAPP_GRAPH_URL = graph.base_url
        settings.WHATSAPP_ACCESS_TOKEN = graph.access_token
        settings.WHATSAPP_PHONE_NUMBER_ID = graph.phone_number_id
        yield graph


# --- private files (proofs, inbound media) --------------------------------------------------------
@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Files a test stores land in its own temporary folder, never in the project's."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private_media"), "base_url": None},
        },
    }
    return tmp_path / "private_media"
