"""Meta's messages-per-second cap, kept by every sender of every process and host together.

One `SendingPace` row per business number is a virtual clock (GCRA): a sender reserves n sends
inside a short transaction by moving `next_slot_at` n intervals on, then sends each at its own
slot. Two dispatchers, or a dispatcher and the sweeper, get disjoint slots, so the cap holds
across all of them without any of them talking to the others.

Meta counts received messages against the same cap, so each reservation first charges the
inbound messages stored since the last one. Its throughput error (130429) pauses the whole
number for WHATSAPP_THROUGHPUT_PAUSE_SECONDS.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from project.prepared import Prepared, update
from whatsapp.models import InboundMessage, SendingPace

__all__ = ["Pace", "is_paused", "local_turn", "pause_number", "take_one"]

# Sends are spaced a little wider than the cap: our clock is when a request leaves, Meta's is
# when it arrives, and network jitter can bunch a few; 3% keeps any one-second window under.
HEADROOM = 0.97
INBOUND_CHECK_SECONDS = 0.25
_inbound_checked_at = -INBOUND_CHECK_SECONDS


# Every claim locks the pace row: its SQL is built once (project.prepared says why).
_locked_pace = Prepared(
    lambda number: SendingPace.objects.select_for_update().filter(number=number), str
)


def _number() -> str:
    return settings.WHATSAPP_PHONE_NUMBER_ID or "default"


def interval() -> float:
    """Seconds between two sends at the configured cap."""
    return 1.0 / (max(1, settings.WHATSAPP_MESSAGES_PER_SECOND) * HEADROOM)


@dataclass
class Pace:
    """The locked pace row inside the caller's transaction."""

    row: SendingPace
    now: datetime

    @classmethod
    def lock(cls, *, now: datetime | None = None) -> Pace:
        """Lock (creating it the first time) this number's pace; call inside `atomic()`."""
        now = now or timezone.now()
        row = _locked_pace.one(_number())
        if row is None:
            # History does not count against the cap: start from the newest inbound message.
            newest = InboundMessage.objects.aggregate(top=Max("pk"))["top"] or 0
            row, _ = SendingPace.objects.get_or_create(
                number=_number(), defaults={"next_slot_at": now, "inbound_counted_to": newest}
            )
            row = SendingPace.objects.select_for_update().get(pk=row.pk)
        pace = cls(row=row, now=now)
        pace._charge_inbound()
        return pace

    def _charge_inbound(self) -> None:
        global _inbound_checked_at
        # Counting is a query: once every quarter second per process is close enough (a late
        # charge only moves later slots back).
        if time.monotonic() - _inbound_checked_at < INBOUND_CHECK_SECONDS:
            return
        _inbound_checked_at = time.monotonic()
        seen = InboundMessage.objects.filter(pk__gt=self.row.inbound_counted_to).aggregate(
            n=Count("pk"), top=Max("pk")
        )
        if seen["n"]:
            start = max(self.row.next_slot_at, self.now)
            self.row.next_slot_at = start + timedelta(seconds=seen["n"] * interval())
            self.row.inbound_counted_to = seen["top"]

    @property
    def paused_until(self) -> datetime | None:
        until = self.row.paused_until
        return until if until is not None and until > self.now else None

    def room(self, *, horizon: float) -> int:
        """How many sends can start within `horizon` seconds from now."""
        if self.paused_until:
            return 0
        start = max(self.row.next_slot_at, self.now)
        ahead = (start - self.now).total_seconds()
        if ahead >= horizon:
            return 0
        return max(1, math.floor((horizon - ahead) / interval()))

    def wait_seconds(self) -> float:
        """Until the next send may start (the pause, or the next free slot)."""
        until = self.paused_until or max(self.row.next_slot_at, self.now)
        return max(0.0, (until - self.now).total_seconds())

    def take(self, n: int) -> list[datetime]:
        """Reserve n slots (n may be 0) and save; returns when each send may start."""
        step = timedelta(seconds=interval())
        start = max(self.row.next_slot_at, self.now)
        slots = [start + i * step for i in range(n)]
        self.row.next_slot_at = start + n * step
        self.save()
        return slots

    def save(self) -> None:
        # save(update_fields=...)'s statement, built once (every claim saves the pace).
        update(
            SendingPace,
            self.row.pk,
            next_slot_at=self.row.next_slot_at,
            inbound_counted_to=self.row.inbound_counted_to,
            paused_until=self.row.paused_until,
        )


class _Spacing:
    """This process's sends, at least one interval apart in fact, not just on paper.

    The slots above space sends out when they are claimed; a thread that starts late (its turn
    behind a busy CPU, or a claim that waited for a free thread) would otherwise go out bunched
    with the punctual ones. Two simpler gates let bursts through, measured at a cap of 80:
    a one-second sliding window (once full it frees the next send the moment the oldest
    leaves, so a burst repeats every second: 83 in one second), and times reserved ahead
    (threads a 40 ms stall held back all wake together: 81). Here a turn is taken only one
    interval after the previous turn was actually taken, so no stall can bunch them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = -math.inf

    def turn(self) -> float:
        """Wait for a turn; returns its time (monotonic)."""
        spacing = interval()
        while True:
            with self._lock:
                now = time.monotonic()
                wait = self._last + spacing - now
                if wait <= 0:
                    self._last = now
                    return now
            time.sleep(wait)


_spacing = _Spacing()


def local_turn() -> None:
    """Block until this process may send one more message: sends evenly spaced at the cap."""
    _spacing.turn()


def take_one() -> float | None:
    """One slot for a single send (the sweeper): seconds to wait for it, None while paused."""
    with transaction.atomic():
        pace = Pace.lock()
        if pace.paused_until:
            pace.save()  # keep the inbound charged
            return None
        [slot] = pace.take(1)
    return max(0.0, (slot - pace.now).total_seconds())


def is_paused() -> bool:
    """Whether Meta's throughput error has paused the number (a read, no lock)."""
    return SendingPace.objects.filter(number=_number(), paused_until__gt=timezone.now()).exists()


def pause_number(*, until: datetime) -> None:
    """Meta said the number sends too fast (130429): nobody sends for it before `until`."""
    with transaction.atomic():
        pace = Pace.lock()
        if pace.row.paused_until is None or pace.row.paused_until < until:
            pace.row.paused_until = until
        pace.save()
