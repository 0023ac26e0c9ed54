"""The SSRF guard for feeds added from Telegram: addresses, the httpcore backend, the fetcher, /addfeed, polls.

Tests cannot reach the internet, so "public" hosts are names answered by an injected resolver, and
connections to their addresses are recorded and answered from memory (`RecordingBackend`), never made.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpcore
import pytest
from chat_fixtures import ADMIN_ID, harness

from bot.errors import FetchError
from bot.feeds.fetcher import Fetched, Fetcher
from bot.feeds.guard import BlockedAddressError, GuardedBackend, check_url, is_public_address
from bot.ingest.poller import Poller
from storage import feeds as feed_store
from storage.db import open_database
from tests.feed_server import FeedServer, feed_server  # noqa: F401  (fixture)

PUBLIC_IP = "93.184.215.14"
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'

NON_PUBLIC = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
    "not-an-address",
]


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", [PUBLIC_IP, "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/feed",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "http://localhost/feed",
        "http://LOCALHOST:8080/",
        "http://app.localhost/",
        "http://printer.local/",
        "http://127.0.0.1/feed",
        "http://[::1]/feed",
        "http://10.0.0.5/rss",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://user:pass@example.com/feed",
        "http://",
    ],
)
def test_check_url_refuses_before_any_network(url: str) -> None:
    assert check_url(url) is not None


def test_check_url_accepts_public_looking_urls() -> None:
    assert check_url("https://contoh.id/rss") is None
    assert check_url(f"http://{PUBLIC_IP}:8080/feed.xml") is None


class FakeStream(httpcore.AsyncMockStream):
    """An in-memory connection that says which peer it reached."""

    def __init__(self, buffer: list[bytes], peer: tuple[str, int]) -> None:
        super().__init__(buffer)
        self.peer = peer
        self.closed = False

    def get_extra_info(self, info: str) -> Any:
        return self.peer if info == "server_addr" else None

    async def aclose(self) -> None:
        self.closed = True


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Records every connect attempt; answers from canned HTTP responses per address."""

    def __init__(self, responses: dict[str, bytes], peer_override: dict[str, str] | None = None) -> None:
        self.responses = responses
        self.peer_override = peer_override or {}
        self.connects: list[tuple[str, int]] = []
        self.streams: list[FakeStream] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        stream = FakeStream([self.responses[host]], (self.peer_override.get(host, host), port))
        self.streams.append(stream)
        return stream

    async def sleep(self, seconds: float) -> None:
        return None


def resolver(table: dict[str, list[str]]) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"no such host {host}")
        return table[host]

    return resolve


def http_response(status: int, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()] + [f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def test_backend_connects_to_the_vetted_address_only() -> None:
    inner = RecordingBackend({PUBLIC_IP: b""})
    backend = GuardedBackend(resolver=resolver({"feeds.example": [PUBLIC_IP]}), inner=inner)
    stream = await backend.connect_tcp("feeds.example", 443)
    assert inner.connects == [(PUBLIC_IP, 443)]  # the IP that was checked, not the name again
    assert stream.get_extra_info("server_addr") == (PUBLIC_IP, 443)


@pytest.mark.parametrize("answer", [["127.0.0.1"], ["10.0.0.7"], [PUBLIC_IP, "127.0.0.1"], ["::1"], ["169.254.1.1"]])
async def test_backend_refuses_names_resolving_to_non_public_addresses(answer: list[str]) -> None:
    inner = RecordingBackend({})
    backend = GuardedBackend(resolver=resolver({"rebind.example": answer}), inner=inner)
    with pytest.raises(BlockedAddressError):
        await backend.connect_tcp("rebind.example", 80)
    assert inner.connects == []


async def test_backend_checks_the_peer_address_actually_connected() -> None:
    # The name resolved to a public address, but the socket ended up at loopback (e.g. a NAT or proxy trick).
    inner = RecordingBackend({PUBLIC_IP: b""}, peer_override={PUBLIC_IP: "127.0.0.1"})
    backend = GuardedBackend(resolver=resolver({"feeds.example": [PUBLIC_IP]}), inner=inner)
    with pytest.raises(BlockedAddressError):
        await backend.connect_tcp("feeds.example", 80)
    assert inner.streams[0].closed


async def test_backend_refuses_unix_sockets_and_reports_dns_failure() -> None:
    backend = GuardedBackend(resolver=resolver({}), inner=RecordingBackend({}))
    with pytest.raises(BlockedAddressError):
        await backend.connect_unix_socket("/var/run/docker.sock")
    with pytest.raises(httpcore.ConnectError, match="DNS"):
        await backend.connect_tcp("nowhere.example", 80)


async def test_public_feed_redirecting_to_loopback_is_refused_at_the_hop() -> None:
    inner = RecordingBackend({PUBLIC_IP: http_response(302, {"Location": "http://internal.example:8080/admin"})})
    table = {"feeds.example": [PUBLIC_IP], "internal.example": ["127.0.0.1"]}
    async with Fetcher(resolver=resolver(table), guarded_backend=inner) as fetcher:
        with pytest.raises(FetchError, match="non-public address 127.0.0.1"):
            await fetcher.fetch("http://feeds.example/rss", public_only=True)
    assert inner.connects == [(PUBLIC_IP, 80)]  # the redirect target was never connected to


async def test_public_feed_through_the_guard_is_fetched() -> None:
    inner = RecordingBackend({PUBLIC_IP: http_response(200, {"Content-Type": "application/rss+xml"}, RSS)})
    async with Fetcher(resolver=resolver({"feeds.example": [PUBLIC_IP]}), guarded_backend=inner) as fetcher:
        result = await fetcher.fetch("http://feeds.example/rss", public_only=True)
    assert isinstance(result, Fetched) and result.body == RSS


async def test_guarded_fetch_refuses_a_real_loopback_server_that_the_trusted_fetch_reaches(
    feed_server: FeedServer,  # noqa: F811
) -> None:
    feed_server.route("/rss", body=RSS)
    url = feed_server.url("/rss")
    localhost_url = url.replace("127.0.0.1", "localhost")
    decimal_url = url.replace("127.0.0.1", "2130706433")  # 127.0.0.1 written as one number
    async with Fetcher(connect_timeout=2, total_timeout=5) as fetcher:
        assert isinstance(await fetcher.fetch(url), Fetched)  # command-line feeds are trusted
        for target in (url, localhost_url, decimal_url):
            with pytest.raises(FetchError, match="refused"):
                await fetcher.fetch(target, public_only=True)
    assert len(feed_server.requests_to("/rss")) == 1


async def test_poller_guards_telegram_feeds_on_every_poll(tmp_path: Path, feed_server: FeedServer) -> None:  # noqa: F811
    """A feed that passed /addfeed can later point at loopback (DNS rebinding): each poll is checked."""
    feed_server.route("/rss", body=RSS)
    db = await open_database(tmp_path / "p.db")
    try:
        now = datetime.now(UTC)
        trusted = await feed_store.add_feed(db, feed_server.url("/rss"), now=now)
        guarded = await feed_store.add_feed(db, feed_server.url("/rss?t"), now=now, added_by="telegram:99")
        async with Fetcher(connect_timeout=2, total_timeout=5) as fetcher:
            await Poller(db, fetcher, interval=60).poll_due()
        feeds = {f.id: f for f in await feed_store.list_feeds(db)}
        assert feeds[trusted.id].error_count == 0
        assert feeds[guarded.id].error_count == 1 and "refused" in (feeds[guarded.id].last_error or "")
        assert len(feed_server.requests_to("/rss")) == 1
    finally:
        await db.close()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/feed",
        "http://127.0.0.1:9/feed",
        "http://localhost/feed",
        "http://[::1]/feed",
        "http://10.0.0.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://2130706433/feed",
    ],
)
async def test_addfeed_refuses_non_public_urls(tmp_path: Path, url: str) -> None:
    async with harness(tmp_path) as h:
        [reply] = await h.text(ADMIN_ID, f"/addfeed {url}")
        assert "ditolak" in reply or "Tulis alamat feed lengkap" in reply
        assert await feed_store.list_feeds(h.db) == []


async def test_addfeed_probes_through_the_guard_and_stores_who_added_it(tmp_path: Path) -> None:
    inner = RecordingBackend({PUBLIC_IP: http_response(200, {"Content-Type": "application/rss+xml"}, RSS)})

    async def probe(url: str) -> None:
        async with Fetcher(resolver=resolver({"feeds.example": [PUBLIC_IP]}), guarded_backend=inner) as fetcher:
            await fetcher.fetch(url, public_only=True)

    async with harness(tmp_path) as h:
        h.services.feed_probe = probe
        [added] = await h.text(ADMIN_ID, "/addfeed http://feeds.example/rss")
        assert "ditambahkan" in added
        [refused] = await h.text(ADMIN_ID, "/addfeed http://unknown.example/rss")
        assert "ditolak" in refused and "DNS" in refused
        [feed] = await feed_store.list_feeds(h.db)
        assert feed.added_by == f"telegram:{ADMIN_ID}"
    assert inner.connects == [(PUBLIC_IP, 80)]
