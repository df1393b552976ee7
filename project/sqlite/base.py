"""SQLite, with write transactions queued on a lock file instead of SQLite's busy handler.

SQLite allows one writer at a time. A writer that finds the database locked polls with growing
sleeps (1, 2, 5 ... up to 100 ms) until the busy timeout, so under a burst one process's
writers keep handing the lock to each other while the other process sleeps, and requests of
the sleeping process wait far longer than the writes take. Here every write transaction (our
transactions are IMMEDIATE: they take the write lock at BEGIN) first queues for the database's
writer lock: threads of one process wait on a `threading.Lock` (woken at once on release), and
the one at the head of each process takes an advisory `flock` on `<database>.writer-lock`,
retried every 0.05 to 0.5 ms. The lock is held from BEGIN until COMMIT or ROLLBACK, exactly as
long as SQLite's own.

If the queue takes longer than the busy timeout (a thread that waits on another thread of its
own process while holding a transaction, as a test might do), the writer goes on without the
queue and SQLite's busy timeout decides, as it would without this backend: never a deadlock.

The queue earns its keep only where SQLite serves production traffic (web workers, the task
worker and periodic jobs writing at once); PostgreSQL deployments never load this backend.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.db.backends.sqlite3 import base as sqlite3
from django.db.backends.sqlite3 import creation

__all__ = ["DatabaseWrapper"]

# Between two tries for another process's lock: short, so a handoff costs about a millisecond.
_FIRST_PAUSE_S = 0.00005
_LONGEST_PAUSE_S = 0.0005


class _WriterQueue:
    """The writer lock of one database file, shared by the connections of this process."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.threads = threading.Lock()
        self.fd: int | None = None

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self.threads.acquire(timeout=timeout):
            return False
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            pause = _FIRST_PAUSE_S
            while True:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(pause)
                    pause = min(pause * 2, _LONGEST_PAUSE_S)
        except BaseException:
            self.threads.release()
            raise
        self.threads.release()
        return False

    def release(self) -> None:
        try:
            if self.fd is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.threads.release()


_queues: dict[str, _WriterQueue] = {}
_queues_lock = threading.Lock()


def _forget_queues_in_child() -> None:
    """A forked process (gunicorn --preload, a task worker) opens its own lock files: a
    descriptor inherited from the parent would share the parent's lock instead of queueing."""
    global _queues_lock
    _queues.clear()
    _queues_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_queues_in_child)


def _queue_for(database: str) -> _WriterQueue | None:
    """None for in-memory databases: one connection, nothing to queue against."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = os.path.abspath(database) + ".writer-lock"
    with _queues_lock:
        queue = _queues.get(path)
        if queue is None:
            queue = _queues[path] = _WriterQueue(path)
        return queue


class DatabaseCreation(creation.DatabaseCreation):
    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        """The test database goes, and its lock file with it."""
        super()._destroy_test_db(test_database_name, verbosity)
        if test_database_name and not self.is_in_memory_db(test_database_name):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{os.path.abspath(test_database_name)}.writer-lock")


class DatabaseWrapper(sqlite3.DatabaseWrapper):
    creation_class = DatabaseCreation

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held_queue: _WriterQueue | None = None

    def _start_transaction_under_autocommit(self) -> None:
        self._take_writer_lock()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._let_go_of_writer_lock()
            raise

    # However the transaction ends (even if ending it fails), the next writer may go.
    def _commit(self) -> None:
        with self._then_let_go():
            super()._commit()

    def _rollback(self) -> None:
        with self._then_let_go():
            super()._rollback()

    def _close(self) -> None:
        with self._then_let_go():
            super()._close()

    @contextlib.contextmanager
    def _then_let_go(self) -> Iterator[None]:
        try:
            yield
        finally:
            self._let_go_of_writer_lock()

    def _take_writer_lock(self) -> None:
        # Only IMMEDIATE (or EXCLUSIVE) transactions take SQLite's write lock at BEGIN.
        if self.transaction_mode in (None, "DEFERRED"):
            return
        # Looked up each time: the test runner renames the database after connecting.
        queue = _queue_for(str(self.settings_dict["NAME"]))
        if queue is None:
            return
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        if queue.acquire(timeout):
            self._held_queue = queue

    def _let_go_of_writer_lock(self) -> None:
        queue, self._held_queue = self._held_queue, None
        if queue is not None:
            queue.release()
