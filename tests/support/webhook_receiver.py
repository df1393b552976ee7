"""A webhook receiver served over real HTTP on 127.0.0.1, standing in for an n8n Webhook node.

Every POST is checked with the `standardwebhooks` library (the reference implementation, not
our signing code) against the secret it is given, and recorded with the outcome:

    with WebhookReceiver() as receiver:              # or the `receiver` pytest fixture
        receiver.secret = subscription.secret         # verify with this secret
        receiver.answer_next(2, status=500)           # two 500s, then 200 again
        receiver.answer_next(1, status=410)           # "Gone"
        receiver.stop(); receiver.start()             # connection refused, then back

    receiver.events()        # parsed bodies of the verified POSTs answered 2xx, in order
    receiver.requests        # every Received (headers, body, verified, error, answer)
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

__all__ = ["Received", "WebhookReceiver"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    error: str = ""
    status: int = 0

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class _Answer:
    status: int
    remaining: int
    body: bytes = field(default=b"")


class WebhookReceiver:
    """The receiver. Thread-safe; may be reconfigured while requests are in flight."""

    def __init__(self, *, secret: str = "", port: int = 0) -> None:
        self.secret = secret
        self.requests: list[Received] = []
        self._answers: list[_Answer] = []
        self._lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> WebhookReceiver:
        """Listen (again, on the same port after `stop`)."""
        if self._server is None:
            server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler_for(self))
            server.daemon_threads = True
            self._port = server.server_address[1]
            self._server = server
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()
        return self

    def stop(self) -> None:
        """Stop listening: senders now get connection refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/webhook/raffles"

    # --- behaviour ------------------------------------------------------------------------
    def answer_next(self, n: int, *, status: int, body: bytes = b"") -> None:
        with self._lock:
            self._answers.append(_Answer(status=status, remaining=n, body=body))

    # --- what happened ----------------------------------------------------------------------
    def accepted(self) -> list[Received]:
        """Verified POSTs answered 2xx, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.verified and 200 <= r.status < 300]

    def events(self) -> list[dict[str, Any]]:
        return [r.json for r in self.accepted()]

    def unverified(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if not r.verified]

    # --- internals ----------------------------------------------------------------------------
    def _verify(self, body: bytes, headers: dict[str, str]) -> tuple[bool, str]:
        try:
            Webhook(self.secret).verify(body, headers)
        except (WebhookVerificationError, ValueError) as exc:
            return False, str(exc)
        return True, ""

    def _next_answer(self, verified: bool) -> _Answer:
        with self._lock:
            self._answers = [a for a in self._answers if a.remaining > 0]
            if self._answers:
                answer = self._answers[0]
                answer.remaining -= 1
                return answer
        # A real receiver refuses a bad signature.
        return _Answer(status=200 if verified else 401, remaining=0, body=b'{"ok":true}')


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified, error = receiver._verify(body, headers)
            answer = receiver._next_answer(verified)
            received = Received(
                path=self.path,
                headers=headers,
                body=body,
                verified=verified,
                error=error,
                status=answer.status,
            )
            with receiver._lock:
                receiver.requests.append(received)
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

    return Handler
