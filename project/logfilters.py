"""Logging filters that keep `serve`'s log to one true line per event."""

from __future__ import annotations

import logging


class TaskOutcomesOnly(logging.Filter):
    """django.tasks logs every task twice, "state=RUNNING" then its outcome; keep the outcome."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.args and "RUNNING" in map(str, record.args))
