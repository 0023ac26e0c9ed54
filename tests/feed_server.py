"""A real HTTP server on 127.0.0.1 for feed tests (fetcher, poller, …), with per-test routes.

It runs in a background thread, so it works the same from sync and async tests::

    def test_x(feed_server: FeedServer) -> None:
        feed_server.route("/feed.xml", body=RSS, etag='"v1"')        # 304 when If-None-Match matches
        feed_server.route("/old", status=301, redirect_to="/feed.xml")
        feed_server.route("/slow", body=RSS, delay=5)                 # sleeps before answering
        feed_server.route("/drip", body=RSS, chunk_size=10, chunk_delay=0.5)  # trickles the body
        feed_server.route("/gz", body=RSS, gzip=True)                 # Content-Encoding: gzip
        feed_server.route("/dyn", handler=lambda req: Route(body=make_feed(req)))
        url = feed_server.url("/feed.xml")
        ...
        assert feed_server.requests[-1].headers["if-none-match"] == '"v1"'
        assert feed_server.max_in_flight <= 4

Routes are matched on the path without the query string; an unknown path answers 404.
A `Route` is mutable: change ``route.body`` between polls to publish a new feed version.
Sleeps are cut short when the server stops, so a test never waits for a slow route to finish.
"""

from __future__ import annotations

import gzip as gzip_module
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import pytest


@dataclass
class Route:
    """How the server answers one path. Every field can be changed while the server runs."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/rss+xml; charset=utf-8"
    etag: str | None = None  # sent as ETag; a matching If-None-Match gets 304
    last_modified: str | None = None  # sent as Last-Modified; If-Modified-Since >= it gets 304
    delay: float = 0.0  # seconds to wait before the status line
    gzip: bool = False  # gzip the body and send Content-Encoding: gzip
    redirect_to: str | None = None  # Location header (a path or absolute URL); use with status 30x
    chunk_size: int = 0  # > 0: write the body in pieces of this many bytes …
    chunk_delay: float = 0.0  # … sleeping this long between pieces
    send_content_length: bool = True  # False: no Content-Length, the body ends when the connection closes
    handler: Callable[[RecordedRequest], Route] | None = None  # computes the answer per request
    reset: bool = False  # drop the connection with a TCP RST instead of answering
    filler_bytes: int = 0  # after `body`, stream this many more bytes (generated, never held in memory)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-cased names
    client_port: int = 0  # the client's end of the connection: requests on one connection share it
    at: float = 0.0  # time.monotonic() on arrival


class FeedServer:
    """Threaded loopback HTTP server; start with ``with FeedServer() as server`` or the fixture."""

    def __init__(self, *, keep_alive: bool = False, host: str = "127.0.0.1") -> None:
        """`keep_alive`: answer as HTTP/1.1 and keep connections open between requests (default: HTTP/1.0,
        one request per connection). `host`: a loopback address (any of 127.0.0.0/8 on Linux), so that
        tests can play several sites (the fetcher limits requests per host)."""
        self.keep_alive = keep_alive
        self.host = host
        self.routes: dict[str, Route] = {}
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.feed_server = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="feed-server", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, **options: Any) -> Route:
        """Set (or replace) how `path` is answered; see `Route` for the options."""
        if options.get("redirect_to") is not None and "status" not in options:
            options["status"] = 302
        route = Route(**options)
        self.routes[path] = route
        return route

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == path]

    def reset_stats(self) -> None:
        with self._lock:
            self.requests.clear()
            self.hits.clear()
            self.max_in_flight = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FeedServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; False when stopping."""
        return seconds <= 0 or not self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    feed_server: FeedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-body (timeouts, size caps) are expected here


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        if self.server.feed_server.keep_alive:
            self.protocol_version = "HTTP/1.1"  # then a request without "Connection: close" keeps it open

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_POST(self) -> None:
        # The request body is read and dropped: POST routes exist to play a broken Bot API server.
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self._answer(send_body=True)

    def _answer(self, *, send_body: bool) -> None:
        fs = self.server.feed_server
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            client_port=int(self.client_address[1]),
            at=time.monotonic(),
        )
        path = urlsplit(self.path).path
        with fs._lock:
            fs.requests.append(request)
            fs.hits[path] += 1
            fs.in_flight += 1
            fs.max_in_flight = max(fs.max_in_flight, fs.in_flight)
        self._counted = True
        try:
            route = fs.routes.get(path)
            if route is not None and route.handler is not None:
                route = route.handler(request)
            if route is None:
                route = Route(status=404, body=b"not found", content_type="text/plain")
            if not fs._sleep(route.delay):
                return
            if route.reset:
                # SO_LINGER with timeout 0 makes close() send RST: the client sees "connection reset".
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return
            self._send(route, request, send_body=send_body)
        finally:
            self._leave()

    def _leave(self) -> None:
        """Stop counting this request as in flight, once. Called just before the answer is written: a client
        can only start its next request after reading an answer, so counting up to the end of the write (this
        thread may be descheduled after the last byte) would report overlap the client never caused."""
        if getattr(self, "_counted", False):
            self._counted = False
            with self.server.feed_server._lock:
                self.server.feed_server.in_flight -= 1

    def _send(self, route: Route, request: RecordedRequest, *, send_body: bool) -> None:
        fs = self.server.feed_server
        headers = dict(route.headers)
        if route.etag is not None:
            headers.setdefault("ETag", route.etag)
        if route.last_modified is not None:
            headers.setdefault("Last-Modified", route.last_modified)
        if route.redirect_to is not None:
            headers.setdefault("Location", route.redirect_to)
        if route.status < 300 and _not_modified(route, request):
            route = replace(route, status=304, body=b"")
        body = route.body
        if route.status == 304:
            body = b""
        elif route.gzip:
            body = gzip_module.compress(body)
            headers.setdefault("Content-Encoding", "gzip")
        if route.content_type is not None and route.status != 304:
            headers.setdefault("Content-Type", route.content_type)
        if route.send_content_length and not route.filler_bytes:
            headers.setdefault("Content-Length", str(len(body)))
        elif route.status != 304:
            self.close_connection = True  # the body ends where the connection does
            headers.setdefault("Connection", "close")

        self._leave()
        self.send_response(route.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body and route.filler_bytes:
            self._send_filler(body, route.filler_bytes)
            return
        if not send_body or not body:
            return
        step = route.chunk_size if route.chunk_size > 0 else len(body)
        for start in range(0, len(body), step):
            if start and not fs._sleep(route.chunk_delay):
                return
            self.wfile.write(body[start : start + step])
            self.wfile.flush()

    def _send_filler(self, head: bytes, size: int) -> None:
        chunk = b"<!-- " + b"x" * 65_000 + b" -->\n"
        try:
            self.wfile.write(head)
            sent = 0
            while sent < size:
                piece = chunk[: size - sent]
                self.wfile.write(piece)
                sent += len(piece)
        except OSError:
            pass  # the client stopped reading at its size cap


def _not_modified(route: Route, request: RecordedRequest) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and route.etag is not None:
        wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return route.etag.removeprefix("W/") in wanted or "*" in wanted
    since = request.headers.get("if-modified-since")
    if since is not None and route.last_modified is not None:
        if since == route.last_modified:
            return True
        try:
            return parsedate_to_datetime(since) >= parsedate_to_datetime(route.last_modified)
        except (TypeError, ValueError):
            return False
    return False


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started `FeedServer`, stopped after the test."""
    with FeedServer() as server:
        yield server
