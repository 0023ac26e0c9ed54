"""Our httpx transport over an httpcore pool (bot/feeds/transport.py): errors, streaming, no private httpx API.

The guarded client's transport must be built from public names only, so an httpx upgrade cannot quietly
drop the SSRF guard; and the errors it raises must be httpx's, so the fetcher describes them as before.
Real sockets on 127.0.0.1 (tests/feed_server.py and a bare asyncio server), never the internet.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpcore
import httpx
import pytest

from bot.errors import FetchError
from bot.feeds.fetcher import Fetcher
from bot.feeds.transport import BackendTransport, HostPoolTransport, translate
from tests.feed_server import FeedServer, feed_server  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage")
BODY = b"<rss><channel><title>T</title></channel></rss>" * 50


def _client(*, timeout: httpx.Timeout, max_connections: int = 4) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    transport = BackendTransport(network_backend=httpcore.AnyIOBackend(), limits=limits)
    return httpx.AsyncClient(transport=transport, timeout=timeout, trust_env=False)


# --- no private httpx/httpcore API ------------------------------------------------------------------------


def _sources() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]


def test_no_module_imports_or_touches_private_httpx_or_httpcore_names() -> None:
    offences: list[str] = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for module in modules:
                root, *rest = module.split(".")
                if root in ("httpx", "httpcore") and any(part.startswith("_") for part in rest):
                    offences.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module}")
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("httpx", "httpcore")
                and node.attr.startswith("_")
            ):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert offences == []


def test_the_feed_stage_touches_no_private_attribute_of_another_object() -> None:
    # `transport._pool = …` was the old override; only an object's own (self/cls) private state is ours.
    allowed = {("zlib", "_Decompress")}  # the decompressor's type, named only for the annotation
    offences: list[str] = []
    for path in sorted((ROOT / "bot" / "feeds").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
                continue
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if owner in ("self", "cls") or (owner, node.attr) in allowed:
                continue
            offences.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert offences == []


def test_the_scan_would_catch_the_old_override() -> None:
    old = "transport = httpx.AsyncHTTPTransport()\ntransport._pool = httpcore.AsyncConnectionPool()\n"
    hits = [
        n for n in ast.walk(ast.parse(old)) if isinstance(n, ast.Attribute) and n.attr == "_pool"
    ]  # the same test as above, on the code it replaced
    assert hits and isinstance(hits[0].value, ast.Name) and hits[0].value.id == "transport"


# --- exception translation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (httpcore.ConnectTimeout, httpx.ConnectTimeout),
        (httpcore.ReadTimeout, httpx.ReadTimeout),
        (httpcore.WriteTimeout, httpx.WriteTimeout),
        (httpcore.PoolTimeout, httpx.PoolTimeout),
        (httpcore.TimeoutException, httpx.TimeoutException),
        (httpcore.ConnectError, httpx.ConnectError),
        (httpcore.ReadError, httpx.ReadError),
        (httpcore.WriteError, httpx.WriteError),
        (httpcore.NetworkError, httpx.NetworkError),
        (httpcore.ProxyError, httpx.ProxyError),
        (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
        (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
        (httpcore.LocalProtocolError, httpx.LocalProtocolError),
        (httpcore.ProtocolError, httpx.ProtocolError),
    ],
)
def test_each_httpcore_error_becomes_the_most_specific_httpx_error(
    source: type[Exception], target: type[httpx.HTTPError]
) -> None:
    mapped = translate(source("boom"))
    assert type(mapped) is target
    assert str(mapped) == "boom"


def test_foreign_errors_are_not_translated() -> None:
    assert translate(ValueError("x")) is None


# --- real sockets on 127.0.0.1 ---------------------------------------------------------------------------


async def test_a_body_streams_through_and_closing_it_frees_the_connection(
    feed_server: FeedServer,  # noqa: F811
) -> None:
    feed_server.route("/feed.xml", body=BODY, chunk_size=100)
    # One connection and no patience for the pool: the second request only gets through if closing the
    # first response's stream gave its connection back.
    async with _client(timeout=httpx.Timeout(5.0, pool=0.5), max_connections=1) as client:
        for _ in range(2):
            async with client.stream("GET", feed_server.url("/feed.xml")) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("application/rss+xml")
                assert b"".join([chunk async for chunk in response.aiter_raw()]) == BODY
            async with client.stream("GET", feed_server.url("/feed.xml")) as response:
                assert response.status_code == 200  # closed unread
    assert len(feed_server.requests_to("/feed.xml")) == 4


async def test_a_reset_connection_is_an_httpx_transport_error(feed_server: FeedServer) -> None:  # noqa: F811
    feed_server.route("/reset", reset=True)
    async with _client(timeout=httpx.Timeout(5.0)) as client:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)) as caught:
            await client.get(feed_server.url("/reset"))
    assert isinstance(caught.value.__cause__, httpcore.ReadError | httpcore.RemoteProtocolError)


async def test_a_server_that_hangs_before_answering_is_a_read_timeout(feed_server: FeedServer) -> None:  # noqa: F811
    feed_server.route("/hang", body=BODY, delay=5)
    async with _client(timeout=httpx.Timeout(0.3)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(feed_server.url("/hang"))


async def test_a_body_that_stalls_midway_is_a_read_timeout_from_the_stream(
    feed_server: FeedServer,  # noqa: F811
) -> None:
    feed_server.route("/stall", body=BODY, chunk_size=100, chunk_delay=5)
    async with (
        _client(timeout=httpx.Timeout(0.3)) as client,
        client.stream("GET", feed_server.url("/stall")) as response,
    ):
        assert response.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            async for _chunk in response.aiter_raw():
                pass


async def test_a_closed_port_is_a_connect_error() -> None:
    port = await _free_port()
    async with _client(timeout=httpx.Timeout(2.0)) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(f"http://127.0.0.1:{port}/")
    assert isinstance(caught.value.__cause__, httpcore.ConnectError)


async def test_garbage_instead_of_http_is_a_remote_protocol_error() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HELLO THERE\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with _client(timeout=httpx.Timeout(2.0)) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(f"http://127.0.0.1:{port}/")
    finally:
        server.close()
        await server.wait_closed()


async def test_waiting_too_long_for_a_pooled_connection_is_a_pool_timeout(
    feed_server: FeedServer,  # noqa: F811
) -> None:
    feed_server.route("/hang", body=BODY, delay=5)
    async with _client(timeout=httpx.Timeout(10.0, pool=0.3), max_connections=1) as client:
        busy = asyncio.create_task(client.get(feed_server.url("/hang")))
        await asyncio.sleep(0.2)  # the only connection is taken
        with pytest.raises(httpx.PoolTimeout):
            await client.get(feed_server.url("/hang"))
        busy.cancel()
        with pytest.raises(asyncio.CancelledError):
            await busy


# --- through the fetcher and the guard ---------------------------------------------------------------------

PUBLIC_IP = "93.184.215.14"


class _PeerStream(httpcore.AsyncNetworkStream):
    """A real loopback connection that reports a public peer, so the guard lets the test reach 127.0.0.1."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, port: int) -> None:
        self._inner = inner
        self._port = port

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def get_extra_info(self, info: str) -> object:
        if info == "server_addr":
            return (PUBLIC_IP, self._port)
        return self._inner.get_extra_info(info)


class _LoopbackAsPublic(httpcore.AsyncNetworkBackend):
    """Connects every vetted public address to the loopback server instead (no packet leaves the host)."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()
        self.connected: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: object = None,
    ) -> httpcore.AsyncNetworkStream:
        assert host == PUBLIC_IP  # the guard hands over the vetted address, never the name
        self.connected.append(host)
        return _PeerStream(await self._inner.connect_tcp("127.0.0.1", port, timeout=timeout), port)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _public_resolver(host: str, port: int) -> list[str]:
    return [PUBLIC_IP]


@pytest.fixture
async def guarded_fetcher() -> AsyncIterator[tuple[Fetcher, _LoopbackAsPublic]]:
    backend = _LoopbackAsPublic()
    async with Fetcher(
        read_timeout=0.3, connect_timeout=2.0, resolver=_public_resolver, guarded_backend=backend
    ) as fetcher:
        yield fetcher, backend


async def test_the_guarded_fetch_reads_a_feed_over_a_real_socket(
    feed_server: FeedServer,  # noqa: F811
    guarded_fetcher: tuple[Fetcher, _LoopbackAsPublic],
) -> None:
    fetcher, backend = guarded_fetcher
    feed_server.route("/feed.xml", body=BODY, gzip=True)
    result = await fetcher.fetch(f"http://feeds.example:{feed_server.port}/feed.xml", public_only=True)
    assert getattr(result, "body", None) == BODY
    assert backend.connected == [PUBLIC_IP]


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({"body": BODY, "delay": 5}, "timeout after 0.3 s"),
        ({"body": BODY, "chunk_size": 100, "chunk_delay": 5}, "timeout after 0.3 s"),
        ({"reset": True}, None),
    ],
    ids=["hangs", "stalls", "resets"],
)
async def test_guarded_fetch_failures_are_described_as_before(
    feed_server: FeedServer,  # noqa: F811
    guarded_fetcher: tuple[Fetcher, _LoopbackAsPublic],
    route: dict[str, object],
    message: str | None,
) -> None:
    fetcher, _ = guarded_fetcher
    feed_server.route("/bad", **route)
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(f"http://feeds.example:{feed_server.port}/bad", public_only=True)
    if message is not None:
        assert str(caught.value) == message
    else:
        assert str(caught.value).startswith(("network error", "protocol error")), caught.value


async def _free_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()
    return port


# --- one pool per host: connections kept and reused ------------------------------------------------------


async def test_304s_redirects_and_errors_give_their_connection_back() -> None:
    # Most polls of a steady cycle are 304s; each used to close its connection and open a new one.
    with FeedServer(keep_alive=True) as server:
        server.route("/feed.xml", body=BODY, etag='"v1"')
        server.route("/moved", redirect_to="/feed.xml", status=301, body=b"moved")
        server.route("/gone", status=410, body=b"gone")
        fetcher = Fetcher(max_concurrency=4, max_per_host=1)
        try:
            first = await fetcher.fetch(server.url("/feed.xml"))
            for _ in range(3):
                await fetcher.fetch(server.url("/feed.xml"), etag=first.etag)
                await fetcher.fetch(server.url("/moved"), etag=first.etag)
                with pytest.raises(FetchError, match="HTTP 410"):
                    await fetcher.fetch(server.url("/gone"))
        finally:
            await fetcher.aclose()
    assert len(server.requests) == 13
    assert {r.client_port for r in server.requests} == {server.requests[0].client_port}


async def test_a_body_too_large_to_skip_costs_its_connection_not_the_fetch() -> None:
    with FeedServer(keep_alive=True) as server:
        server.route("/gone", status=404, body=b"x" * 200_000)
        server.route("/feed.xml", body=BODY)
        fetcher = Fetcher(max_concurrency=4, max_per_host=1)
        try:
            with pytest.raises(FetchError, match="HTTP 404"):
                await fetcher.fetch(server.url("/gone"))
            assert (await fetcher.fetch(server.url("/feed.xml"))).body == BODY
        finally:
            await fetcher.aclose()
    first, second = server.requests
    assert first.client_port != second.client_port


async def test_hosts_do_not_evict_each_others_connections() -> None:
    # A pool the size of the overall cap, shared by every host, closed one host's idle connection to open
    # another's; with a pool per host, each keeps its own however the requests interleave.
    with FeedServer(keep_alive=True) as a, FeedServer(keep_alive=True) as b:
        for server in (a, b):
            server.route("/feed.xml", body=BODY)
        fetcher = Fetcher(max_concurrency=1, max_per_host=1)
        try:
            for _ in range(4):
                for server in (a, b):
                    await fetcher.fetch(server.url("/feed.xml"))
        finally:
            await fetcher.aclose()
    for server in (a, b):
        assert len(server.requests) == 4
        assert len({r.client_port for r in server.requests}) == 1


async def test_an_idle_hosts_pool_is_closed_but_never_one_in_use() -> None:
    with FeedServer(keep_alive=True) as a, FeedServer(keep_alive=True) as b:
        a.route("/slow.xml", body=BODY, chunk_size=len(BODY) // 2, chunk_delay=0.3)
        b.route("/feed.xml", body=BODY)
        transport = HostPoolTransport(per_host=2, keepalive_expiry=0.1)
        async with httpx.AsyncClient(transport=transport, timeout=5.0) as client:
            async with client.stream("GET", a.url("/slow.xml")) as slow:
                await asyncio.sleep(0.2)  # a's pool is older than the expiry, but its request is in flight
                assert (await client.get(b.url("/feed.xml"))).content == BODY
                assert transport.open_pools == 2
                assert b"".join([chunk async for chunk in slow.aiter_raw()]) == BODY
            await asyncio.sleep(0.2)
            assert (await client.get(b.url("/feed.xml"))).content == BODY
            assert transport.open_pools == 1  # a's pool, idle past the expiry, was closed
