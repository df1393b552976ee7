"""The fake Graph API as a process of its own, steered over a second HTTP port.

    python -m tests.e2e.graph_server --port 0 --control-port 0 --ready-file ready.json

It is `tests.support.fake_graph.FakeGraph` (Meta's shapes, media, recorded requests) plus:
- a control API on its own port, so it keeps answering while the Graph port refuses;
- refusals that are real: `POST /refuse {"seconds": s}` closes the listening socket (connection
  refused), drops requests arriving on keep-alive connections opened before (closed unanswered,
  never accepted), and listens again on the same port after `s` seconds;
- the id Meta "gave" each accepted message, so the harness can match sends to outbox rows.

Every fault it offers is a refusal (5xx, 429/130429, connection refused): nothing is accepted
and then answered late, so any duplicate the harness sees is a real bug.

Control API (JSON): GET /health, GET /log?since=N (message POSTs from index N), POST /media
(raw body, Content-Type: the file's type; answers {"id"}), POST /fail {"seconds", "status",
"code"}, POST /refuse {"seconds"}, POST /heal, GET /stats.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.fake_graph import Failure, FakeGraph, RecordedRequest

__all__ = ["StandaloneGraph", "main"]


class StandaloneGraph(FakeGraph):
    """FakeGraph with real refusals and the wamid handed out for each accepted message."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._current = threading.local()
        self.wamid_of: dict[int, str] = {}  # id(RecordedRequest) -> wamid given
        self.refusing_until = 0.0
        self.refusals = 0

    def refuse_for(self, seconds: float) -> None:
        """Connection refused for `seconds`: no listener; old keep-alive connections dropped.

        A request already being answered finishes normally (it was accepted before the
        outage), so the fake never accepts a message without its client hearing so.
        """
        with self._lock:
            server = self._server
            self._server = None
            self.refusing_until = time.time() + seconds
            self.refusals += 1
        if server is not None:
            server.shutdown()
            server.server_close()
        timer = threading.Timer(seconds, self._listen_again)
        timer.daemon = True
        timer.start()

    def _listen_again(self) -> None:
        for _ in range(100):
            try:
                self.start()
                return
            except OSError:  # the port is briefly not reusable
                time.sleep(0.1)

    def _next_failure(self, path: str) -> Failure | None:
        if time.time() < self.refusing_until:
            # A request on a connection opened before the outage: close it unanswered.
            return Failure(drop=True, remaining=1)
        return super()._next_failure(path)

    # The handler records the request, then asks for a wamid on the same thread.
    def _record(self, request: RecordedRequest) -> None:
        self._current.request = request
        super()._record(request)

    def _new_wamid(self) -> str:
        wamid = super()._new_wamid()
        request = getattr(self._current, "request", None)
        if request is not None:
            with self._lock:
                self.wamid_of[id(request)] = wamid
        return wamid

    def log_since(self, since: int) -> tuple[int, list[dict[str, Any]]]:
        with self._lock:
            posts = [r for r in self.requests if r.method == "POST"]
            chunk = posts[since:]
            items = []
            for offset, r in enumerate(chunk):
                try:
                    body = r.json
                except ValueError:
                    body = None
                items.append(
                    {
                        "i": since + offset,
                        "path": r.path,
                        "status": r.status,
                        "at": r.at,
                        "body": body,
                        "wamid": self.wamid_of.get(id(r)),
                    }
                )
            return since + len(chunk), items

    def stats(self) -> dict[str, Any]:
        with self._lock:
            statuses: dict[str, int] = {}
            for r in self.requests:
                key = f"{r.method} {r.status}"
                statuses[key] = statuses.get(key, 0) + 1
            return {
                "requests": len(self.requests),
                "by_status": statuses,
                "refusals": self.refusals,
                "listening": self._server is not None,
            }


def _control_handler(graph: StandaloneGraph) -> type[BaseHTTPRequestHandler]:
    class Control(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, payload: Any, status: int = 200) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/health":
                self._answer({"ok": True, "graph_port": graph.port})
            elif url.path == "/log":
                since = int(parse_qs(url.query).get("since", ["0"])[0])
                nxt, items = graph.log_since(since)
                self._answer({"next": nxt, "items": items})
            elif url.path == "/stats":
                self._answer(graph.stats())
            else:
                self._answer({"error": "unknown"}, 404)

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            raw = self._body()
            if path == "/media":
                mime = self.headers.get("Content-Type", "application/octet-stream")
                self._answer({"id": graph.add_media(raw, mime)})
                return
            data = json.loads(raw) if raw else {}
            if path == "/fail":
                graph.fail_for(
                    float(data.get("seconds", 5)),
                    status=int(data.get("status", 500)),
                    code=data.get("code"),
                    paths=str(data.get("paths", "/messages")),
                )
            elif path == "/refuse":
                graph.refuse_for(float(data.get("seconds", 5)))
            elif path == "/heal":
                graph.heal()
            else:
                self._answer({"error": "unknown"}, 404)
                return
            self._answer({"ok": True})

    return Control


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--access-token", default="e2e-token")
    parser.add_argument("--phone-number-id", default="106540352242922")
    parser.add_argument("--ready-file", type=Path, help="Where to write the ports once listening.")
    args = parser.parse_args(argv)

    graph = StandaloneGraph(
        access_token=args.access_token, phone_number_id=args.phone_number_id, port=args.port
    ).start()
    control = ThreadingHTTPServer(("127.0.0.1", args.control_port), _control_handler(graph))
    control.daemon_threads = True
    ready = {"graph_port": graph.port, "control_port": control.server_address[1]}
    if args.ready_file:
        args.ready_file.write_text(json.dumps(ready))
    print(json.dumps(ready), flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serving = threading.Thread(
        target=control.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    serving.start()
    stop.wait()
    control.shutdown()
    graph.stop()


if __name__ == "__main__":
    main()
