"""Stories: rows of the `stories` table and `articles.story_id`, kept in the transaction that stores
the article (bot/ingest/stories.py decides which story; this module only reads and writes).

What phase-2 consumers (alert edits, digests and /latest by story) read: `get_story`, `story_articles`,
`recent_stories`, and `articles.story_id` on every stored article.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.models import Article
from storage.articles import article_from_row
from storage.backend import Connection, Row, insert_returning_id
from storage.db import Database
from storage.timeutil import from_db, to_db


@dataclass(frozen=True, slots=True)
class Story:
    id: int
    title: str  # the representative report's title
    representative_id: int | None
    first_at: datetime
    last_at: datetime
    reports: int
    outlets: tuple[str, ...]  # distinct sources, in order of their first report
    city_codes: tuple[str, ...]  # union of the reports' Kab/Kota codes, first seen first
    cases: tuple[str, ...]  # union of the reports' case keys, first seen first


def _story(row: Row) -> Story:
    first, last = from_db(row["first_at"]), from_db(row["last_at"])
    assert first is not None and last is not None
    return Story(
        id=row["id"],
        title=row["title"],
        representative_id=row["representative_id"],
        first_at=first,
        last_at=last,
        reports=row["reports"],
        outlets=tuple(json.loads(row["outlets"])),
        city_codes=tuple(json.loads(row["city_codes"])),
        cases=tuple(json.loads(row["cases"])),
    )


def report_time(article: Article) -> datetime:
    """When a report counts as published: the feed's date, but never after we fetched it."""
    published = article.published_at
    if published is None or published > article.fetched_at:
        return article.fetched_at
    return published


def _labels(article: Article) -> tuple[list[str], list[str]]:
    cls = article.classification
    cities = [p.code for p in (cls.city, *cls.other_cities) if p is not None]
    return cities, list(cls.cases)


def _merge(old: Sequence[str], new: Sequence[str]) -> list[str]:
    out = list(old)
    out.extend(x for x in dict.fromkeys(new) if x not in out)
    return out


async def create_story(conn: Connection, article: Article, *, now: datetime) -> int:
    """A new story whose first report is `article` (inside the caller's transaction)."""
    cities, cases = _labels(article)
    when = to_db(report_time(article))
    story_id = await insert_returning_id(
        conn,
        "INSERT INTO stories (title, representative_id, first_at, last_at, reports, outlets, city_codes, cases,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
        (
            article.title,
            article.id,
            when,
            when,
            json.dumps([article.source] if article.source else [], ensure_ascii=False),
            json.dumps(list(dict.fromkeys(cities))),
            json.dumps(list(dict.fromkeys(cases))),
            to_db(now),
            to_db(now),
        ),
    )
    assert story_id is not None
    await conn.execute("UPDATE articles SET story_id = ? WHERE id = ?", (story_id, article.id))
    return story_id


async def add_report(
    conn: Connection, story_id: int, article: Article, *, representative_id: int | None, now: datetime
) -> Story:
    """Add `article` to story `story_id`: counts, times, outlets, label unions, representative title.
    Returns the story as it was before (what decides whether the report changes it materially)."""
    async with conn.execute("SELECT * FROM stories WHERE id = ?", (story_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise LookupError(f"story {story_id} does not exist")
    story = _story(row)
    cities, cases = _labels(article)
    when = report_time(article)
    title, rep = story.title, story.representative_id
    if representative_id is not None and representative_id != rep:
        async with conn.execute("SELECT title FROM articles WHERE id = ?", (representative_id,)) as cursor:
            trow = await cursor.fetchone()
        if trow is not None:
            title, rep = trow[0], representative_id
    await conn.execute(
        "UPDATE stories SET title = ?, representative_id = ?, first_at = ?, last_at = ?, reports = reports + 1,"
        " outlets = ?, city_codes = ?, cases = ?, updated_at = ? WHERE id = ?",
        (
            title,
            rep,
            to_db(min(story.first_at, when)),
            to_db(max(story.last_at, when)),
            json.dumps(_merge(story.outlets, [article.source] if article.source else []), ensure_ascii=False),
            json.dumps(_merge(story.city_codes, cities)),
            json.dumps(_merge(story.cases, cases)),
            to_db(now),
            story_id,
        ),
    )
    await conn.execute("UPDATE articles SET story_id = ? WHERE id = ?", (story_id, article.id))
    return story


async def report_titles(conn: Connection, story_id: int, *, exclude: int) -> list[str]:
    """Titles of a story's reports other than `exclude` (inside the caller's transaction)."""
    async with conn.execute(
        "SELECT title FROM articles WHERE story_id = ? AND id != ? ORDER BY id", (story_id, exclude)
    ) as cursor:
        return [str(row[0]) for row in await cursor.fetchall()]


async def window_articles(conn: Connection, since: datetime) -> list[Article]:
    """Every report of the stories still open at `since` (latest report at or after it), oldest first,
    with `story_id` — what the assigner's in-memory window is rebuilt from after a restart."""
    async with conn.execute(
        "SELECT a.* FROM articles a JOIN stories s ON s.id = a.story_id WHERE s.last_at >= ?"
        # The earlier of publication and fetch time (CASE: portable, and NULL-safe like coalesce(min(…)).
        " ORDER BY CASE WHEN a.published_at < a.fetched_at THEN a.published_at ELSE a.fetched_at END, a.id",
        (to_db(since),),
    ) as cursor:
        rows = await cursor.fetchall()
    return [article_from_row(r) for r in rows]


async def story_ids_of(conn: Connection, article_ids: Sequence[int]) -> dict[int, int]:
    """article id -> story id, for the given articles that have one."""
    out: dict[int, int] = {}
    for start in range(0, len(article_ids), 500):
        chunk = list(article_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        async with conn.execute(
            f"SELECT id, story_id FROM articles WHERE story_id IS NOT NULL AND id IN ({marks})", chunk
        ) as cursor:
            out.update({int(r[0]): int(r[1]) for r in await cursor.fetchall()})
    return out


async def get_story(db: Database, story_id: int) -> Story | None:
    async with db.reader.execute("SELECT * FROM stories WHERE id = ?", (story_id,)) as cursor:
        row = await cursor.fetchone()
    return _story(row) if row else None


async def stories_by_id(db: Database, ids: Sequence[int]) -> dict[int, Story]:
    """The stories among `ids`, in one query per 500."""
    wanted = sorted(set(ids))
    found: dict[int, Story] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        async with db.conn.execute(f"SELECT * FROM stories WHERE id IN ({marks})", chunk) as cursor:
            for row in await cursor.fetchall():
                found[row["id"]] = _story(row)
    return found


async def reports_of_stories(db: Database, story_ids: Iterable[int]) -> dict[int, list[Article]]:
    """story id → its reports, oldest first, for the given stories that have more than one report.
    One query (per 500 stories): the sender reads this once per planning step, not per send."""
    wanted = sorted(set(story_ids))
    out: dict[int, list[Article]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        async with db.conn.execute(
            f"SELECT a.* FROM articles a WHERE a.story_id IN"
            f" (SELECT id FROM stories WHERE id IN ({marks}) AND reports > 1)"
            " ORDER BY a.story_id, coalesce(a.published_at, a.fetched_at), a.id",
            chunk,
        ) as cursor:
            for row in await cursor.fetchall():
                article = article_from_row(row)
                out.setdefault(row["story_id"], []).append(article)
    return out


async def story_articles(db: Database, story_id: int) -> list[Article]:
    """The reports of a story, oldest first."""
    async with db.reader.execute(
        "SELECT * FROM articles WHERE story_id = ? ORDER BY coalesce(published_at, fetched_at), id", (story_id,)
    ) as cursor:
        rows = await cursor.fetchall()
    return [article_from_row(r) for r in rows]


async def recent_stories(db: Database, *, limit: int = 20, since: datetime | None = None) -> list[Story]:
    """Stories by their latest report, newest first."""
    if since is None:
        sql, args = "SELECT * FROM stories ORDER BY last_at DESC, id DESC LIMIT ?", (limit,)
    else:
        sql = "SELECT * FROM stories WHERE last_at >= ? ORDER BY last_at DESC, id DESC LIMIT ?"
        args = (to_db(since), limit)  # type: ignore[assignment]
    async with db.reader.execute(sql, args) as cursor:
        rows = await cursor.fetchall()
    return [_story(r) for r in rows]
