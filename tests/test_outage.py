"""Riding out a database outage: the worker and periodic jobs wait, heartbeats, /healthz detail."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone

from project import heartbeats
from project.models import Heartbeat
from project.outage import OutageLog

pytestmark = pytest.mark.django_db


def beat_ago(name: str, seconds: float) -> None:
    Heartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": timezone.now() - timedelta(seconds=seconds)}
    )


# --- /healthz?detail=1 ------------------------------------------------------------------------
def test_healthz_detail_lists_worker_and_periodic_jobs_as_ok_stale_or_never(client, settings):
    settings.PERIODIC_COMMANDS = [("send_due_messages", 5), ("expire_reservations", 60)]
    settings.HEARTBEAT_STALE_SECONDS = 60
    settings.HEARTBEAT_GRACE_SECONDS = 120
    beat_ago("worker", 3)
    beat_ago("periodic:send_due_messages", 600)

    body = client.get("/healthz?detail=1").json()

    assert body["status"] == "ok"
    assert body["worker"]["status"] == "ok" and 2 < body["worker"]["age_seconds"] < 30
    assert body["periodic"]["send_due_messages"]["status"] == "stale"
    assert body["periodic"]["send_due_messages"]["age_seconds"] >= 600
    assert body["periodic"]["expire_reservations"] == {
        "status": "never",
        "age_seconds": None,
        "every_seconds": 60,
    }


def test_healthz_detail_shows_whether_the_delivery_dispatcher_beats(client, settings):
    settings.HEARTBEAT_STALE_SECONDS = 60
    assert client.get("/healthz?detail=1").json()["dispatcher"]["status"] == "never"

    beat_ago("dispatcher", 3)
    assert client.get("/healthz?detail=1").json()["dispatcher"]["status"] == "ok"

    beat_ago("dispatcher", 600)
    body = client.get("/healthz?detail=1").json()
    assert body["dispatcher"]["status"] == "stale" and body["dispatcher"]["age_seconds"] >= 600


def test_a_stale_worker_does_not_make_healthz_fail(client):
    beat_ago("worker", 3600)

    response = client.get("/healthz?detail=1")

    assert response.status_code == 200
    assert response.json()["worker"]["status"] == "stale"


def test_healthz_logs_an_outage_once_and_the_return_once(client, monkeypatch, caplog):
    from django.db.backends.base.base import BaseDatabaseWrapper

    real = BaseDatabaseWrapper.cursor

    def refuse(self, *args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("project.health._outage.down_since", None)
    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", refuse)
    codes = [client.get("/healthz").status_code for _ in range(5)]
    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", real)
    codes.append(client.get("/healthz").status_code)

    assert codes == [503] * 5 + [200]
    assert caplog.text.count("database unavailable") == 1
    assert caplog.text.count("database back after") == 1
    assert "Traceback" not in caplog.text


# --- heartbeats -------------------------------------------------------------------------------
def test_a_periodic_command_run_from_cron_leaves_its_heartbeat(settings):
    settings.PERIODIC_COMMANDS = [("retry_inbound --media", 300)]

    heartbeats.beat_for_command_line(["retry_inbound", "--media"])
    heartbeats.beat_for_command_line(["retry_inbound"])  # not the periodic entry
    heartbeats.beat_for_command_line(["migrate"])

    assert list(Heartbeat.objects.values_list("name", flat=True)) == [
        "periodic:retry_inbound --media"
    ]


def test_manage_py_beats_after_a_command_that_succeeded(monkeypatch):
    import django.core.management

    import manage

    seen: list[list[str]] = []
    monkeypatch.setattr(django.core.management, "execute_from_command_line", lambda argv: None)
    monkeypatch.setattr(heartbeats, "beat_for_command_line", seen.append)
    monkeypatch.setattr("sys.argv", ["manage.py", "send_due_messages"])

    manage.main()

    assert seen == [["send_due_messages"]]


@pytest.mark.django_db(transaction=True)
def test_the_worker_heartbeat_thread_beats_on_its_own_connection():
    thread = heartbeats.HeartbeatThread("worker", every=0.05)
    thread.start()
    try:
        for _ in range(100):
            if Heartbeat.objects.filter(name="worker").exists():
                break
            thread.join(0.05)
    finally:
        thread.stop()
        thread.join(5)

    assert Heartbeat.objects.filter(name="worker").exists()
    assert not thread.is_alive()


# --- the periodic jobs wait for the database --------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_periodic_jobs_wait_out_an_outage_with_one_line_each_way_and_run_again(
    settings, monkeypatch, caplog
):
    from project.management.commands import run_periodic

    settings.PERIODIC_COMMANDS = [("expire_reservations", 60), ("send_due_messages", 5)]
    calls: list[str] = []

    def job(name, **kwargs):
        calls.append(name)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(run_periodic, "call_command", job)
    caplog.set_level(logging.INFO)

    call_command("run_periodic", "--once")

    # The first job met the outage; the second was not tried into it; both ran once it was back.
    assert calls == ["expire_reservations", "expire_reservations", "send_due_messages"]
    assert caplog.text.count("database unavailable") == 1
    assert caplog.text.count("database back after") == 1
    assert "Traceback" not in caplog.text
    assert set(Heartbeat.objects.values_list("name", flat=True)) == {
        "periodic:expire_reservations",
        "periodic:send_due_messages",
    }


# --- the task worker waits for the database ---------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_task_worker_survives_database_errors_and_resumes(monkeypatch, caplog):
    from django_tasks_db.management.commands import db_worker

    from project.management.commands.run_worker import ResilientWorker

    runs: list[int] = []

    def library_loop(self):
        runs.append(1)
        if len(runs) <= 3:
            raise OperationalError("connection refused")

    probes = iter([False, False, True, True, True])
    monkeypatch.setattr(db_worker.Worker, "run", library_loop)
    monkeypatch.setattr("project.outage.database_answers", lambda alias="default": next(probes))
    monkeypatch.setattr("time.sleep", lambda s: None)
    worker = ResilientWorker(
        queue_names=["default"],
        interval=0.1,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="w1",
        excluded_queue_names=[],
    )

    worker.run()

    # Down for two probes; then the loop failed twice more right after the return (a
    # failover settling): still one outage in the log, and the worker never exited.
    assert len(runs) == 4
    assert caplog.text.count("database unavailable") == 1


def test_the_outage_log_says_how_long_the_database_was_away(caplog):
    now = [100.0]
    log = OutageLog("worker", clock=lambda: now[0])

    log.failed(OperationalError("boom"))
    now[0] = 163.0
    log.failed(OperationalError("boom again"))
    log.answered()

    assert "worker: database back after 63 s" in caplog.text
    assert caplog.text.count("database unavailable") == 1


@pytest.mark.parametrize("command", ["run_worker", "run_periodic"])
def test_bad_configuration_exits_78_so_nothing_restarts_it(command, monkeypatch):
    from django.core.management.base import BaseCommand, SystemCheckError

    def failing_checks(self, *args, **kwargs):
        raise SystemCheckError("SystemCheckError: the settings are wrong")

    monkeypatch.setattr(BaseCommand, "check", failing_checks)

    with pytest.raises(SystemCheckError) as error:
        call_command(command, skip_checks=False)

    assert error.value.returncode == 78
