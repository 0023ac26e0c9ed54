"""Full text for teaser feeds: a loopback news site, the real poller, fetcher, extractor and SQLite.

The news site (tests/news_site.py) publishes a teaser-only feed; its pages carry menus naming a dozen
towns, "Baca juga" boxes and a "Terpopuler" sidebar about a fire in Jepara and a drug arrest in Klaten.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.classify import classify
from bot.feeds.fetcher import Fetched, Fetcher
from bot.formatting import render_alert_html
from bot.ingest.fulltext import FullTextReader
from bot.ingest.poller import Poller
from bot.models import Article, SubscriptionFilter
from bot.text import repair_text
from storage import articles as article_store
from storage import feeds as feed_store
from storage.db import Database, open_database
from tests.feed_server import FeedServer
from tests.news_site import BOYOLALI_CRASH, KLATEN_FIRE, SOLO_FESTIVAL, SRAGEN_GRAFT, NewsSite, Story
from tests.test_poller import make_due, subscribe
from tests.test_ssrf import PUBLIC_IP, RecordingBackend, http_response, resolver

KLATEN, SURAKARTA, SRAGEN = "33.10", "33.72", "33.14"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(tmp_path / "pantau.db")
    yield database
    await database.close()


@pytest.fixture
def site(feed_server: FeedServer) -> NewsSite:
    return NewsSite(feed_server)


def fast_fetcher() -> Fetcher:
    return Fetcher(connect_timeout=2, read_timeout=2, total_timeout=4)


async def stored(db: Database, story: Story) -> Article:
    async with db.conn.execute("SELECT id FROM articles WHERE url LIKE ?", (f"%{story.path}",)) as cursor:
        row = await cursor.fetchone()
    assert row is not None, f"{story.slug} was not stored"
    article = await article_store.get_article(db, row[0])
    assert article is not None
    return article


async def column(db: Database, story: Story, name: str) -> object:
    async with db.conn.execute(f"SELECT {name} FROM articles WHERE url LIKE ?", (f"%{story.path}",)) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def recipients(db: Database, story: Story) -> set[int]:
    article = await stored(db, story)
    async with db.conn.execute("SELECT chat_id FROM deliveries WHERE article_id = ?", (article.id,)) as cursor:
        return {row[0] for row in await cursor.fetchall()}


def teaser_labels(story: Story) -> tuple[str | None, tuple[str, ...]]:
    cls = classify(repair_text(story.title), story.teaser)
    return (cls.city.code if cls.city else None, cls.cases)


async def test_teaser_feed_alerts_carry_full_text_labels_and_lead_and_each_page_is_fetched_once(
    db: Database, site: NewsSite, feed_server: FeedServer
) -> None:
    # The teasers alone name no Kab/Kota: an analyst subscribed to "Klaten kebakaran" would miss the fire.
    assert teaser_labels(KLATEN_FIRE)[0] is None and teaser_labels(SRAGEN_GRAFT)[0] is None
    site.publish(SRAGEN_GRAFT, KLATEN_FIRE, SOLO_FESTIVAL)
    await feed_store.add_feed(db, site.feed_url, now=datetime.now(UTC), backfill=10)
    await subscribe(db, 1, SubscriptionFilter(area_codes=frozenset({KLATEN}), cases=frozenset({"kebakaran"})))
    await subscribe(db, 2, SubscriptionFilter(area_codes=frozenset({SURAKARTA})))
    await subscribe(db, 3, SubscriptionFilter(area_codes=frozenset({SRAGEN}), cases=frozenset({"korupsi"})))
    await subscribe(db, 4, SubscriptionFilter(cases=frozenset({"narkoba"})))  # only the sidebar mentions drugs
    await subscribe(db, 5, SubscriptionFilter(include_keywords=("ngawonggo",)))  # a village only the page names

    async with fast_fetcher() as fetcher:
        reader = FullTextReader(fetcher, timeout=10)
        poller = Poller(db, fetcher, interval=60, full_text=reader)
        first = await poller.poll_due()
        assert (first.fetched, first.new_articles) == (1, 3)
        assert site.page_hits() == {s.slug: 1 for s in (SOLO_FESTIVAL, KLATEN_FIRE, SRAGEN_GRAFT)}

        fire = await stored(db, KLATEN_FIRE)
        assert fire.text_source == "page"
        assert fire.classification.city is not None and fire.classification.city.code == KLATEN
        assert "kebakaran" in fire.classification.cases
        assert fire.body.startswith("KLATEN — Sebuah gudang mebel di Desa Ngawonggo")
        assert await column(db, KLATEN_FIRE, "feed_text") == KLATEN_FIRE.teaser
        assert await column(db, KLATEN_FIRE, "page_error") is None
        # The alert's lead is the article's first lines, plain text and escaped; no page HTML.
        alert = render_alert_html(fire, "Cocok: Kabupaten Klaten · kebakaran")
        assert "KLATEN — Sebuah gudang mebel di Desa Ngawonggo, Kecamatan Ceper, Kabupaten Klaten" in alert
        assert "Wilayah: Kabupaten Klaten, Jawa Tengah" in alert and "Kasus: Kebakaran" in alert
        assert "<p>" not in alert and "<div" not in alert and "cuplikan feed" not in alert

        festival = await stored(db, SOLO_FESTIVAL)
        # The sidebar's fire in Jepara and drug arrest in Klaten, the menu's towns: none reach the classifier.
        assert festival.classification.city is not None and festival.classification.city.code == SURAKARTA
        assert festival.classification.cases == ()
        assert festival.classification.other_cities == ()
        for furniture in ("Jepara", "Sabu", "Baca juga", "Baca Juga", "Terpopuler", "ADVERTISEMENT", "Pemuda No"):
            assert furniture not in festival.body
        assert festival.title == "Festival Jenang Solo Kembali Digelar — Ribuan Warga Antre Sejak Pagi"  # repaired

        graft = await stored(db, SRAGEN_GRAFT)
        assert graft.classification.city is not None and graft.classification.city.code == SRAGEN
        assert "korupsi" in graft.classification.cases

        assert await recipients(db, KLATEN_FIRE) == {1, 5}
        assert await recipients(db, SOLO_FESTIVAL) == {2}
        assert await recipients(db, SRAGEN_GRAFT) == {3}

        # /search reads the full text: a word only the article page has finds the article.
        from storage.search import search_articles

        found = await search_articles(db, "Ngawonggo")
        assert [a.id for a in found.articles] == [fire.id]

        # Later polls: the same items are not new, so no page is fetched again.
        await make_due(db)
        second = await poller.poll_due()
        assert (second.fetched, second.new_articles) == (1, 0)
        site.publish(BOYOLALI_CRASH)
        await make_due(db)
        third = await poller.poll_due()
        assert (third.fetched, third.new_articles) == (1, 1)
    assert site.page_hits() == {s.slug: 1 for s in (SOLO_FESTIVAL, KLATEN_FIRE, SRAGEN_GRAFT, BOYOLALI_CRASH)}
    crash = await stored(db, BOYOLALI_CRASH)
    assert crash.text_source == "page" and "kecelakaan" in crash.classification.cases
    assert reader.stats.fetched == 4 and reader.stats.used == 4 and reader.stats.failed == 0
    for page in feed_server.requests:
        if page.path.startswith("/berita/"):
            assert page.headers["user-agent"].startswith("Pantau/")
            assert page.headers["accept"].startswith("text/html")


LONG_FEED_TEXT = Story(
    slug=KLATEN_FIRE.slug,
    title=KLATEN_FIRE.title,
    teaser=" ".join(KLATEN_FIRE.paragraphs[1:]),  # over 400 characters and not cut off: not a teaser
    paragraphs=KLATEN_FIRE.paragraphs,
)


@pytest.mark.parametrize(
    ("mode", "story", "reads_page"),
    [
        ("auto", KLATEN_FIRE, True),
        ("auto", SRAGEN_GRAFT, True),  # cut off with "[…]"
        ("auto", LONG_FEED_TEXT, False),
        ("always", LONG_FEED_TEXT, True),
        ("never", KLATEN_FIRE, False),
    ],
)
async def test_full_text_mode_decides_which_pages_are_read(
    db: Database, site: NewsSite, mode: str, story: Story, reads_page: bool
) -> None:
    site.publish(story)
    await feed_store.add_feed(db, site.feed_url, now=datetime.now(UTC), backfill=5, full_text=mode)
    async with fast_fetcher() as fetcher:
        await Poller(db, fetcher, interval=60, full_text=FullTextReader(fetcher)).poll_due()
    assert site.page_hits() == {story.slug: int(reads_page)}
    article = await stored(db, story)
    assert article.text_source == ("page" if reads_page else "feed")
    assert article.body.startswith(story.paragraphs[0][:40] if reads_page else story.teaser[:40])
    assert await column(db, story, "page_error") is None


async def test_a_page_that_does_not_come_in_time_leaves_the_teaser_and_still_alerts(
    db: Database, site: NewsSite, feed_server: FeedServer
) -> None:
    site.publish(KLATEN_FIRE)
    feed_server.routes[KLATEN_FIRE.path].delay = 5
    await feed_store.add_feed(db, site.feed_url, now=datetime.now(UTC), backfill=5)
    await subscribe(db, 9, SubscriptionFilter(cases=frozenset({"kebakaran"})))
    async with Fetcher(connect_timeout=2, read_timeout=10, total_timeout=10) as fetcher:
        reader = FullTextReader(fetcher, timeout=0.5)
        started = time.monotonic()
        summary = await Poller(db, fetcher, interval=60, full_text=reader).poll_due()
        took = time.monotonic() - started
    assert took < 4  # bounded by the page timeout, not by the slow page
    assert (summary.new_articles, summary.queued) == (1, 1)
    fire = await stored(db, KLATEN_FIRE)
    assert fire.text_source == "feed" and fire.body == KLATEN_FIRE.teaser
    assert await column(db, KLATEN_FIRE, "page_error") == "page not read within 0.5 s"
    assert "kebakaran" in fire.classification.cases  # classified on the teaser
    assert fire.page_error == "page not read within 0.5 s"
    assert "<i>Label dari cuplikan feed; halaman berita tidak terbaca.</i>" in render_alert_html(fire)
    assert reader.stats.timed_out == 1


@pytest.mark.parametrize(
    ("status", "content_type", "body", "reason"),
    [
        (404, "text/html", b"<html><body>Halaman tidak ditemukan</body></html>", "HTTP 404"),
        (200, "application/pdf", b"%PDF-1.4", "not an HTML page (application/pdf)"),
        (200, "text/html", b"<html><body><nav><a href='/'>Beranda</a></nav></body></html>", "no article text"),
    ],
)
async def test_an_unusable_page_leaves_the_teaser_with_the_reason(
    db: Database, site: NewsSite, feed_server: FeedServer, status: int, content_type: str, body: bytes, reason: str
) -> None:
    site.publish(KLATEN_FIRE)
    feed_server.route(KLATEN_FIRE.path, status=status, content_type=content_type, body=body)
    await feed_store.add_feed(db, site.feed_url, now=datetime.now(UTC), backfill=5)
    async with fast_fetcher() as fetcher:
        summary = await Poller(db, fetcher, interval=60, full_text=FullTextReader(fetcher)).poll_due()
    assert summary.new_articles == 1
    assert (await stored(db, KLATEN_FIRE)).text_source == "feed"
    error = await column(db, KLATEN_FIRE, "page_error")
    assert isinstance(error, str) and error.startswith(reason)


async def test_a_failing_site_backs_off_like_a_failing_feed(
    db: Database, site: NewsSite, feed_server: FeedServer
) -> None:
    site.publish(KLATEN_FIRE, SRAGEN_GRAFT)
    for story in (KLATEN_FIRE, SRAGEN_GRAFT, SOLO_FESTIVAL):
        feed_server.route(story.path, status=503, content_type="text/html", body=b"sibuk")
    await feed_store.add_feed(db, site.feed_url, now=datetime.now(UTC), backfill=5)
    async with fast_fetcher() as fetcher:
        reader = FullTextReader(fetcher, backoff_interval=600)
        poller = Poller(db, fetcher, interval=60, full_text=reader)
        await poller.poll_due()
        assert feed_server.hits[KLATEN_FIRE.path] == 1 and feed_server.hits[SRAGEN_GRAFT.path] == 1
        # Two pages of the site failed: the next article's page is not even asked for.
        feed_server.hits.clear()
        site.feed_route.body = site.feed_route.body  # unchanged feed, one new story below
        feed_server.routes.pop(SOLO_FESTIVAL.path)
        site.publish(SOLO_FESTIVAL)
        feed_server.route(SOLO_FESTIVAL.path, status=503, content_type="text/html", body=b"sibuk")
        await make_due(db)
        summary = await poller.poll_due()
    assert summary.new_articles == 1 and summary.failed == 0
    assert feed_server.hits[SOLO_FESTIVAL.path] == 0
    assert await column(db, SOLO_FESTIVAL, "page_error") == "site backing off after failed pages"
    assert reader.stats.skipped == 1 and reader.stats.failed == 2


async def test_pages_of_a_telegram_feed_go_through_the_ssrf_guard(db: Database, site: NewsSite) -> None:
    """The feed (from /addfeed) is public, its item links point at loopback: those pages are refused."""
    site.publish(KLATEN_FIRE)
    assert site.feed_route.body
    guarded = await feed_store.add_feed(
        db, "http://feeds.example/rss", now=datetime.now(UTC), backfill=5, added_by="telegram:7"
    )
    async with fast_fetcher() as fetcher:
        poller = Poller(db, fetcher, interval=60, full_text=FullTextReader(fetcher))
        fetched = Fetched(
            body=site.feed_route.body,
            final_url=guarded.url,
            permanent_redirect_url=None,
            etag=None,
            last_modified=None,
            content_type="application/rss+xml",
            cache_seconds=None,
        )
        summary = await poller.ingest(guarded, fetched)
    assert summary.new_articles == 1
    assert site.page_hits() == {KLATEN_FIRE.slug: 0}  # the loopback page was never requested
    assert (await stored(db, KLATEN_FIRE)).text_source == "feed"
    error = await column(db, KLATEN_FIRE, "page_error")
    assert isinstance(error, str) and "refused" in error and "127.0.0.1" in error


async def test_a_public_page_redirecting_inside_is_refused_at_the_hop(db: Database, site: NewsSite) -> None:
    site.publish(KLATEN_FIRE)
    inner = RecordingBackend({PUBLIC_IP: http_response(302, {"Location": "http://intranet.example/rahasia"})})
    table = {"portal.example": [PUBLIC_IP], "intranet.example": ["10.0.0.7"]}
    guarded = await feed_store.add_feed(
        db, "http://portal.example/rss", now=datetime.now(UTC), backfill=5, added_by="telegram:7"
    )
    rss = site.feed_route.body.replace(site.server.url("").encode(), b"http://portal.example")
    async with Fetcher(resolver=resolver(table), guarded_backend=inner) as fetcher:
        poller = Poller(db, fetcher, interval=60, full_text=FullTextReader(fetcher))
        fetched = Fetched(
            body=rss,
            final_url=guarded.url,
            permanent_redirect_url=None,
            etag=None,
            last_modified=None,
            content_type="application/rss+xml",
            cache_seconds=None,
        )
        await poller.ingest(guarded, fetched)
    assert inner.connects == [(PUBLIC_IP, 80)]  # the intranet address was never connected to
    error = await column(db, KLATEN_FIRE, "page_error")
    assert isinstance(error, str) and "non-public address 10.0.0.7" in error


async def test_without_a_reader_feed_text_is_still_repaired(db: Database, site: NewsSite) -> None:
    site.publish(SOLO_FESTIVAL)
    await feed_store.add_feed(db, site.feed_url, now=datetime.now(UTC), backfill=5)
    async with fast_fetcher() as fetcher:
        await Poller(db, fetcher, interval=60).poll_due()
    festival = await stored(db, SOLO_FESTIVAL)
    assert "â€" not in festival.title and "—" in festival.title
    assert site.page_hits() == {SOLO_FESTIVAL.slug: 0}


async def test_two_feeds_carrying_the_same_story_in_one_cycle_fetch_its_page_once(
    db: Database, site: NewsSite, feed_server: FeedServer
) -> None:
    site.publish(KLATEN_FIRE)
    feed_server.routes[KLATEN_FIRE.path].delay = 0.3  # both feeds ask while the first fetch is under way
    now = datetime.now(UTC)
    await feed_store.add_feed(db, site.feed_url, now=now, backfill=5)
    await feed_store.add_feed(db, site.feed_url + "?kanal=jateng", now=now, backfill=5)  # same story, other feed
    async with fast_fetcher() as fetcher:
        reader = FullTextReader(fetcher)
        summary = await Poller(db, fetcher, interval=60, full_text=reader).poll_due()
    assert summary.fetched == 2 and summary.new_articles == 1
    assert site.page_hits() == {KLATEN_FIRE.slug: 1}
    assert (await stored(db, KLATEN_FIRE)).text_source == "page"
    assert reader.stats.wanted == 2 and reader.stats.fetched == 1


async def test_a_failed_page_of_a_long_feed_text_is_not_marked_as_a_teaser(
    db: Database, site: NewsSite, feed_server: FeedServer
) -> None:
    site.publish(LONG_FEED_TEXT)
    feed_server.route(LONG_FEED_TEXT.path, status=500, content_type="text/html", body=b"galat")
    await feed_store.add_feed(db, site.feed_url, now=datetime.now(UTC), backfill=5, full_text="always")
    async with fast_fetcher() as fetcher:
        await Poller(db, fetcher, interval=60, full_text=FullTextReader(fetcher)).poll_due()
    assert feed_server.hits[LONG_FEED_TEXT.path] == 1
    article = await stored(db, LONG_FEED_TEXT)
    assert (article.text_source, article.page_error) == ("feed", None)  # 600 characters of feed text stand
    assert "cuplikan feed" not in render_alert_html(article)
