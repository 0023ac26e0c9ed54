"""Hostile feeds on the loopback server (issue #12): what they carry must not reach a terminal or a chat
raw, must not cost minutes of CPU, and must not re-alert the same story."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.feeds.fetcher import Fetcher
from bot.feeds.parsepool import ParsePool
from bot.feeds.parser import TITLE_MAX_CHARS
from bot.formatting import render_alert_html, render_alert_text, render_digest_html
from bot.ingest.poller import Poller
from bot.models import SubscriptionFilter
from storage import chats as chat_store
from storage import feeds as feed_store
from storage import subscriptions as sub_store
from storage.db import Database, open_database
from tests.feed_server import FeedServer, Route

UNSAFE = ["\x1b", "\x00", "\u202e", "\u2066", "\x07", "\x9b", "\u200f"]


def rss(items: str, *, title: str = "Warta Uji") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://warta.example/</link>{items}</channel></rss>"
    ).encode()


def item(guid: str, link: str, title: str, body: str = "Isi berita dari Kota Surakarta.", author: str = "") -> str:
    who = f"<author>{author}</author>" if author else ""
    return (
        f'<item><guid isPermaLink="false">{guid}</guid><link>{link}</link><title>{title}</title>'
        f"<description>{body}</description>{who}<pubDate>Senin, 16 Des 2024 10:15:00 WIB</pubDate></item>"
    )


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(tmp_path / "hostile.db")
    yield database
    await database.close()


def fast_fetcher() -> Fetcher:
    return Fetcher(connect_timeout=2, read_timeout=2, total_timeout=5)


async def make_due(db: Database) -> None:
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
    async with db.transaction() as conn:
        await conn.execute("UPDATE feeds SET next_check_at = ?", (past,))


async def subscribe_all(db: Database, chat_id: int = 1) -> None:
    now = datetime.now(UTC)
    await chat_store.register_chat(db, chat_id, type="private", title=None, now=now)
    await sub_store.add_subscription(db, chat_id, SubscriptionFilter(), thread_id=None, now=now)


async def test_control_and_bidi_characters_never_reach_text(db: Database, feed_server: FeedServer) -> None:
    # Numeric character references put characters into the XML that the raw bytes could not carry (NUL, ESC).
    nasty = "&#27;[2J&#x202E;gpj.exe&#x2066;&#7;&#x9b;"
    body = rss(
        item("g1", "https://warta.example/1", f"Banjir{nasty} di Solo", f"Isi{nasty} berita", author=f"Budi{nasty}"),
        title=f"Warta{nasty} Uji",
    )
    feed_server.route("/rss", body=body)
    await feed_store.add_feed(db, feed_server.url("/rss"), now=datetime.now(UTC), backfill=1)
    async with fast_fetcher() as fetcher:
        summary = await Poller(db, fetcher, interval=60).poll_due()
    assert summary.new_articles == 1, summary
    article = summary.stored[0][0]
    texts = [article.title, article.body, article.author or "", article.source or ""]
    texts += [render_alert_text(article), render_alert_html(article)]
    (feed,) = await feed_store.list_feeds(db)
    texts.append(feed.title or "")
    for text in texts:
        for ch in UNSAFE:
            assert ch not in text, (ch, text)
    assert article.title.startswith("Banjir[2Jgpj.exe")  # the visible characters are kept


async def test_a_million_character_title_is_capped(db: Database, feed_server: FeedServer) -> None:
    feed_server.route("/rss", body=rss(item("g1", "https://warta.example/1", "Banjir " * 200_000)))
    await feed_store.add_feed(db, feed_server.url("/rss"), now=datetime.now(UTC))
    async with fast_fetcher() as fetcher:
        summary = await Poller(db, fetcher, interval=60).poll_due()
    assert summary.new_articles == 1
    assert len(summary.stored[0][0].title) <= TITLE_MAX_CHARS
    async with db.conn.execute("SELECT max(length(title)) FROM articles") as cursor:
        row = await cursor.fetchone()
    assert row is not None and row[0] <= TITLE_MAX_CHARS


@pytest.mark.parametrize("link", ["javascript:alert(1)", "tg://resolve?domain=x", "data:text/html,hi", ""])
async def test_item_without_a_web_link_is_rendered_without_href(
    db: Database, feed_server: FeedServer, link: str
) -> None:
    feed_server.route("/rss", body=rss(item("g1", link, "Kebakaran di Solo")))
    await feed_store.add_feed(db, feed_server.url("/rss"), now=datetime.now(UTC), backfill=1)
    async with fast_fetcher() as fetcher:
        summary = await Poller(db, fetcher, interval=60).poll_due()
    article = summary.stored[0][0]
    html = render_alert_html(article) + render_digest_html([article])[0]
    assert "href" not in html
    assert "guid:" not in html + render_alert_text(article)
    assert "Kebakaran di Solo" in html


def many_attributes(count: int) -> bytes:
    # One element with `count` attributes: feedparser's strict parser is quadratic in them (40,000: ~20-40 s).
    attrs = " ".join(f'a{i}="x"' for i in range(count))
    return rss(f"<item><title {attrs}>Judul</title><link>https://warta.example/a</link></item>")


async def test_pathological_feed_is_stopped_at_its_budget_and_backs_off(db: Database, feed_server: FeedServer) -> None:
    feed_server.route("/hostile", body=many_attributes(40_000))
    feed_server.route("/ok", body=rss(item("g1", "https://warta.example/1", "Banjir di Solo")))
    await feed_store.add_feed(db, feed_server.url("/hostile"), now=datetime.now(UTC))
    await feed_store.add_feed(db, feed_server.url("/ok"), now=datetime.now(UTC))
    started = time.monotonic()
    polled_at = datetime.now(UTC)
    async with fast_fetcher() as fetcher:
        summary = await Poller(db, fetcher, interval=60, parse_budget=1.0).poll_due()
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed  # unbudgeted, this parse alone takes 20-40 s
    assert (summary.failed, summary.fetched, summary.new_articles) == (1, 1, 1)
    hostile = next(f for f in await feed_store.list_feeds(db) if f.url.endswith("/hostile"))
    assert hostile.error_count == 1 and "longer than 1 s" in (hostile.last_error or "")
    # Backed off like any failure: a minute or more after the poll began (not after this slow assertion).
    assert hostile.next_check_at > polled_at + timedelta(seconds=59)


def test_workers_are_reused_not_spawned_per_parse() -> None:
    pool = ParsePool(workers=2, budget=5.0)
    try:
        body = rss(item("g1", "https://warta.example/1", "Banjir di Solo"))
        for _ in range(20):
            parsed = pool.parse_blocking(body, url="https://warta.example/rss", content_type=None)
            assert parsed.items[0].title == "Banjir di Solo"
        pids = {w.process.pid for w in pool._all}
        assert 1 <= len(pids) <= 2
        with pytest.raises(ParseError, match="not an RSS/Atom feed"):
            pool.parse_blocking(b"<html><body>x</body></html>", url="https://warta.example/", content_type=None)
        # A parse killed at its budget costs that worker only; the pool goes on with a fresh one.
        with pytest.raises(ParseError, match="longer than 0.5 s"):
            pool.parse_blocking(many_attributes(40_000), url="https://warta.example/", content_type=None, budget=0.5)
        assert pool.killed == 1
        assert pool.parse_blocking(body, url="https://warta.example/rss", content_type=None).items
    finally:
        pool.close()


STORIES = [
    ("Banjir Rendam Sangkrah", "banjir-sangkrah"),
    ("Kebakaran Pasar Klewer", "kebakaran-klewer"),
    ("Tabrakan di Jalan Slamet Riyadi", "tabrakan-slamet-riyadi"),
]


def session_feed(request_number: int, *, scheme: str = "https", with_guid: bool = False) -> bytes:
    # Each response carries its own session id in every link (and permalink guid), as some CMSes do.
    return rss(
        "".join(
            f"<item>{f'<guid>{scheme}://warta.example/{slug}?sid={request_number}</guid>' if with_guid else ''}"
            f"<link>{scheme}://warta.example/{slug}?sid={request_number}</link><title>{title}</title>"
            "<description>SOLO — Isi berita dari Kota Surakarta.</description></item>"
            for title, slug in STORIES
        )
    )


@pytest.mark.parametrize("with_guid", [False, True])
async def test_per_request_session_parameter_does_not_realert(
    db: Database, feed_server: FeedServer, with_guid: bool
) -> None:
    counter = iter(range(1, 1000))
    feed_server.route("/rss", handler=lambda req: Route(body=session_feed(next(counter), with_guid=with_guid)))
    await feed_store.add_feed(db, feed_server.url("/rss"), now=datetime.now(UTC), backfill=3)
    await subscribe_all(db)
    queued = 0
    async with fast_fetcher() as fetcher:
        poller = Poller(db, fetcher, interval=60)
        for _ in range(5):
            summary = await poller.poll_due()
            queued += summary.queued
            await make_due(db)
    assert queued == 3  # the first poll's backfill, nothing again
    async with db.conn.execute("SELECT count(*) FROM articles") as cursor:
        assert (await cursor.fetchone())[0] == 3  # type: ignore[index]


async def test_story_id_parameter_is_kept(db: Database, feed_server: FeedServer) -> None:
    # PHP-Nuke style: sid is the story id, different per item; those are three stories, not one.
    items = "".join(
        item(f"g{n}", f"https://warta.example/modules.php?name=News&sid={n}", f"Berita {n} dari Solo")
        for n in (1, 2, 3)
    )
    feed_server.route("/rss", body=rss(items))
    await feed_store.add_feed(db, feed_server.url("/rss"), now=datetime.now(UTC))
    async with fast_fetcher() as fetcher:
        summary = await Poller(db, fetcher, interval=60).poll_due()
    assert summary.new_articles == 3


@pytest.mark.parametrize("with_guid", [False, True])
async def test_switch_from_http_to_https_does_not_realert(
    db: Database, feed_server: FeedServer, with_guid: bool
) -> None:
    route = feed_server.route("/rss", body=session_feed(1, scheme="http", with_guid=with_guid))
    await feed_store.add_feed(db, feed_server.url("/rss"), now=datetime.now(UTC))
    await subscribe_all(db)
    async with fast_fetcher() as fetcher:
        poller = Poller(db, fetcher, interval=60)
        first = await poller.poll_due()
        assert first.new_articles == 3
        route.body = session_feed(1, scheme="https", with_guid=with_guid)
        await make_due(db)
        second = await Poller(db, fetcher, interval=60).poll_due()  # a fresh poller: as after a restart
    assert (second.fetched, second.new_articles, second.queued) == (1, 0, 0)


async def test_upgrade_folds_stored_https_keys(tmp_path: Path) -> None:
    import aiosqlite

    from storage.schema import MIGRATIONS

    path = tmp_path / "old.db"
    async with aiosqlite.connect(path) as raw:
        await raw.executescript(f"{MIGRATIONS[1]}\n{MIGRATIONS[2]}\nPRAGMA user_version = 2;")  # type: ignore[str-format]
        await raw.execute(
            "INSERT INTO feeds (id, url, added_at, next_check_at) VALUES (1, 'https://warta.example/rss', 'x', 'x')"
        )
        await raw.execute(
            "INSERT INTO articles (link, url, title, fetched_at, sentiment, confidence)"
            " VALUES ('https://warta.example/a', 'https://warta.example/a', 'A', 'x', 'neutral', 50)"
        )
        await raw.execute("INSERT INTO feed_items (feed_id, guid, seen_at) VALUES (1, 'https://warta.example/a', 'x')")
        await raw.commit()
    db = await open_database(path)
    try:
        async with db.conn.execute("SELECT link FROM articles") as cursor:
            assert [r[0] for r in await cursor.fetchall()] == ["http://warta.example/a"]
        async with db.conn.execute("SELECT guid FROM feed_items") as cursor:
            assert [r[0] for r in await cursor.fetchall()] == ["http://warta.example/a"]
    finally:
        await db.close()


def test_article_page_text_loses_control_and_bidi_characters() -> None:
    from bot.feeds.pages import clean_article_text

    text = clean_article_text("Paragraf\x1b[2J satu\u202e dari Solo.\nParagraf\x00 dua\u2066.", title="Judul")
    assert text.splitlines()[1] == "Paragraf dua."  # NUL and U+2066 gone, the words kept
    assert "satu dari Solo." in text
    for ch in UNSAFE:
        assert ch not in text


async def test_volatile_parameter_is_remembered_across_restarts(db: Database, feed_server: FeedServer) -> None:
    route = feed_server.route("/rss", body=session_feed(1))
    await feed_store.add_feed(db, feed_server.url("/rss"), now=datetime.now(UTC))
    await subscribe_all(db)
    async with fast_fetcher() as fetcher:
        first = await Poller(db, fetcher, interval=60).poll_due()
        assert first.new_articles == 3
        (feed,) = await feed_store.list_feeds(db)
        assert feed.volatile_params == frozenset({"sid"})
        # After a restart the feed shows one item: no second link to compare the session id with.
        title, slug = STORIES[0]
        route.body = rss(item("x", f"https://warta.example/{slug}?sid=99", title))
        await make_due(db)
        second = await Poller(db, fetcher, interval=60).poll_due()
    assert (second.fetched, second.new_articles, second.queued) == (1, 0, 0)
