"""Feeds that misbehave, against a real loopback server: each fault is recorded on that feed, the feed backs
off, a healthy feed in the same cycle is still polled, and memory stays bounded."""

from __future__ import annotations

import gzip
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.classify import classify
from bot.feeds.fetcher import Fetcher
from bot.ingest.poller import Poller
from storage import feeds as feed_store
from storage.db import Database, open_database
from tests.feed_server import FeedServer

CAP = 2 * 1024 * 1024  # a smaller size cap keeps the test quick; the mechanism is the same at 5 MB


def rss(items: str, *, encoding: str = "UTF-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>Uji</title>'
        f"<link>https://uji.example/</link>{items}</channel></rss>"
    )


def item(
    n: int, *, guid: str | None = None, link: bool = True, date: str | None = "Senin, 16 Des 2024 10:15:00 WIB"
) -> str:
    parts = [f"<title>Berita nomor {n} dari Kota Surakarta</title>", f"<description>Isi berita {n}.</description>"]
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if link:
        parts.append(f"<link>https://uji.example/berita/{n}</link>")
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    return "<item>" + "".join(parts) + "</item>"


HEALTHY = rss(item(1, guid="h1") + item(2, guid="h2")).encode()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(tmp_path / "faults.db")
    yield database
    await database.close()


@pytest.fixture
def server() -> Any:
    with FeedServer() as s:
        yield s


async def poll_bad_and_good(db: Database, server: FeedServer, route: dict[str, Any]) -> tuple[Any, float]:
    server.route("/bad", **route)
    server.route("/good", body=HEALTHY)
    await feed_store.add_feed(db, server.url("/bad"), now=datetime.now(UTC))
    await feed_store.add_feed(db, server.url("/good"), now=datetime.now(UTC))
    started = time.monotonic()
    async with Fetcher(connect_timeout=1, read_timeout=1, total_timeout=2, max_bytes=CAP, max_redirects=3) as fetcher:
        summary = await Poller(db, fetcher, interval=60).poll_due()
    return summary, time.monotonic() - started


FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "slow body": ({"body": HEALTHY, "chunk_size": 20, "chunk_delay": 0.5}, "timeout"),
    "slow headers": ({"body": HEALTHY, "delay": 5}, "timeout"),
    "connection reset": ({"reset": True}, ""),
    "500": ({"status": 500, "body": b"oops"}, "HTTP 500"),
    "502": ({"status": 502, "body": b"bad gateway"}, "HTTP 502"),
    "429 retry-after": ({"status": 429, "headers": {"Retry-After": "7200"}}, "429"),
    "redirect loop": ({"status": 302, "redirect_to": "/bad"}, "redirect"),
    "html page": (
        {"body": b"<!doctype html><html><body><p>Masuk</p></body></html>", "content_type": "text/html"},
        "not an RSS/Atom feed",
    ),
    "empty body": ({"body": b""}, "not an RSS/Atom feed"),
    "50 MB body": ({"body": HEALTHY[:-20], "filler_bytes": 50 * 1024 * 1024}, "larger than"),
    "gzip bomb": ({"body": b"<rss>" + b"\0" * (60 * 1024 * 1024), "gzip": True}, "larger than"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_is_recorded_backed_off_and_isolated(db: Database, server: FeedServer, fault: str) -> None:
    route, message = FAULTS[fault]
    classify("Pemanasan", "Memuat data klasifikasi sebelum mengukur memori.")  # loads the classifier's tables
    tracemalloc.start()
    try:
        summary, elapsed = await poll_bad_and_good(db, server, route)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.failed == 1
    assert summary.fetched == 1 and summary.new_articles == 2  # the healthy feed went on
    assert elapsed < 6  # bounded by the timeouts, whatever the bad feed does
    assert peak < 4 * CAP  # the body is cut at the cap, never held whole (50 MB, 60 MB inflated)
    feeds = {f.url.rsplit("/", 1)[1]: f for f in await feed_store.list_feeds(db)}
    bad = feeds["bad"]
    assert bad.error_count == 1 and bad.last_error
    assert message.lower() in bad.last_error.lower()
    assert bad.last_checked_at is not None
    wait = bad.next_check_at - bad.last_checked_at
    assert wait >= timedelta(seconds=60)
    if fault == "429 retry-after":
        assert wait >= timedelta(seconds=7200)
    assert feeds["good"].error_count == 0


async def test_gzip_bomb_route_really_is_small_on_the_wire() -> None:
    # Guard for the test above: the bomb must be a bomb.
    assert len(gzip.compress(b"\0" * (60 * 1024 * 1024))) < 100 * 1024


async def test_quirky_but_valid_feeds_are_stored(db: Database, server: FeedServer) -> None:
    future = (datetime.now(UTC) + timedelta(days=30)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    quirks = {
        "/dup-guids": rss(item(1, guid="same") + item(2, guid="same") + item(3, guid="other")).encode(),
        "/no-link-no-date": rss(item(4, guid="nl", link=False, date=None)).encode(),
        "/future": rss(item(5, guid="fut", date=future)).encode(),
        "/bad-utf8": rss(item(6, guid="u8")).encode().replace(b"Isi berita", b"Isi \xff\xfe berita"),
        "/wrong-encoding": rss(item(7, guid="enc"), encoding="UTF-8")
        .encode()
        .replace(b"Isi berita", "Isi berita — “kutipan”".encode("cp1252")),
        "/latin1-declared": rss(item(8, guid="l1"), encoding="ISO-8859-1").encode("latin-1"),
    }
    for path, body in quirks.items():
        server.route(path, body=body)
        await feed_store.add_feed(db, server.url(path), now=datetime.now(UTC))
    async with Fetcher(connect_timeout=1, read_timeout=2, total_timeout=4) as fetcher:
        summary = await Poller(db, fetcher, interval=60).poll_due()
    assert summary.failed == 0 and summary.fetched == len(quirks)
    titles = {a.title: a for a, _ in summary.stored}
    # Duplicated guids inside one feed are one item; the rest each stored once.
    assert sorted(titles) == sorted(f"Berita nomor {n} dari Kota Surakarta" for n in (1, 3, 4, 5, 6, 7, 8))
    assert titles["Berita nomor 5 dari Kota Surakarta"].published_at is None  # a date in the future is not trusted
    assert titles["Berita nomor 4 dari Kota Surakarta"].published_at is None
