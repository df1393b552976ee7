"""`serve`'s log is quiet and true: one line per task, nothing when housekeeping did nothing."""

from __future__ import annotations

import logging

from django.core.management import call_command

from project.management.commands.run_periodic import _report


def test_a_task_is_logged_once_with_its_outcome():
    tasks = logging.getLogger("django.tasks")

    def record(state: str) -> logging.LogRecord:
        args = ("1", "p", state)
        return tasks.makeRecord(
            tasks.name, logging.INFO, "x", 1, "Task id=%s path=%s state=%s", args, None
        )

    kept = [state for state in ("RUNNING", "SUCCESSFUL") if tasks.filter(record(state))]

    assert kept == ["SUCCESSFUL"]
    # Its own handler and no propagation: Django's DEBUG console handler would print it again.
    assert tasks.handlers and tasks.propagate is False


def test_housekeeping_that_did_nothing_prints_nothing(capsys):
    _report("0 orders expired.\ndeleted 0 webhook captures older than 30 days\n3 orders expired.\n")

    assert capsys.readouterr().out == "3 orders expired.\n"


def test_the_periodic_loop_runs_once_silently_on_an_empty_database(
    transactional_db, capsys, settings
):
    # As in production: the loop runs outside any transaction (it closes and reopens connections).
    settings.PERIODIC_COMMANDS = [("expire_reservations", 60)]

    call_command("run_periodic", "--once")

    assert capsys.readouterr().out == ""
