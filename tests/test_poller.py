"""The poll cycle against a real HTTP server on 127.0.0.1 and a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.feeds.fetcher import Fetcher
from bot.ingest.poller import Poller
from bot.models import Feed, SubscriptionFilter
from storage import chats as chat_store
from storage import feeds as feed_store
from storage import subscriptions as sub_store
from storage.db import Database, open_database
from tests.feed_server import FeedServer


def rss(*items: tuple[str, str, str, str], ttl: int | None = None) -> bytes:
    """items: (guid, link, title, description); pubDate in the Indonesian format feeds use."""
    parts = [
        f'<item><guid isPermaLink="false">{g}</guid><link>{link}</link><title>{t}</title>'
        f"<description>{d}</description><pubDate>Senin, 16 Des 2024 10:15:00 WIB</pubDate></item>"
        for g, link, t, d in items
    ]
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Warta Uji</title>'
        f"<link>https://warta.example/</link>{ttl_tag}{''.join(parts)}</channel></rss>"
    ).encode()


FIRE = (
    "g1",
    "https://warta.example/kebakaran-klewer",
    "Kebakaran Pasar Klewer Solo, Puluhan Kios Hangus",
    "SOLO — Api melalap puluhan kios di Pasar Klewer, Kota Solo, Senin (16/12/2024). Petugas pemadam "
    "kebakaran mengerahkan tujuh mobil. Kerugian ditaksir ratusan juta rupiah.",
)
CRASH = (
    "g2",
    "https://warta.example/tabrakan-sragen",
    "Tabrakan Truk dan Motor di Sragen, Satu Tewas",
    "SRAGEN — Kecelakaan antara truk dan sepeda motor terjadi di Jalan Raya Sragen-Ngawi. Satu pengendara "
    "tewas di lokasi kejadian. Polres Sragen masih menyelidiki penyebab kecelakaan itu.",
)
CULTURE = (
    "g3",
    "https://warta.example/festival-payung",
    "Festival Payung Indonesia Digelar di Solo",
    "SOLO — Festival Payung Indonesia kembali digelar di Taman Balekambang. Ribuan pengunjung menikmati "
    "pertunjukan tari dan pameran payung dari berbagai daerah.",
)


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = await open_database(tmp_path / "pantau.db")
    yield database  # type: ignore[misc]
    await database.close()


def fast_fetcher() -> Fetcher:
    return Fetcher(connect_timeout=2, read_timeout=1, total_timeout=3)


async def subscribe(db: Database, chat_id: int, flt: SubscriptionFilter) -> None:
    now = datetime.now(UTC)
    await chat_store.register_chat(db, chat_id, type="private", title=None, now=now)
    await sub_store.add_subscription(db, chat_id, flt, thread_id=None, now=now)


async def make_due(db: Database) -> None:
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
    async with db.transaction() as conn:
        await conn.execute("UPDATE feeds SET next_check_at = ?", (past,))


@pytest.fixture
async def any_db(db_target: Path | str) -> Database:
    """The poller on both backends (SQLite, PostgreSQL): polls a loopback feed and queues its alert."""
    database = await open_database(db_target)
    yield database  # type: ignore[misc]
    await database.close()


async def test_first_poll_is_silent_then_conditional_get_then_new_item_alerts(
    any_db: Database,
    feed_server: FeedServer,
) -> None:
    db = any_db
    route = feed_server.route("/rss", body=rss(CULTURE), etag='"v1"')
    await feed_store.add_feed(db, feed_server.url("/rss"), now=datetime.now(UTC))
    await subscribe(db, 42, SubscriptionFilter(area_codes=frozenset({"33.72"})))
    async with fast_fetcher() as fetcher:
        poller = Poller(db, fetcher, interval=60)
        first = await poller.poll_due()
        assert (first.fetched, first.new_articles, first.queued) == (1, 1, 0)  # no flood on subscribe

        await make_due(db)
        second = await poller.poll_due()
        assert (second.fetched, second.not_modified, second.new_articles) == (0, 1, 0)
        assert feed_server.requests_to("/rss")[-1].headers["if-none-match"] == '"v1"'

        route.body, route.etag = rss(FIRE, CULTURE), '"v2"'
        await make_due(db)
        third = await poller.poll_due()
        assert (third.fetched, third.new_articles, third.queued) == (1, 1, 1)
    article = third.stored[0][0]
    assert article.classification.city is not None
    assert article.classification.city.name == "Kota Surakarta"
    assert "kebakaran" in article.classification.cases
    # "Senin, 16 Des 2024 10:15:00 WIB" is 03:15 UTC.
    assert article.published_at == datetime(2024, 12, 16, 3, 15, tzinfo=UTC)
    async with db.conn.execute("SELECT chat_id, status FROM deliveries") as cur:
        assert [tuple(r) for r in await cur.fetchall()] == [(42, "pending")]


async def test_backfill_alerts_newest_n_on_first_poll(db: Database, feed_server: FeedServer) -> None:
    feed_server.route("/rss", body=rss(FIRE, CRASH, CULTURE))
    await feed_store.add_feed(db, feed_server.url("/rss"), now=datetime.now(UTC), backfill=2)
    await subscribe(db, 7, SubscriptionFilter())
    async with fast_fetcher() as fetcher:
        summary = await Poller(db, fetcher, interval=60).poll_due()
    assert summary.new_articles == 3 and summary.queued == 2


@pytest.mark.parametrize(
    ("route", "error"),
    [
        ({"status": 404}, "404"),
        ({"status": 500}, "500"),
        (
            {
                "body": b"<html><body><h1>Halaman tidak ditemukan</h1></body></html>",
                "content_type": "text/html",
            },
            "not an RSS/Atom feed",
        ),
        ({"body": b""}, "not an RSS/Atom feed"),
        ({"body": rss(FIRE), "delay": 3}, "timeout"),
    ],
)
async def test_failing_feed_records_error_backs_off_and_others_go_on(
    db: Database,
    feed_server: FeedServer,
    route: dict[str, object],
    error: str,
) -> None:
    feed_server.route("/bad", **route)
    feed_server.route("/good", body=rss(CRASH))
    bad = await feed_store.add_feed(db, feed_server.url("/bad"), now=datetime.now(UTC))
    good = await feed_store.add_feed(db, feed_server.url("/good"), now=datetime.now(UTC))
    async with fast_fetcher() as fetcher:
        poller = Poller(db, fetcher, interval=60)
        summary = await poller.poll_due()
        assert (summary.failed, summary.fetched, summary.new_articles) == (1, 1, 1)
        bad_after = await feed_store.get_feed(db, bad.id)
        assert bad_after.error_count == 1 and error.lower() in (bad_after.last_error or "").lower()
        assert (await feed_store.get_feed(db, good.id)).error_count == 0
        first_delay = bad_after.next_check_at - (bad_after.last_checked_at or datetime.now(UTC))
        assert first_delay >= timedelta(seconds=59)
        await make_due(db)
        await poller.poll_due()
    again = await feed_store.get_feed(db, bad.id)
    assert again.error_count == 2
    # Exponential: the second failure waits twice as long as the first.
    assert again.next_check_at - (again.last_checked_at or datetime.now(UTC)) >= timedelta(
        seconds=0.8 * 120 - 1
    )  # doubled, less up to 20 % jitter


async def test_same_story_in_two_feeds_is_one_article(db: Database, feed_server: FeedServer) -> None:
    tracked = (FIRE[0] + "-b", FIRE[1] + "?utm_source=twitter&utm_medium=social#top", FIRE[2], FIRE[3])
    feed_server.route("/a", body=rss(FIRE))
    feed_server.route("/b", body=rss(tracked))
    await feed_store.add_feed(db, feed_server.url("/a"), now=datetime.now(UTC), backfill=5)
    await feed_store.add_feed(db, feed_server.url("/b"), now=datetime.now(UTC), backfill=5)
    await subscribe(db, 9, SubscriptionFilter())
    async with fast_fetcher() as fetcher:
        poller = Poller(db, fetcher, interval=60)
        summary = await poller.poll_due()
        assert summary.new_articles == 1 and summary.queued == 1
        await make_due(db)
        again = await poller.poll_due()
    assert again.new_articles == 0 and again.queued == 0


async def test_restart_does_not_store_or_alert_again(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/rss", body=rss(FIRE, CRASH))
    first_run = await open_database(tmp_path / "restart.db")
    try:
        await feed_store.add_feed(first_run, feed_server.url("/rss"), now=datetime.now(UTC), backfill=5)
        async with fast_fetcher() as fetcher:
            assert (await Poller(first_run, fetcher, interval=60).poll_due()).new_articles == 2
    finally:
        await first_run.close()
    second_run = await open_database(tmp_path / "restart.db")
    try:
        await make_due(second_run)
        async with fast_fetcher() as fetcher:
            summary = await Poller(second_run, fetcher, interval=60).poll_due()
        assert summary.fetched == 1 and summary.new_articles == 0
    finally:
        await second_run.close()


async def test_permanent_redirect_moves_the_stored_url(db: Database, feed_server: FeedServer) -> None:
    feed_server.route("/old", status=301, redirect_to="/new")
    feed_server.route("/new", body=rss(CULTURE))
    feed = await feed_store.add_feed(db, feed_server.url("/old"), now=datetime.now(UTC))
    async with fast_fetcher() as fetcher:
        await Poller(db, fetcher, interval=60).poll_due()
    assert (await feed_store.get_feed(db, feed.id)).url == feed_server.url("/new")


async def test_ttl_stretches_the_interval(db: Database, feed_server: FeedServer) -> None:
    feed_server.route("/rss", body=rss(CULTURE, ttl=30))
    feed = await feed_store.add_feed(db, feed_server.url("/rss"), now=datetime.now(UTC))
    async with fast_fetcher() as fetcher:
        await Poller(db, fetcher, interval=60).poll_due()
    after = await feed_store.get_feed(db, feed.id)
    assert after.last_checked_at is not None
    assert after.next_check_at - after.last_checked_at == timedelta(minutes=30)


def dated_rss(*items: tuple[str, str, datetime]) -> bytes:
    """items: (guid, title, published)."""
    parts = [
        f"<item><guid>{g}</guid><link>https://warta.example/{g}</link><title>{t}</title>"
        f"<description>SOLO — {t} di Kota Surakarta.</description>"
        f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for g, t, when in items
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Warta Uji</title>'
        f"{''.join(parts)}</channel></rss>"
    ).encode()


async def test_old_items_on_later_polls_alert_nobody_and_future_dates_are_clamped(
    db: Database, feed_server: FeedServer
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    route = feed_server.route("/rss", body=dated_rss(("g0", "Kabar lama", now - timedelta(days=10))))
    await feed_store.add_feed(db, feed_server.url("/rss"), now=now)
    await subscribe(db, 7, SubscriptionFilter())
    async with fast_fetcher() as fetcher:
        poller = Poller(db, fetcher, interval=60, max_alert_age=timedelta(hours=48))
        await poller.poll_due()  # the first poll remembers, alerts nobody
        route.body = dated_rss(
            ("g1", "Arsip pasar malam", now - timedelta(days=3)),
            ("g2", "Festival hari ini", now - timedelta(hours=1)),
            ("g3", "Jadwal besok", now + timedelta(days=1)),
        )
        await make_due(db)
        summary = await poller.poll_due()
    assert summary.new_articles == 3 and summary.queued == 2  # the 3-day-old item is stored, not alerted
    by_title = {article.title: article for article, _ in summary.stored}
    tomorrow = by_title["Jadwal besok"].published_at
    assert tomorrow is not None and tomorrow <= datetime.now(UTC)  # not left on top of /terbaru for a day


async def test_the_item_link_gives_the_province_of_a_story_that_names_no_place(
    db: Database, feed_server: FeedServer
) -> None:
    # A regional desk's section ("/jateng/") says the province, never the Kab/Kota; a place the text
    # names wins over it.
    desk = (
        "g4",
        "https://warta.example/jateng/berita/dua-pria-ditangkap",
        "Dua Pria Ditangkap di Kamar Kos, Simpan Puluhan Paket Sabu",
        "Polisi menangkap dua pria yang menyimpan puluhan paket sabu siap edar di kamar kos mereka.",
    )
    named = ("g5", "https://warta.example/sulsel/berita/kebakaran-klewer", *FIRE[2:])
    feed_server.route("/rss", body=rss(desk, named))
    await feed_store.add_feed(db, feed_server.url("/rss"), now=datetime.now(UTC))
    async with fast_fetcher() as fetcher:
        summary = await Poller(db, fetcher, interval=60).poll_due()
    by_title = {a.title: a.classification for a, *_ in summary.stored}
    from_desk = by_title[desk[2]]
    assert from_desk.city is None and from_desk.province == "Jawa Tengah"
    assert any("link section" in e for e in from_desk.evidence["city"])
    fire = by_title[FIRE[2]]
    assert fire.city is not None and fire.city.name == "Kota Surakarta" and fire.province == "Jawa Tengah"


async def test_a_slow_success_pushes_the_next_poll_out_until_the_feed_is_quick_again(
    db: Database, feed_server: FeedServer
) -> None:
    from bot.runtime.feed_commands import feed_table
    from handlers.texts import render_feeds

    # A 1 s deadline: answering after 0.6 s is a success, but a slow one (over half of it).
    slow_route = feed_server.route("/slow", body=rss(FIRE), etag='"v1"', delay=0.6)
    feed_server.route("/quick", body=rss(CRASH))
    slow = await feed_store.add_feed(db, feed_server.url("/slow"), now=datetime.now(UTC))
    quick = await feed_store.add_feed(db, feed_server.url("/quick"), now=datetime.now(UTC))

    def wait(feed: Feed) -> float:
        return (feed.next_check_at - (feed.last_checked_at or datetime.now(UTC))).total_seconds()

    async with Fetcher(connect_timeout=2, read_timeout=2, total_timeout=1.0) as fetcher:
        poller = Poller(db, fetcher, interval=60)
        first = await poller.poll_due()
        assert (first.fetched, first.failed) == (2, 0)  # slow is still a success: items stored
        after = await feed_store.get_feed(db, slow.id)
        assert after.error_count == 0 and after.slow_polls == 1
        assert after.last_fetch_seconds is not None and 0.5 < after.last_fetch_seconds < 1.0
        assert 0.8 * 120 - 1 <= wait(after) <= 120  # twice the interval, less up to 20 % jitter
        quick_after = await feed_store.get_feed(db, quick.id)
        assert quick_after.slow_polls == 0 and wait(quick_after) == 60  # the others keep their pace
        listing = feed_table(await feed_store.list_feeds(db))
        assert "slow" in listing and "answered in 0." in listing and "polled less often" in listing
        in_chat = render_feeds(await feed_store.list_feeds(db))  # /feeds says the same to an admin
        assert "🐢 lambat: menjawab dalam 0," in in_chat and "diambil lebih jarang" in in_chat

        await make_due(db)
        second = await poller.poll_due()  # a 304 this time: a slow one counts too
        assert second.not_modified == 1
        after = await feed_store.get_feed(db, slow.id)
        assert after.slow_polls == 2 and 0.8 * 240 - 1 <= wait(after) <= 240
        assert "2 times in a row" in feed_table(await feed_store.list_feeds(db))
        assert "2× berturut-turut" in render_feeds(await feed_store.list_feeds(db))

        slow_route.delay = 0.0  # quick again: back to the interval, the count reset
        await make_due(db)
        await poller.poll_due()
    after = await feed_store.get_feed(db, slow.id)
    assert after.slow_polls == 0 and wait(after) == 60
    assert after.last_fetch_seconds is not None and after.last_fetch_seconds < 0.5
    assert "slow" not in feed_table([after]).splitlines()[1]
    assert "lambat" not in render_feeds([after]) and "✅ terakhir berhasil" in render_feeds([after])
