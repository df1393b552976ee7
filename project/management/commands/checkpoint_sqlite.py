"""Copy SQLite's write-ahead log back into the database, off the buyers' request path.

Without it the commit that finds the WAL over `wal_autocheckpoint` pages does the copy (and its
fsyncs) while a buyer waits. PASSIVE: copies what it can without waiting for or blocking
readers and writers. Does nothing on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection


class Command(BaseCommand):
    help = "Checkpoint the SQLite write-ahead log (PASSIVE); a no-op on other databases."

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "sqlite":
            self.stdout.write("Not SQLite: nothing to checkpoint.")
            return
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            busy, logged, copied = cursor.fetchone()
        if options["verbosity"] >= 1:  # quiet under run_periodic, which runs it every 10 s
            self.stdout.write(f"WAL checkpoint: {copied} of {logged} pages copied (busy={busy})")
