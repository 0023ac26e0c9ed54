"""`pantau db copy`: an SQLite installation moved into PostgreSQL, every table, ids kept, safe to re-run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.ingest.store import store_and_queue
from bot.models import Classification, FeedItem, LabelCorrection, Place, Sentiment, SubscriptionFilter
from storage import button_state, feedback
from storage import chats as chat_store
from storage import feeds as feed_store
from storage import reports as report_store
from storage import subscriptions as sub_store
from storage.articles import NewArticle
from storage.copy import TABLES
from storage.db import Database, open_database
from tests.postgres import pg_schema

NOW = datetime(2024, 12, 18, 6, 0, tzinfo=UTC)
SOLO = Place(name="Kota Surakarta", code="33.72", province="Jawa Tengah")


def _news(n: int, title: str) -> NewArticle:
    item = FeedItem(
        guid=f"g{n}", link=f"https://n.example/{n}", title=title, summary=f"Isi {title}", author=None, published=NOW
    )
    cls = Classification(
        city=SOLO,
        other_cities=(),
        province=SOLO.province,
        cases=("kebakaran",),
        sentiment=Sentiment.NEGATIVE,
        confidence=80,
        evidence={},
    )
    return NewArticle(item=item, link=item.link, classification=cls, alert=True, body=f"Teks penuh {title}")


async def _installation(path: Path) -> None:
    """Something in every table."""
    db = await open_database(path)
    feed = await feed_store.add_feed(db, "https://a.example/rss", now=NOW, name="A")
    await feed_store.add_feed(db, "https://b.example/rss", now=NOW)
    for chat in (-100, 42):
        await chat_store.register_chat(db, chat, type="group" if chat < 0 else "private", title=None, now=NOW)
        await sub_store.add_subscription(
            db,
            chat,
            SubscriptionFilter(area_codes=frozenset({"33.72"}), cases=frozenset({"kebakaran"})),
            thread_id=None,
            now=NOW,
        )
    await store_and_queue(db, feed, [_news(1, "Kebakaran Pasar Klewer"), _news(2, "Kebakaran di Solo")], now=NOW)
    article = await report_store_article(db)
    await feedback.record_correction(
        db,
        article,
        LabelCorrection(field="sentiment", sentiment=Sentiment.NEUTRAL),
        chat_id=42,
        user_id=7,
        trusted=True,
        now=NOW,
    )
    await feedback.mute_source(db, 42, "Outlet X", user_id=7, now=NOW)
    await button_state.create(db, chat_id=42, kind="picker", user_id=7, payload={"step": 1}, now=NOW)
    await report_store.set_brief(db, 42, "07:00", thread_id=None, now=NOW)
    await report_store.queue_brief(db, 42, day="2024-12-18", period_end=NOW, thread_id=None, now=NOW)
    from bot.models import PairCount

    await report_store.record_spike(
        db,
        pair=PairCount(city_code="33.72", city_name="Kota Surakarta", case_key="kebakaran", recent=5, baseline=1),
        expected=0.5,
        p_value=0.001,
        window_hours=6,
        unit="stories",
        article_ids=[article.id],
        recipients=[(42, None)],
        now=NOW,
        quiet_since=NOW,
    )
    await db.close()


async def report_store_article(db: Database):  # type: ignore[no-untyped-def]
    from storage.articles import get_article

    article = await get_article(db, 1)
    assert article is not None
    return article


async def _dump(db: Database) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for table in TABLES:
        async with db.reader.execute(f"SELECT * FROM {table}") as cursor:
            rows = await cursor.fetchall()
        # The stored search vector is PostgreSQL's own (generated from title and body), not copied data.
        # subscription_state.version is a change counter: each database bumps its own (db copy once).
        skip = {"rowid", "search_vector"} | ({"version"} if table == "subscription_state" else set())
        names = [n for n in (rows[0].keys() if rows else []) if n not in skip]
        out[table] = sorted((tuple(r[n] for n in names) for r in rows), key=repr)
    return out


async def test_copy_moves_every_table_keeps_ids_and_is_safe_to_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pantau.db"
    await _installation(path)
    async with pg_schema() as url:
        assert await asyncio.to_thread(main, ["db", "copy", str(path), url]) == 0
        first = capsys.readouterr().out
        assert "articles" in first and "(2 copied now)" in first and "row count matches" in first
        assert await asyncio.to_thread(main, ["db", "copy", str(path), url]) == 0  # again: nothing twice
        again = capsys.readouterr().out
        assert "copied now" in again and all(line.endswith("(0 copied now)") for line in again.splitlines()[:-1])

        source, target = await open_database(path), await open_database(url)
        try:
            copied = await _dump(target)
            assert copied == await _dump(source)
            assert all(copied[t] for t in TABLES), [t for t in TABLES if not copied[t]]
            # New rows get ids past the copied ones, and the copy works as a database (search, stories).
            feed = await feed_store.add_feed(target, "https://c.example/rss", now=NOW)
            assert feed.id == 3
            from storage.search import search_articles

            assert [a.id for a in (await search_articles(target, "klewer")).articles] == [1]
        finally:
            await source.close()
            await target.close()


async def test_copy_refuses_bad_input_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pantau.db"
    assert await asyncio.to_thread(main, ["db", "copy", str(path), "postgresql://postgres@127.0.0.1/test"]) == 2
    assert capsys.readouterr().err.strip() == f"pantau: db copy: no SQLite database at {path}"
    await _installation(path)
    assert await asyncio.to_thread(main, ["db", "copy", str(path), str(tmp_path / "other.db")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    async with pg_schema() as url:
        target = await open_database(url)
        await feed_store.add_feed(target, "https://other.example/rss", now=NOW)  # a different installation
        await target.close()
        assert await asyncio.to_thread(main, ["db", "copy", str(path), url]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "nothing was copied" in err
        target = await open_database(url)
        try:
            assert [f.url for f in await feed_store.list_feeds(target)] == ["https://other.example/rss"]
            async with target.reader.execute("SELECT count(*) FROM articles") as cursor:
                assert (await cursor.fetchone())[0] == 0
        finally:
            await target.close()
