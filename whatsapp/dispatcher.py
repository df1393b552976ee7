"""The delivery dispatcher: sends the outbox as soon as a row commits, many calls at once.

One long-lived process (`manage.py deliver_outbox`, started by `serve`):

- woken by `whatsapp.wakeup` the moment a transaction that queued messages commits, with a
  fallback poll as a safety net and a timer for the next retry coming due;
- claims due rows in batches (`delivery.claim_batch`: conversation lane first, order per buyer,
  Meta's cap shared through the database, never more than half a lease can hold);
- sends them on a bounded pool of threads over one long-lived Graph client, so connections to
  Meta are reused and no call builds a client of its own.

The outbox row stays the truth: claim and lease, retries and the sweeper are unchanged, so a
dispatcher killed mid-flight loses nothing (its leases run out and the sweeper sends the rows).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Min
from django.utils import timezone

from project.heartbeats import DISPATCHER, beat
from project.outage import UNAVAILABLE, OutageLog, backoff_delays, drop_connection
from whatsapp.client import GraphClient, SendResult, credentials_configured
from whatsapp.models import DUE_STATUSES, OutboundLane, OutboundMessage, OutboundStatus
from whatsapp.services.delivery import Claimed, claim_batch, deliver_claimed, record_successes
from whatsapp.wakeup import Listener

__all__ = ["Dispatcher"]

logger = logging.getLogger(__name__)

# Webhooks commit in bursts (Meta posts many at once, 8 clients in the benchmark). A ring waits
# this long before claiming, so one claim transaction takes the burst's replies instead of one
# each; on SQLite every transaction is a turn of the single writer lock the webhooks queue for.
# A few milliseconds on a reply that takes Meta ~150 ms to carry.
CLAIM_GATHER_SECONDS = 0.005
# Accepted sends come back ~150 ms after they left, spread out; the booker waits this long for
# more before booking, for the same reason. A booking this late holds back only the same
# buyer's next reply (replies to one buyer go in order), by at most this long.
BOOK_GATHER_SECONDS = 0.02


class Dispatcher:
    """Claim, send, repeat. `run(stop)` until the event is set; `drain()` for tests."""

    def __init__(
        self,
        *,
        threads: int | None = None,
        poll_seconds: float | None = None,
        graph: GraphClient | None = None,
        listen: bool = True,
    ) -> None:
        self.threads = max(1, threads or settings.WHATSAPP_DELIVERY_THREADS)
        self.poll_seconds = poll_seconds or settings.WHATSAPP_DELIVERY_POLL_SECONDS
        self._own_graph = graph is None and credentials_configured()
        self.graph = graph or (
            GraphClient.from_settings(max_connections=self.threads)
            if credentials_configured()
            else None
        )
        self.listener = Listener() if listen else None
        self.sent = 0  # rows this dispatcher attempted (for tests and the log)
        self.booked = 0  # accepted sends booked
        self._unbooked = 0
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="deliver")
        self._lock = threading.Lock()
        self._in_flight = 0
        self._kick = threading.Event()  # a ring, or a finished send that frees a thread
        # A database outage is one line when it goes and one when it is back, not a traceback
        # per poll; claims retry on a capped backoff meanwhile (DATABASE_RETRY_MAX_SECONDS).
        self._outage = OutageLog("delivery dispatcher")
        self._retry_delays: Iterator[float] | None = None
        # Accepted sends waiting to be booked together by the booking thread: one transaction
        # for many rows, which on SQLite is one turn of the single write lock instead of many.
        self._accepted: queue.SimpleQueue[tuple[Claimed, SendResult] | None] = queue.SimpleQueue()
        self._booker = threading.Thread(target=self._book_loop, name="deliver-book", daemon=True)
        self._booker.start()

    # --- the loop -----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        listening = self.listener.open() if self.listener else False
        if listening:
            threading.Thread(target=self._listen, args=(stop,), daemon=True).start()
        logger.info(
            "delivery dispatcher: %s threads, %s, poll every %.1fs",
            self.threads,
            "woken on commit" if listening else "polling only",
            self.poll_seconds,
        )
        next_beat = 0.0
        try:
            while not stop.is_set():
                timeout = self.fill()
                if time.monotonic() >= next_beat:
                    self._beat()
                    next_beat = time.monotonic() + settings.HEARTBEAT_SECONDS
                if self._kick.wait(timeout):
                    stop.wait(CLAIM_GATHER_SECONDS)
                self._kick.clear()
        finally:
            self.close()

    def drain(self, *, timeout: float = 30.0) -> int:
        """Send everything due now and wait for it (tests, and a one-shot command run)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.fill()
            with self._lock:
                busy = self._in_flight + self._unbooked
            if not busy and not self._claimable():
                break
            self._kick.wait(0.05)
            self._kick.clear()
        return self.sent

    def fill(self) -> float:
        """Claim as much as the free threads take; returns how long to sleep if nothing comes."""
        try:
            close_old_connections()  # a restarted database: reconnect, not crash
            while True:
                with self._lock:
                    free = self.threads - self._in_flight
                if free <= 0:
                    return self.poll_seconds  # a finished send kicks us
                batch = claim_batch(limit=free)
                self._database_answered()
                for row in batch.rows:
                    with self._lock:
                        self._in_flight += 1
                    self._pool.submit(self._send, row)
                if len(batch.rows) < free:
                    if batch.pace_wait:
                        return min(self.poll_seconds, batch.pace_wait)
                    with self._lock:
                        busy = self._in_flight
                    # While sends are in flight their completions kick the loop: no need to
                    # ask the database when the next retry is due after every claim.
                    return self.poll_seconds if busy else self._until_next_due()
        except UNAVAILABLE as error:
            # The database is away: nothing can be claimed until it is back; wait, don't crash.
            return self._database_away(error)
        except Exception:
            # A bug: keep the process alive (the traceback goes to the log), try after a poll.
            logger.exception("delivery dispatcher: claiming failed")
            with suppress(Exception):
                connection.close()
            return self.poll_seconds

    def _beat(self) -> None:
        """From the claiming loop itself: a loop that stops claiming stops beating, and the
        sweeper then sends its rows (`delivery.send_due`)."""
        if self._outage.down:
            return  # fill() waits for the database and logs the outage
        try:
            beat(DISPATCHER)
        except UNAVAILABLE as error:
            self._outage.failed(error)

    def _database_away(self, error: BaseException) -> float:
        self._outage.failed(error)
        drop_connection()
        if self._retry_delays is None:
            self._retry_delays = backoff_delays()
        return next(self._retry_delays)

    def _database_answered(self) -> None:
        if self._outage.down:
            self._outage.answered()
        self._retry_delays = None

    def close(self) -> None:
        self._close_thread_connections()
        self._pool.shutdown(wait=True)  # in-flight sends finish and book their outcome
        self._accepted.put(None)  # the booker books what is left, then stops
        self._booker.join(timeout=30)
        if self.listener:
            self.listener.close()
        if self._own_graph and self.graph is not None:
            self.graph.close()
        connection.close()

    def _close_thread_connections(self) -> None:
        """Each pool thread closes its own database connection (they are per thread)."""
        started = len(self._pool._threads)
        if not started:
            return
        barrier = threading.Barrier(started)

        def close_mine() -> None:
            connection.close()
            with suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=30)  # so that every thread takes exactly one

        for _ in range(started):
            self._pool.submit(close_mine)

    # --- the threads --------------------------------------------------------------------------
    def _send(self, row: Claimed) -> None:
        accepted = False
        try:
            accepted = (
                deliver_claimed(row, graph=self.graph, on_accepted=self._hand_over)
                == OutboundStatus.SENT
            )
        except Exception:
            # The row keeps its lease and the sweeper retries it after; the others still go.
            logger.exception("delivering outbound %s crashed", row.pk)
        finally:
            with self._lock:
                self._in_flight -= 1
                self.sent += 1
                free = self.threads - self._in_flight
            # Broadcast sends refill in groups (a quarter of the pool), one claim for many rows;
            # an accepted reply kicks once booked (it may unblock that buyer's next one).
            if (row.lane == OutboundLane.CONVERSATION and not accepted) or free >= max(
                1, self.threads // 4
            ):
                self._kick.set()

    def _hand_over(self, row: Claimed, result: SendResult) -> None:
        if self.graph is None:  # pragma: no cover - recorded rows never get here
            return
        with self._lock:
            self._unbooked += 1
        self._accepted.put((row, result))

    def _book_loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._accepted.get()
            group = [] if first is None else [first]
            stopping = first is None
            if not stopping:
                time.sleep(BOOK_GATHER_SECONDS)
            while True:  # everything that arrived meanwhile goes in the same transaction
                try:
                    item = self._accepted.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                else:
                    group.append(item)
            if group:
                self._book(group)
        connection.close()

    def _book(self, group: list[tuple[Claimed, SendResult]]) -> None:
        for attempt in range(3):
            try:
                record_successes(group)
                break
            except UNAVAILABLE as error:
                # The same outage the claiming loop logs once; the rows keep their lease.
                self._outage.failed(error)
                drop_connection()
                time.sleep(0.5 * (attempt + 1))
            except Exception:
                # The rows keep their lease: if booking keeps failing the sweeper sends them
                # again after it (flagged by the lease, as any crash after a send).
                logger.exception("booking %s accepted sends failed", len(group))
                with suppress(Exception):
                    connection.close()
                time.sleep(0.5 * (attempt + 1))
        with self._lock:
            self.booked += len(group)
            self._unbooked -= len(group)
        self._kick.set()

    def _listen(self, stop: threading.Event) -> None:
        assert self.listener is not None
        while not stop.is_set():
            if self.listener.wait(1.0):
                self._kick.set()

    # --- timing -------------------------------------------------------------------------------
    def _until_next_due(self) -> float:
        """Sleep until the next retry comes due, at most one poll."""
        now = timezone.now()
        nxt = OutboundMessage.objects.filter(
            status__in=DUE_STATUSES, next_attempt_at__gt=now
        ).aggregate(at=Min("next_attempt_at"))["at"]
        if nxt is None:
            return self.poll_seconds
        return max(0.01, min(self.poll_seconds, (nxt - now).total_seconds()))

    def _claimable(self) -> bool:
        return OutboundMessage.objects.filter(
            status__in=DUE_STATUSES, next_attempt_at__lte=timezone.now()
        ).exists()
