"""Periodic housekeeping: `run_periodic` runs each configured command, options included."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from model_bakery import baker

from whatsapp.models import Contact, InboundMessage
from whatsapp.services.media import max_total_attempts, retry_failed_media


# Outside a test transaction, as cron or `serve` runs it: the runner recycles connections between
# jobs, and recycling the test's own connection would look like an outage (and wait forever).
@pytest.mark.django_db(transaction=True)
def test_a_periodic_entry_may_carry_options(settings, monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(
        "whatsapp.management.commands.retry_inbound.retry_failed_media",
        lambda *, limit: calls.append(limit) or 0,
    )
    settings.PERIODIC_COMMANDS = [("retry_inbound --media", 60)]

    call_command("run_periodic", "--once")

    assert calls == [100]


@pytest.mark.django_db
def test_failed_proof_downloads_are_redriven_until_they_have_had_enough_attempts(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    buyer = baker.make(Contact)
    baker.make(
        InboundMessage, contact=buyer, msg_type="image", media_id="m1", media_status="failed"
    )
    baker.make(
        InboundMessage,
        contact=buyer,
        msg_type="image",
        media_id="m2",
        media_status="failed",
        media_attempts=max_total_attempts(),
    )

    assert retry_failed_media() == 1


@pytest.mark.django_db(transaction=True)
def test_the_sqlite_wal_is_checkpointed_off_the_request_path(settings):
    import re
    from io import StringIO

    from django.db import connection

    baker.make(Contact)  # committed: the WAL now holds pages to copy back
    out = StringIO()

    call_command("checkpoint_sqlite", stdout=out)

    if connection.vendor != "sqlite":  # PostgreSQL: nothing to do, and never scheduled
        assert "nothing to checkpoint" in out.getvalue()
        assert "checkpoint_sqlite" not in dict(settings.PERIODIC_COMMANDS)
        return
    copied, logged = map(int, re.search(r"(\d+) of (\d+) pages", out.getvalue()).groups())
    assert logged > 0 and copied == logged
    assert ("checkpoint_sqlite", 10) in settings.PERIODIC_COMMANDS


def test_the_readme_schedules_every_periodic_command_for_production(settings):
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    production = readme[readme.index("## Running in production") :]

    missing = [
        name for name, _ in settings.PERIODIC_COMMANDS if f"manage.py {name}" not in production
    ]

    assert missing == []
