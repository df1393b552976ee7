#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    from django.core.management import execute_from_command_line

    from project.environment import MissingSecrets

    try:
        execute_from_command_line(sys.argv)
    except MissingSecrets as error:
        # One clear line naming what to set, not a traceback through Django's start-up.
        sys.exit(f"Cannot start: {error}")
    # Reached only when the command succeeded. A periodic command run from cron leaves its
    # heartbeat, as under run_periodic (`/healthz?detail=1`).
    if len(sys.argv) > 1:
        from project.heartbeats import beat_for_command_line

        beat_for_command_line(sys.argv[1:])


if __name__ == "__main__":
    main()
