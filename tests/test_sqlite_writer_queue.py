"""The SQLite backend queues write transactions on a lock file (project/sqlite/base.py).

Each test opens its own connections on a scratch file, so it runs the same whether the suite
itself runs on SQLite or on PostgreSQL.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db.utils import ConnectionHandler

from project.environment import sqlite_options
from project.sqlite.base import DatabaseWrapper


@pytest.fixture
def scratch(tmp_path: Path, django_db_blocker) -> Iterator[tuple[Path, ConnectionHandler]]:
    path = tmp_path / "queue.sqlite3"
    settings = {"ENGINE": "project.sqlite", "NAME": str(path), "OPTIONS": sqlite_options()}
    handler = ConnectionHandler({"default": dict(settings), "b": dict(settings)})
    with django_db_blocker.unblock():
        handler["default"].cursor().execute("CREATE TABLE sale (number INTEGER PRIMARY KEY)")
        yield path, handler
        handler.close_all()


def _lock_is_free(path: Path) -> bool:
    """Try the writer lock from an open file of our own, as another process would."""
    fd = os.open(f"{path}.writer-lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def _begin(connection: DatabaseWrapper) -> None:
    """What `transaction.atomic()` does first on SQLite."""
    connection.ensure_connection()
    connection._start_transaction_under_autocommit()


def test_a_write_transaction_holds_the_lock_file_until_commit(scratch):
    path, handler = scratch
    writer = handler["default"]

    _begin(writer)
    writer.cursor().execute("INSERT INTO sale VALUES (7)")
    held_during = not _lock_is_free(path)
    writer.commit()

    assert held_during
    assert _lock_is_free(path)


def test_rollback_and_close_let_go_of_the_lock(scratch):
    path, handler = scratch
    writer = handler["default"]

    _begin(writer)
    writer.rollback()
    assert _lock_is_free(path)

    _begin(writer)
    writer.close()
    assert _lock_is_free(path)


def test_a_second_writer_waits_for_the_first_and_then_writes(scratch):
    _, handler = scratch
    first, order = handler["default"], []
    _begin(first)
    first.cursor().execute("INSERT INTO sale VALUES (1)")

    def second_writer() -> None:
        second = handler["b"]
        _begin(second)  # queues here until the first commits
        order.append("second began")
        second.cursor().execute("INSERT INTO sale VALUES (2)")
        second.commit()
        second.close()

    thread = threading.Thread(target=second_writer)
    thread.start()
    time.sleep(0.3)
    order.append("first commits")
    first.commit()
    thread.join(timeout=10)

    assert order == ["first commits", "second began"]
    rows = first.cursor().execute("SELECT number FROM sale ORDER BY number").fetchall()
    assert [r[0] for r in rows] == [1, 2]


def test_a_lock_held_past_the_timeout_falls_back_to_sqlite_busy_handling(scratch, tmp_path):
    path, handler = scratch
    writer = handler["default"]
    writer.settings_dict["OPTIONS"] = {**writer.settings_dict["OPTIONS"], "timeout": 0.2}
    stuck = os.open(f"{path}.writer-lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(stuck, fcntl.LOCK_EX)  # another process that never lets go of the queue
    try:
        started = time.monotonic()
        _begin(writer)  # not a deadlock: SQLite's own lock (free here) decides
        writer.cursor().execute("INSERT INTO sale VALUES (3)")
        writer.commit()
        waited = time.monotonic() - started
    finally:
        os.close(stuck)

    assert 0.2 <= waited < 5
    assert writer.cursor().execute("SELECT COUNT(*) FROM sale").fetchone()[0] == 1


def test_a_forked_process_queues_against_its_parent(scratch):
    from project.sqlite import base

    path, handler = scratch
    parent = handler["default"]
    _begin(parent)  # opens this process's lock file...
    parent.commit()  # ...and lets go of it before the fork
    holding, done = os.pipe(), os.pipe()

    # pytest's process has threads of its own; the child touches none of their locks (only
    # this module's, which it renews at fork, and plain system calls), so the warning is moot.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        child = os.fork()
    if child == 0:  # a worker forked from a preloaded parent takes the writer lock
        took = base._queue_for(str(path)).acquire(timeout=1)
        os.write(holding[1], b"1" if took else b"0")
        os.read(done[0], 1)  # hold it until the parent has tried
        os._exit(0)
    child_took = os.read(holding[0], 1) == b"1"
    parent_took = base._queue_for(str(path)).acquire(timeout=0.2)
    if parent_took:
        base._queue_for(str(path)).release()
    os.write(done[1], b"x")
    os.waitpid(child, 0)
    for fd in (*holding, *done):
        os.close(fd)

    assert child_took
    assert not parent_took  # with an inherited descriptor both would "hold" the same lock


def test_destroying_a_test_database_removes_its_lock_file(scratch):
    path, handler = scratch
    connection = handler["default"]
    _begin(connection)  # creates the lock file
    connection.commit()
    connection.close()
    assert Path(f"{path}.writer-lock").exists()

    connection.creation._destroy_test_db(str(path), verbosity=0)

    assert not path.exists()
    assert not Path(f"{path}.writer-lock").exists()
