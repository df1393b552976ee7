"""Run the delivery dispatcher (`whatsapp.dispatcher`) until SIGTERM / Ctrl-C.

`serve` starts one; in production run one per host next to the web servers (see README). Safe
to run several: every row is claimed atomically and Meta's cap is shared through the database.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand

from whatsapp.dispatcher import Dispatcher


class Command(BaseCommand):
    help = "Deliver outbound WhatsApp messages as soon as they are queued (long-running)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--threads", type=int, default=None, help="Sender threads ($WHATSAPP_DELIVERY_THREADS)."
        )
        parser.add_argument("--once", action="store_true", help="Send what is due now, then exit.")

    def handle(self, *args: Any, threads: int | None, once: bool, **options: Any) -> None:
        if once:
            dispatcher = Dispatcher(threads=threads, listen=False)
            try:
                sent = dispatcher.drain()
            finally:
                dispatcher.close()
            self.stdout.write(f"attempted {sent} message(s)")
            return
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        Dispatcher(threads=threads).run(stop)
