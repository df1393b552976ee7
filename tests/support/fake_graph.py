"""A fake WhatsApp Cloud (Graph) API served over real HTTP on 127.0.0.1, for tests and load runs.

It records every request, answers in Meta's shapes, serves media, and can be told to fail:

    with FakeGraph() as graph:                       # or the `fake_graph` pytest fixture
        graph.fail_next(2, status=500)                # two 500s, then normal again
        graph.fail_next(1, status=400, code=130429)   # Meta's rate limit (error body shape)
        graph.add_template("payment_confirmed", "es", body="Hola {{1}}, pedido #{{2}}")
        graph.closed_windows.add("5215550001")        # free form refused (131047), templates not
        graph.fail_for(3.0, status=503)               # every request for 3 seconds
        graph.delay_next(1, seconds=2)                # answer late: client read timeouts
        graph.stop(); graph.start()                   # connection refused, then back
        media_id = graph.add_media(b"...", "image/jpeg")

    graph.sent()        # JSON bodies of messages Meta "accepted", in order
    graph.requests      # every RecordedRequest (method, path, headers, body, response status)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Failure", "FakeGraph", "RecordedRequest", "error_body"]

API_VERSION = "v23.0"

# Meta's titles for the error codes tests use most.
ERROR_TITLES = {
    0: "AuthException",
    100: "Invalid parameter",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0  # what the fake answered (0: no answer, connection dropped)
    at: float = field(default_factory=time.time)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Failure:
    """One way to answer badly: an HTTP error (with a Meta error code) or a late answer."""

    status: int = 500
    code: int | None = None
    delay: float = 0.0  # seconds to wait before answering normally (timeouts)
    drop: bool = False  # close the connection without answering
    remaining: int | None = None  # requests left, or None for "until `until`"
    until: float | None = None
    paths: str = "/messages"  # only requests whose path contains this

    def active(self, now: float) -> bool:
        if self.remaining is not None:
            return self.remaining > 0
        return self.until is not None and now < self.until


class FakeGraph:
    """The fake server. Thread-safe; every method may be called while requests are in flight."""

    def __init__(
        self,
        *,
        access_token: str = "test-token",
        phone_number_id: str = "1234567890",
        port: int = 0,
    ) -> None:
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.requests: list[RecordedRequest] = []
        self._failures: list[Failure] = []
        self._media: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        # Message ids to hand out before generated ones (tests that need to know them ahead).
        self.next_message_ids: list[str] = []
        # The business account's message templates, served a page at a time like Meta does.
        self.business_account_id = "waba-1"
        self.templates: list[dict[str, Any]] = []
        self.template_page_size = 100
        # Recipients whose 24-hour window is closed: free-form messages get 131047.
        self.closed_windows: set[str] = set()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeGraph:
        """Listen (again, on the same port after `stop`)."""
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler_for(self))
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: clients now get connection refused."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def __enter__(self) -> FakeGraph:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """What WHATSAPP_GRAPH_URL should be (includes the API version, like Meta's)."""
        return f"{self.origin}/{API_VERSION}"

    # --- behaviour ------------------------------------------------------------------------
    def fail_next(
        self,
        n: int,
        *,
        status: int = 500,
        code: int | None = None,
        drop: bool = False,
        paths: str = "/messages",
    ) -> None:
        with self._lock:
            self._failures.append(
                Failure(status=status, code=code, drop=drop, remaining=n, paths=paths)
            )

    def fail_for(
        self, seconds: float, *, status: int = 500, code: int | None = None, paths: str = "/"
    ) -> None:
        with self._lock:
            self._failures.append(
                Failure(status=status, code=code, until=time.time() + seconds, paths=paths)
            )

    def delay_next(self, n: int, *, seconds: float, paths: str = "/messages") -> None:
        """Answer the next n requests normally but late (Meta accepted, the client gave up)."""
        with self._lock:
            self._failures.append(Failure(delay=seconds, remaining=n, paths=paths))

    def heal(self) -> None:
        with self._lock:
            self._failures.clear()

    def add_media(self, content: bytes, mime_type: str, *, media_id: str | None = None) -> str:
        media_id = media_id or f"media{next(self._ids)}"
        with self._lock:
            self._media[media_id] = (content, mime_type)
        return media_id

    def add_template(
        self,
        name: str,
        language: str,
        *,
        body: str,
        status: str = "APPROVED",
        category: str = "UTILITY",
        header: str = "",
    ) -> dict[str, Any]:
        components: list[dict[str, Any]] = [{"type": "BODY", "text": body}]
        if header:
            components.insert(0, {"type": "HEADER", "format": "TEXT", "text": header})
        template = {
            "id": str(next(self._ids) + 10_000),
            "name": name,
            "language": language,
            "status": status,
            "category": category,
            "components": components,
        }
        with self._lock:
            self.templates.append(template)
        return template

    # --- what happened ----------------------------------------------------------------------
    def sent(self) -> list[dict[str, Any]]:
        """Bodies of message POSTs that were accepted (2xx), in arrival order."""
        with self._lock:
            return [
                r.json
                for r in self.requests
                if r.method == "POST" and r.path.endswith("/messages") and 200 <= r.status < 300
            ]

    def message_posts(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    # --- internals ------------------------------------------------------------------------
    def _next_failure(self, path: str) -> Failure | None:
        now = time.time()
        with self._lock:
            self._failures = [f for f in self._failures if f.active(now)]
            for failure in self._failures:
                if failure.paths in path:
                    if failure.remaining is not None:
                        failure.remaining -= 1
                    return failure
        return None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _new_wamid(self) -> str:
        with self._lock:
            if self.next_message_ids:
                return self.next_message_ids.pop(0)
        return f"wamid.FAKE{next(self._ids):012d}"


def error_body(code: int, message: str = "") -> dict[str, Any]:
    title = ERROR_TITLES.get(code, "Error")
    return {
        "error": {
            "message": f"(#{code}) {message or title}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": message or title},
            "fbtrace_id": "AFakeTraceId",
        }
    }


def _handler_for(graph: FakeGraph) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without this, Nagle plus delayed ACKs
        # add ~40 ms to every request.
        disable_nagle_algorithm = True
        _late_by = 0.0

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def _handle(self, method: str) -> None:
            self._late_by = 0.0
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            recorded = RecordedRequest(
                method=method, path=self.path, headers=dict(self.headers.items()), body=body
            )
            graph._record(recorded)
            failure = graph._next_failure(path)
            if failure is not None:
                if failure.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                if failure.delay:
                    # Decide (and record) the answer now, write it late: Meta accepted the
                    # message even though the client may have stopped waiting.
                    self._late_by = failure.delay
                else:
                    code = failure.code if failure.code is not None else 131000
                    self._reply(recorded, failure.status, error_body(code))
                    return
            if self.headers.get("Authorization") != f"Bearer {graph.access_token}":
                self._reply(recorded, 401, error_body(0, "Invalid OAuth access token"))
                return
            self._route(method, path, body, recorded)

        def _route(self, method: str, path: str, body: bytes, recorded: RecordedRequest) -> None:
            parts = [p for p in path.split("/") if p]
            if parts and parts[0] == API_VERSION:
                parts = parts[1:]
            if method == "POST" and len(parts) == 2 and parts[1] == "messages":
                if parts[0] != graph.phone_number_id:
                    self._reply(recorded, 400, error_body(100, "Unknown phone number id"))
                    return
                self._send_message(body, recorded)
                return
            if method == "GET" and len(parts) == 2 and parts[1] == "message_templates":
                self._templates_page(parts[0], recorded)
                return
            if method == "GET" and len(parts) == 2 and parts[0] == "media-download":
                self._download(parts[1], recorded)
                return
            if method == "GET" and len(parts) == 1:
                self._media_info(parts[0], recorded)
                return
            self._reply(recorded, 404, error_body(100, "Unknown path"))

        def _send_message(self, body: bytes, recorded: RecordedRequest) -> None:
            try:
                data = json.loads(body)
            except ValueError:
                self._reply(recorded, 400, error_body(100, "Invalid JSON"))
                return
            if not isinstance(data, dict) or data.get("messaging_product") != "whatsapp":
                self._reply(recorded, 400, error_body(100, "messaging_product is required"))
                return
            if data.get("status") == "read":
                if not data.get("message_id"):
                    self._reply(recorded, 400, error_body(100, "message_id is required"))
                    return
                self._reply(recorded, 200, {"success": True})
                return
            to = str(data.get("to", ""))
            if data.get("type") == "template":
                problem = self._template_problem(data.get("template"))
                if problem:
                    self._reply(recorded, 400, error_body(*problem))
                    return
            elif to in graph.closed_windows:
                self._reply(recorded, 400, error_body(131047))
                return
            self._reply(
                recorded,
                200,
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": graph._new_wamid()}],
                },
            )

        def _template_problem(self, template: Any) -> tuple[int, str] | None:
            """Meta's checks on a template send: it exists, is approved, gets its parameters."""

            if not isinstance(template, dict):
                return 100, "template is required"
            name = template.get("name")
            code = (template.get("language") or {}).get("code")
            with graph._lock:
                found = [t for t in graph.templates if t["name"] == name and t["language"] == code]
            if not found or found[0]["status"] != "APPROVED":
                return 132001, f"template {name} ({code}) not found or not approved"
            body = next(c for c in found[0]["components"] if c["type"] == "BODY")
            wanted = len(set(re.findall(r"\{\{\s*(\w+)\s*\}\}", body["text"])))
            given = sum(
                len(c.get("parameters") or [])
                for c in template.get("components") or []
                if c.get("type") == "body"
            )
            if wanted != given:
                return 132000, f"expected {wanted} parameters, got {given}"
            return None

        def _templates_page(self, account: str, recorded: RecordedRequest) -> None:
            from urllib.parse import parse_qs

            if account != graph.business_account_id:
                self._reply(recorded, 400, error_body(100, "Unknown business account"))
                return
            query = parse_qs(urlsplit(recorded.path).query)
            start = int((query.get("after") or ["0"])[0])
            size = min(int((query.get("limit") or ["25"])[0]), graph.template_page_size)
            with graph._lock:
                page = graph.templates[start : start + size]
                more = start + size < len(graph.templates)
            answer: dict[str, Any] = {
                "data": page,
                "paging": {"cursors": {"before": str(start), "after": str(start + size)}},
            }
            if more:
                answer["paging"]["next"] = (
                    f"{graph.base_url}/{account}/message_templates?limit={size}"
                    f"&after={start + size}"
                )
            self._reply(recorded, 200, answer)

        def _media_info(self, media_id: str, recorded: RecordedRequest) -> None:
            media = graph._media.get(media_id)
            if media is None:
                self._reply(recorded, 404, error_body(100, "Unknown media id"))
                return
            content, mime_type = media
            self._reply(
                recorded,
                200,
                {
                    "messaging_product": "whatsapp",
                    "url": f"{graph.origin}/media-download/{media_id}",
                    "mime_type": mime_type,
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "file_size": str(len(content)),
                    "id": media_id,
                },
            )

        def _download(self, media_id: str, recorded: RecordedRequest) -> None:
            media = graph._media.get(media_id)
            if media is None:
                self._reply(recorded, 404, error_body(100, "Unknown media id"))
                return
            content, mime_type = media
            recorded.status = 200
            self.send_response(200)
            self.send_header("Content-Type", mime_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def _reply(self, recorded: RecordedRequest, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            recorded.status = status
            if self._late_by:
                time.sleep(self._late_by)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting
                self.close_connection = True

    return Handler
