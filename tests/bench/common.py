"""What the benchmark scripts share: a scratch database of their own, and percentiles."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def scratch_database(kind: str, pg_url: str, *, prefix: str) -> tuple[str, Callable[[], None]]:
    """A fresh database for one benchmark run: its URL, and a function that drops it."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix=f"{prefix}-")
        path = Path(folder) / "bench.sqlite3"

        def drop_file() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            os.rmdir(folder)

        return f"sqlite:///{path}", drop_file
    import psycopg

    name = f"{prefix.replace('-', '_')}_{os.getpid()}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop_database() -> None:
        from django.apps import apps

        if apps.ready:  # this process used the database through Django: let go of it first
            from django.db import connections

            connections.close_all()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{pg_url.rsplit('/', 1)[0]}/{name}", drop_database
