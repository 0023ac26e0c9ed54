"""Articles: dedup on insert, the FTS index, and queueing their alerts in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.models import Article, Classification, FeedItem, Place, Sentiment
from storage.backend import Connection, Row, insert_returning_id
from storage.db import Database
from storage.timeutil import from_db, to_db


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An unseen feed item ready to store: its normalized link and its classification."""

    item: FeedItem
    link: str  # normalized
    classification: Classification
    alert: bool  # False on a feed's first poll (beyond its backfill)
    body: str | None = None  # the text classified and stored; None = the item's summary
    text_source: str = "feed"  # "page" when body is the article page's text
    feed_text: str | None = None  # the feed's own text, kept when the page's text won
    page_error: str | None = None  # why a wanted page was not used (classified on the teaser)


def _place_json(place: Place) -> list[str]:
    return [place.code, place.name, place.province]


def _classification(row: Row) -> Classification:
    city = None
    if row["city_code"]:
        city = Place(name=row["city_name"] or row["city_code"], code=row["city_code"], province=row["province"])
    others = tuple(Place(code=c, name=n, province=p) for c, n, p in json.loads(row["other_cities"]))
    return Classification(
        city=city,
        other_cities=others,
        province=row["province"],
        cases=tuple(json.loads(row["cases"])),
        sentiment=Sentiment(row["sentiment"]),
        confidence=row["confidence"],
        evidence=json.loads(row["evidence"]),
    )


def article_from_row(row: Row) -> Article:
    fetched = from_db(row["fetched_at"])
    assert fetched is not None
    return Article(
        id=row["id"],
        feed_id=row["feed_id"],
        link=row["url"],
        title=row["title"],
        body=row["body"],
        author=row["author"],
        source=row["source"],
        published_at=from_db(row["published_at"]),
        fetched_at=fetched,
        classification=_classification(row),
        # `in row` would look at the values of an sqlite3.Row, not its column names.
        story_id=row["story_id"] if "story_id" in row.keys() else None,  # noqa: SIM118
        text_source=row["text_source"],
        page_error=row["page_error"],
        corrected=frozenset(f for f in row["corrected"].split(",") if f),
    )


async def unseen_items(db: Database, feed_id: int, items: Sequence[tuple[FeedItem, str]]) -> list[int]:
    """Indexes of items (item, normalized link) whose guid this feed never showed and whose link is new.

    Called before classification so only new items cost CPU. The insert re-checks under the
    transaction, so a race between two feeds carrying the same story still stores it once.
    """
    if not items:
        return []
    seen_guids: set[str] = set()
    known_links: set[str] = set()
    guids = [item.guid for item, _ in items]
    links = [link for _, link in items]
    # Chunk to stay under SQLite's host-parameter limit on large feeds.
    for start in range(0, len(guids), 500):
        chunk = guids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        async with db.reader.execute(
            f"SELECT guid FROM feed_items WHERE feed_id = ? AND guid IN ({marks})", (feed_id, *chunk)
        ) as cursor:
            seen_guids.update(row[0] for row in await cursor.fetchall())
    for start in range(0, len(links), 500):
        chunk = links[start : start + 500]
        marks = ",".join("?" * len(chunk))
        async with db.reader.execute(f"SELECT link FROM articles WHERE link IN ({marks})", chunk) as cursor:
            known_links.update(row[0] for row in await cursor.fetchall())
    fresh: list[int] = []
    batch_links: set[str] = set()
    batch_guids: set[str] = set()
    for index, (item, link) in enumerate(items):
        if item.guid in seen_guids or item.guid in batch_guids:
            continue
        if link in known_links or link in batch_links:
            continue
        batch_guids.add(item.guid)
        batch_links.add(link)
        fresh.append(index)
    return fresh


async def mark_items_seen(conn: Connection, feed_id: int, items: Iterable[tuple[FeedItem, str]], now: datetime) -> None:
    """Remember guids of items that were not stored here (known links), linking them to the article."""
    for item, link in items:
        await conn.execute(
            "INSERT INTO feed_items (feed_id, guid, article_id, seen_at)"
            " VALUES (?, ?, (SELECT id FROM articles WHERE link = ?), ?) ON CONFLICT DO NOTHING",
            (feed_id, item.guid, link, to_db(now)),
        )


async def insert_article(
    conn: Connection,
    new: NewArticle,
    *,
    feed_id: int | None,
    source: str | None,
    now: datetime,
) -> Article | None:
    """Insert one article (inside the caller's transaction); None when its link or guid is known."""
    item, cls = new.item, new.classification
    body = item.summary if new.body is None else new.body
    if feed_id is not None:
        cursor = await conn.execute(
            "INSERT INTO feed_items (feed_id, guid, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (feed_id, item.guid, to_db(now)),
        )
        if cursor.rowcount == 0:
            return None
    article_id = await insert_returning_id(
        conn,
        "INSERT INTO articles (link, url, feed_id, title, body, author, source, published_at,"
        " fetched_at, city_code, city_name, province, other_cities, cases, sentiment, confidence, evidence,"
        " text_source, feed_text, page_error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            new.link,
            item.link or new.link,
            feed_id,
            item.title,
            body,
            item.author,
            source,
            to_db(item.published),
            to_db(now),
            cls.city.code if cls.city else None,
            cls.city.name if cls.city else None,
            cls.province,
            json.dumps([_place_json(p) for p in cls.other_cities]),
            json.dumps(list(cls.cases)),
            cls.sentiment.value,
            cls.confidence,
            json.dumps(cls.evidence, ensure_ascii=False),
            new.text_source,
            new.feed_text,
            new.page_error,
        ),
    )
    if article_id is None:
        if feed_id is not None:
            await conn.execute(
                "UPDATE feed_items SET article_id = (SELECT id FROM articles WHERE link = ?)"
                " WHERE feed_id = ? AND guid = ?",
                (new.link, feed_id, item.guid),
            )
        return None
    if feed_id is not None:
        await conn.execute(
            "UPDATE feed_items SET article_id = ? WHERE feed_id = ? AND guid = ?",
            (article_id, feed_id, item.guid),
        )
    await conn.executemany(
        "INSERT INTO article_cases (article_id, case_key, rank) VALUES (?, ?, ?)",
        [(article_id, key, rank) for rank, key in enumerate(cls.cases)],
    )
    return Article(
        id=article_id,
        feed_id=feed_id,
        link=item.link or new.link,
        title=item.title,
        body=body,
        author=item.author,
        source=source,
        published_at=item.published,
        fetched_at=now,
        classification=cls,
        text_source=new.text_source,
        page_error=new.page_error,
    )


async def get_article(db: Database, article_id: int) -> Article | None:
    async with db.reader.execute("SELECT * FROM articles WHERE id = ?", (article_id,)) as cursor:
        row = await cursor.fetchone()
    return article_from_row(row) if row else None


async def count_articles(db: Database) -> int:
    async with db.reader.execute("SELECT count(*) FROM articles") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
