"""A TCP proxy on 127.0.0.1 between the app and PostgreSQL that a test can cut, to fake an outage.

    with CuttableProxy("127.0.0.1", 5432) as proxy:   # point DATABASE_URL at proxy.port
        proxy.cut("reset")       # close every open connection and refuse new ones
        proxy.cut("blackhole")   # keep connections open but pass nothing (packets dropped)
        proxy.restore()          # pass traffic again

It works on a shared PostgreSQL server without stopping it. A cut closes pooled connections too
(CONN_MAX_AGE keeps them open across requests). Restoring after a blackhole closes the held
connections: the server behind a failover knows nothing of them, and a userspace proxy ACKs every
byte, so the app's keepalives could not notice them the way they notice a vanished host.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
import time
from typing import Literal

Mode = Literal["pass", "reset", "blackhole"]


class CuttableProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode: Mode = "pass"
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._peers: dict[socket.socket, socket.socket] = {}
        self._listener: socket.socket | None = None
        self._port = 0
        self._running = False
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self.connections_seen = 0
        self._drop_held_after: float | None = None
        self._held_since: dict[socket.socket, float] = {}

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> CuttableProxy:
        self._listen()
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="db-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        self._wake()
        if self._thread:
            self._thread.join(5)
        with self._lock:
            self._close_all()
            self._unlisten()

    def __enter__(self) -> CuttableProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    # --- the switch ---------------------------------------------------------------------------
    def cut(
        self, mode: Literal["reset", "blackhole"], *, drop_held_after: float | None = None
    ) -> None:
        """`drop_held_after`: in a blackhole, reset a connection held this long. A real dropped
        link is noticed by the app's kernel (tcp_user_timeout, keepalives); here the proxy's
        kernel acknowledges every byte, so the proxy stands in for that timeout."""
        with self._lock:
            self.mode = mode
            self._drop_held_after = drop_held_after
            now = time.monotonic()
            self._held_since = dict.fromkeys(self._peers, now)
            if mode == "reset":
                self._close_all(rst=True)
                self._unlisten()  # connection refused
            else:
                # Held, never read: nothing passes (and no busy loop on unread data).
                for sock in self._peers:
                    with contextlib.suppress(KeyError, ValueError):
                        self._selector.unregister(sock)
        self._wake()

    def restore(self) -> None:
        with self._lock:
            if self.mode == "blackhole":
                self._close_all(rst=True)
            self.mode = "pass"
            if self._listener is None:
                self._listen()
        self._wake()

    # --- internals ----------------------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self._port))
        listener.listen(128)
        listener.setblocking(False)
        self._port = listener.getsockname()[1]
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, "accept")

    def _unlisten(self) -> None:
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _close_all(self, *, rst: bool = False) -> None:
        for sock in list(self._peers):
            self._drop(sock, rst=rst)

    def _drop(self, sock: socket.socket, *, rst: bool = False) -> None:
        peer = self._peers.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            self._peers.pop(s, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(s)
            if rst:  # SO_LINGER 0: the close sends RST, as a restarted server does
                with contextlib.suppress(OSError):
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        self.connections_seen += 1
        if self.mode == "blackhole":
            # Accepted by the kernel, never answered: the app's connect timeout must fire.
            client.setblocking(False)
            self._peers[client] = client
            self._held_since[client] = time.monotonic()
            return
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        client.setblocking(False)
        server.setblocking(False)
        self._peers[client] = server
        self._peers[server] = client
        self._selector.register(client, selectors.EVENT_READ, "data")
        self._selector.register(server, selectors.EVENT_READ, "data")

    def _loop(self) -> None:
        while self._running:
            if self.mode == "blackhole" and self._drop_held_after is not None:
                with self._lock:
                    now = time.monotonic()
                    for sock, since in list(self._held_since.items()):
                        if now - since >= self._drop_held_after:
                            self._held_since.pop(sock, None)
                            if sock in self._peers:
                                self._drop(sock, rst=True)
            for key, _ in self._selector.select(timeout=0.5):
                with self._lock:
                    kind = key.data
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if kind == "wake":
                        sock.recv(4096)
                    elif kind == "accept":
                        if sock is self._listener:
                            self._accept()
                    elif sock in self._peers:
                        self._pump(sock)

    def _pump(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(sock)
            return
        peer = self._peers[sock]
        try:
            peer.setblocking(True)
            peer.sendall(data)
            peer.setblocking(False)
        except OSError:
            self._drop(sock)
