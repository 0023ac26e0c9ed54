"""Fetcher against a real loopback HTTP server (tests/feed_server.py); every test is bounded in seconds."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from feed_server import FeedServer

from bot.errors import FetchError
from bot.feeds.fetcher import USER_AGENT, Fetched, Fetcher, NotModified, cache_seconds, parse_retry_after

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Uji</title><link>https://contoh.id/</link>
<item><title>Banjir di Solo</title><link>https://contoh.id/a</link><guid>a</guid></item>
</channel></rss>"""

NOW = datetime(2025, 3, 3, 3, 0, tzinfo=UTC)


def fast_fetcher(**options: object) -> Fetcher:
    defaults: dict[str, object] = {"connect_timeout": 2.0, "read_timeout": 2.0, "total_timeout": 5.0}
    defaults.update(options)
    return Fetcher(**defaults)  # type: ignore[arg-type]


async def test_200_returns_body_and_validators(feed_server: FeedServer) -> None:
    feed_server.route(
        "/feed.xml",
        body=RSS,
        etag='"v1"',
        last_modified="Mon, 03 Mar 2025 03:00:00 GMT",
        headers={"Cache-Control": "public, max-age=300"},
    )
    async with fast_fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/feed.xml"), etag=None, last_modified=None)
    assert isinstance(result, Fetched)
    assert result.body == RSS
    assert result.final_url == feed_server.url("/feed.xml")
    assert result.permanent_redirect_url is None
    assert result.etag == '"v1"'
    assert result.last_modified == "Mon, 03 Mar 2025 03:00:00 GMT"
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.cache_seconds == 300
    sent = feed_server.requests[-1].headers
    assert sent["user-agent"] == USER_AGENT
    assert "gzip" in sent["accept-encoding"]
    assert "if-none-match" not in sent and "if-modified-since" not in sent


async def test_304_with_etag(feed_server: FeedServer) -> None:
    feed_server.route("/feed.xml", body=RSS, etag='"v1"', headers={"Cache-Control": "max-age=60"})
    async with fast_fetcher() as fetcher:
        first = await fetcher.fetch(feed_server.url("/feed.xml"), etag=None, last_modified=None)
        assert isinstance(first, Fetched)
        second = await fetcher.fetch(feed_server.url("/feed.xml"), etag=first.etag, last_modified=None)
    assert isinstance(second, NotModified)
    assert second.etag == '"v1"'
    assert second.cache_seconds == 60
    assert feed_server.requests[-1].headers["if-none-match"] == '"v1"'


async def test_304_with_last_modified(feed_server: FeedServer) -> None:
    stamp = "Mon, 03 Mar 2025 03:00:00 GMT"
    feed_server.route("/feed.xml", body=RSS, last_modified=stamp)
    async with fast_fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/feed.xml"), etag=None, last_modified=stamp)
    assert isinstance(result, NotModified)
    assert feed_server.requests[-1].headers["if-modified-since"] == stamp


async def test_changed_etag_gets_the_new_body(feed_server: FeedServer) -> None:
    feed_server.route("/feed.xml", body=RSS, etag='"v2"')
    async with fast_fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/feed.xml"), etag='"v1"', last_modified=None)
    assert isinstance(result, Fetched)
    assert result.etag == '"v2"'


@pytest.mark.parametrize("status", [400, 403, 404, 410, 500, 502])
async def test_http_errors(feed_server: FeedServer, status: int) -> None:
    feed_server.route("/feed.xml", status=status, body=b"nope")
    async with fast_fetcher() as fetcher:
        with pytest.raises(FetchError, match=f"^HTTP {status}$") as info:
            await fetcher.fetch(feed_server.url("/feed.xml"), etag=None, last_modified=None)
    assert info.value.retry_after is None


async def test_read_timeout(feed_server: FeedServer) -> None:
    feed_server.route("/slow", body=RSS, delay=3)
    started = time.monotonic()
    async with fast_fetcher(read_timeout=0.3) as fetcher:
        with pytest.raises(FetchError, match=r"^timeout after 0.3 s$"):
            await fetcher.fetch(feed_server.url("/slow"), etag=None, last_modified=None)
    assert time.monotonic() - started < 2


async def test_total_timeout_cuts_a_trickling_body(feed_server: FeedServer) -> None:
    # Each piece arrives well within the read timeout; only the total bound stops this.
    feed_server.route("/drip", body=RSS * 10, chunk_size=20, chunk_delay=0.1)
    started = time.monotonic()
    async with fast_fetcher(read_timeout=1.0, total_timeout=0.5) as fetcher:
        with pytest.raises(FetchError, match=r"^timeout after 0.5 s$"):
            await fetcher.fetch(feed_server.url("/drip"), etag=None, last_modified=None)
    assert time.monotonic() - started < 2


async def test_total_timeout_covers_every_redirect_hop(feed_server: FeedServer) -> None:
    """Issue #12.5: each hop of a slow redirect chain answered within the total timeout, which used to apply
    per hop (up to 6 × total); one deadline now covers the whole poll."""
    for hop in range(4):
        feed_server.route(f"/hop{hop}", status=302, redirect_to=f"/hop{hop + 1}", delay=0.3)
    feed_server.route("/hop4", body=RSS, delay=0.3)
    started = time.monotonic()
    async with fast_fetcher(read_timeout=1.0, total_timeout=0.8) as fetcher:
        with pytest.raises(FetchError, match=r"^timeout after 0.8 s$"):
            await fetcher.fetch(feed_server.url("/hop0"), etag=None, last_modified=None)
    assert time.monotonic() - started < 1.2
    assert len(feed_server.requests_to("/hop4")) == 0


async def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with fast_fetcher() as fetcher:
        with pytest.raises(FetchError, match="^connection refused$"):
            await fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml", etag=None, last_modified=None)


async def test_temporary_redirect_is_followed_but_not_reported(feed_server: FeedServer) -> None:
    feed_server.route("/old", status=302, redirect_to="/feed.xml")
    feed_server.route("/feed.xml", body=RSS)
    async with fast_fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/old"), etag=None, last_modified=None)
    assert isinstance(result, Fetched)
    assert result.final_url == feed_server.url("/feed.xml")
    assert result.permanent_redirect_url is None


@pytest.mark.parametrize("status", [301, 308])
async def test_permanent_redirect_reports_the_new_url(feed_server: FeedServer, status: int) -> None:
    feed_server.route("/old", status=status, redirect_to=feed_server.url("/feed.xml"))
    feed_server.route("/feed.xml", body=RSS)
    async with fast_fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/old"), etag=None, last_modified=None)
    assert isinstance(result, Fetched)
    assert result.permanent_redirect_url == feed_server.url("/feed.xml")


async def test_permanent_then_temporary_reports_the_permanent_target(feed_server: FeedServer) -> None:
    feed_server.route("/a", status=301, redirect_to="/b")
    feed_server.route("/b", status=302, redirect_to="/c")
    feed_server.route("/c", body=RSS)
    async with fast_fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/a"), etag=None, last_modified=None)
    assert isinstance(result, Fetched)
    assert result.final_url == feed_server.url("/c")
    assert result.permanent_redirect_url == feed_server.url("/b")


async def test_temporary_then_permanent_does_not_move_the_feed(feed_server: FeedServer) -> None:
    feed_server.route("/a", status=307, redirect_to="/b")
    feed_server.route("/b", status=301, redirect_to="/c")
    feed_server.route("/c", body=RSS)
    async with fast_fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/a"), etag=None, last_modified=None)
    assert isinstance(result, Fetched)
    assert result.permanent_redirect_url is None


async def test_redirect_to_304_keeps_the_move(feed_server: FeedServer) -> None:
    feed_server.route("/old", status=301, redirect_to="/feed.xml")
    feed_server.route("/feed.xml", body=RSS, etag='"v1"')
    async with fast_fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/old"), etag='"v1"', last_modified=None)
    assert isinstance(result, NotModified)
    assert result.permanent_redirect_url == feed_server.url("/feed.xml")


async def test_redirect_loop(feed_server: FeedServer) -> None:
    feed_server.route("/a", status=302, redirect_to="/b")
    feed_server.route("/b", status=302, redirect_to="/a")
    async with fast_fetcher() as fetcher:
        with pytest.raises(FetchError, match="^redirect loop$"):
            await fetcher.fetch(feed_server.url("/a"), etag=None, last_modified=None)


async def test_too_many_redirects(feed_server: FeedServer) -> None:
    for i in range(10):
        feed_server.route(f"/r{i}", status=302, redirect_to=f"/r{i + 1}")
    async with fast_fetcher(max_redirects=3) as fetcher:
        with pytest.raises(FetchError, match=r"^too many redirects \(more than 3\)$"):
            await fetcher.fetch(feed_server.url("/r0"), etag=None, last_modified=None)
    assert len(feed_server.requests) == 4


async def test_redirect_to_another_scheme_is_refused(feed_server: FeedServer) -> None:
    feed_server.route("/a", status=302, redirect_to="file:///etc/passwd")
    async with fast_fetcher() as fetcher:
        with pytest.raises(FetchError, match="unsupported URL scheme 'file'"):
            await fetcher.fetch(feed_server.url("/a"), etag=None, last_modified=None)


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "file:///etc/passwd", "javascript:alert(1)"])
async def test_only_http_and_https(url: str) -> None:
    async with fast_fetcher() as fetcher:
        with pytest.raises(FetchError, match="unsupported URL scheme"):
            await fetcher.fetch(url, etag=None, last_modified=None)


async def test_size_cap(feed_server: FeedServer) -> None:
    feed_server.route("/big", body=b"x" * 200_000)
    async with fast_fetcher(max_bytes=100 * 1024) as fetcher:
        with pytest.raises(FetchError, match="^response larger than 100 KB$"):
            await fetcher.fetch(feed_server.url("/big"), etag=None, last_modified=None)


async def test_size_cap_without_content_length(feed_server: FeedServer) -> None:
    # The cap must hold while reading, not only when a Content-Length announces the size.
    feed_server.route("/big", body=b"x" * 200_000, send_content_length=False, chunk_size=8192)
    async with fast_fetcher(max_bytes=100 * 1024) as fetcher:
        with pytest.raises(FetchError, match="^response larger than 100 KB$"):
            await fetcher.fetch(feed_server.url("/big"), etag=None, last_modified=None)


async def test_default_cap_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * (5 * 1024 * 1024 + 1))

    async with Fetcher(transport=httpx.MockTransport(handler)) as fetcher:
        with pytest.raises(FetchError, match="^response larger than 5 MB$"):
            await fetcher.fetch("https://example.com/feed", etag=None, last_modified=None)


async def test_gzip_body_is_decoded(feed_server: FeedServer) -> None:
    feed_server.route("/gz", body=RSS, gzip=True)
    async with fast_fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/gz"), etag=None, last_modified=None)
    assert isinstance(result, Fetched)
    assert result.body == RSS


async def test_deflate_body_is_decoded(feed_server: FeedServer) -> None:
    feed_server.route("/df", body=zlib.compress(RSS), headers={"Content-Encoding": "deflate"})
    async with fast_fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/df"), etag=None, last_modified=None)
    assert isinstance(result, Fetched)
    assert result.body == RSS


async def test_gzip_bomb_is_cut_at_the_cap(feed_server: FeedServer) -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))  # ~50 KB on the wire, 50 MB inflated
    assert len(bomb) < 100 * 1024
    feed_server.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    async with fast_fetcher(max_bytes=1024 * 1024) as fetcher:
        with pytest.raises(FetchError, match="^response larger than 1 MB$"):
            await fetcher.fetch(feed_server.url("/bomb"), etag=None, last_modified=None)


async def test_corrupt_gzip(feed_server: FeedServer) -> None:
    feed_server.route("/gz", body=b"this is not gzip", headers={"Content-Encoding": "gzip"})
    async with fast_fetcher() as fetcher:
        with pytest.raises(FetchError, match="could not decode"):
            await fetcher.fetch(feed_server.url("/gz"), etag=None, last_modified=None)


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_seconds(feed_server: FeedServer, status: int) -> None:
    feed_server.route("/feed.xml", status=status, headers={"Retry-After": "120"})
    async with fast_fetcher() as fetcher:
        with pytest.raises(FetchError, match=f"^HTTP {status}$") as info:
            await fetcher.fetch(feed_server.url("/feed.xml"), etag=None, last_modified=None)
    assert info.value.retry_after == 120


async def test_retry_after_http_date(feed_server: FeedServer) -> None:
    feed_server.route(
        "/feed.xml",
        status=429,
        headers={"Retry-After": format_datetime(NOW + timedelta(minutes=10), usegmt=True)},
    )
    async with fast_fetcher(now=lambda: NOW) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(feed_server.url("/feed.xml"), etag=None, last_modified=None)
    assert info.value.retry_after == 600


async def test_per_host_concurrency_cap(feed_server: FeedServer) -> None:
    feed_server.route("/feed.xml", body=RSS, delay=0.2)
    async with fast_fetcher(max_per_host=2) as fetcher:
        results = await asyncio.gather(
            *(fetcher.fetch(feed_server.url("/feed.xml"), etag=None, last_modified=None) for _ in range(6))
        )
    assert all(isinstance(r, Fetched) for r in results)
    assert feed_server.max_in_flight == 2


async def test_global_concurrency_cap(feed_server: FeedServer) -> None:
    # "localhost" and "127.0.0.1" are different hosts to the fetcher but the same server here.
    feed_server.route("/feed.xml", body=RSS, delay=0.2)
    urls = [feed_server.url("/feed.xml"), f"http://localhost:{feed_server.port}/feed.xml"] * 3
    async with fast_fetcher(max_per_host=4, max_concurrency=1) as fetcher:
        await asyncio.gather(*(fetcher.fetch(u, etag=None, last_modified=None) for u in urls))
    assert feed_server.max_in_flight == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Cache-Control": "max-age=600"}, 600),
        ({"Cache-Control": 'public, max-age="90", must-revalidate'}, 90),
        ({"Cache-Control": "no-cache"}, 0),
        ({"Cache-Control": "no-store, max-age=600"}, 0),
        ({"Cache-Control": "max-age=abc"}, 0),
        ({"Cache-Control": "max-age=60", "Expires": "Mon, 03 Mar 2025 05:00:00 GMT"}, 60),
        ({"Expires": "Mon, 03 Mar 2025 04:00:00 GMT"}, 3600),
        ({"Expires": "Mon, 03 Mar 2025 04:00:00 GMT", "Date": "Mon, 03 Mar 2025 03:30:00 GMT"}, 1800),
        ({"Expires": "0"}, 0),
        ({"Expires": "Mon, 03 Mar 2025 02:00:00 GMT"}, 0),
    ],
)
def test_cache_seconds(headers: dict[str, str], expected: float | None) -> None:
    assert cache_seconds(httpx.Headers(headers), now=NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("30", 30),
        ("Mon, 03 Mar 2025 03:05:00 GMT", 300),
        ("Mon, 03 Mar 2025 02:00:00 GMT", 0),
        ("soon", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize("public_only", [False, True], ids=["trusted", "guarded"])
async def test_special_use_names_are_never_looked_up(monkeypatch: pytest.MonkeyPatch, public_only: bool) -> None:
    # Made-up links in tests and placeholder links in feeds (warta.example, x.invalid) must not send a DNS
    # query to the machine's resolver: they fail as unknown names at once.
    import socket

    looked_up: list[str] = []
    real = socket.getaddrinfo

    def recording(host: object, *args: object, **kwargs: object) -> object:
        looked_up.append(str(host))
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    async with Fetcher(connect_timeout=2, read_timeout=2) as fetcher:
        for url in ("http://warta.example/rss", "https://berita.test/a", "http://x.invalid/", "http://example.org/"):
            with pytest.raises(FetchError, match="DNS"):
                await fetcher.fetch(url, public_only=public_only)
    assert looked_up == []
