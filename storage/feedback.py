"""Analysts' feedback: label corrections (and applying trusted ones to the article), muted sources, and the
numbers behind `/stats` and `pantau feedback stats`.

A correction row is always written; a trusted one also rewrites the article's labels in the same
transaction — its columns, the `article_cases` index /latest and /stats filter on, and its story's label
unions — so everything that reads the article afterwards sees the corrected label. Title and body do not
change, so the full-text index needs nothing.
"""

from __future__ import annotations

import dataclasses
import json
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.models import Article, LabelCorrection
from storage.articles import article_from_row
from storage.backend import Connection, Row, cache_key
from storage.db import Database
from storage.timeutil import from_db, to_db

FIELDS = ("city", "cases", "sentiment", "relevance")
LABEL_FIELDS = ("city", "cases", "sentiment")


@dataclass(frozen=True, slots=True)
class Correction:
    id: int
    article_id: int
    chat_id: int
    user_id: int | None
    trusted: bool
    field: str
    old_value: Any  # JSON value: city code or None, list of case keys, sentiment value
    new_value: Any
    created_at: datetime


def _correction(row: Row) -> Correction:
    created = from_db(row["created_at"])
    assert created is not None
    return Correction(
        id=row["id"],
        article_id=row["article_id"],
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        trusted=bool(row["trusted"]),
        field=row["field"],
        old_value=json.loads(row["old_value"]),
        new_value=json.loads(row["new_value"]),
        created_at=created,
    )


def _old_json(article: Article, field: str) -> Any:
    cls = article.classification
    if field == "city":
        return cls.city.code if cls.city else None
    if field == "cases":
        return list(cls.cases)
    if field == "sentiment":
        return cls.sentiment.value
    return "relevant"


def _new_json(change: LabelCorrection) -> Any:
    if change.field == "city":
        return change.city.code if change.city else None
    if change.field == "cases":
        return list(change.cases)
    if change.field == "sentiment":
        assert change.sentiment is not None
        return change.sentiment.value
    return "not_for_me"


async def delivered_article(db: Database, chat_id: int, article_id: int, message_id: int | None) -> Article | None:
    """The article if this chat was sent it (in `message_id`, when given); None for another chat's article."""
    # Edit rows only named the article under another alert (issue #10): the chat was not sent it.
    sql = (
        "SELECT a.* FROM deliveries d JOIN articles a ON a.id = d.article_id"
        " WHERE d.chat_id = ? AND d.article_id = ? AND d.kind != 'edit'"
    )
    args: list[object] = [chat_id, article_id]
    if message_id is not None:
        sql += " AND d.message_id = ?"
        args.append(message_id)
    async with db.reader.execute(sql, args) as cursor:
        row = await cursor.fetchone()
    return article_from_row(row) if row else None


async def delivery_reason(db: Database, chat_id: int, article_id: int) -> str:
    async with db.reader.execute(
        "SELECT reason FROM deliveries WHERE chat_id = ? AND article_id = ? AND kind != 'edit'", (chat_id, article_id)
    ) as cursor:
        row = await cursor.fetchone()
    return str(row[0]) if row and row[0] else ""


async def record_correction(
    db: Database,
    article: Article,
    change: LabelCorrection,
    *,
    chat_id: int,
    user_id: int | None,
    trusted: bool,
    now: datetime,
) -> Article:
    """Store one correction; a trusted label correction also rewrites the stored article. Returns the
    article as the chat should now see it (the stored one, or with the suggestion applied for display)."""
    async with db.transaction() as conn:
        # The old value is read inside the transaction: another trusted correction may have landed.
        async with conn.execute("SELECT * FROM articles WHERE id = ?", (article.id,)) as cursor:
            row = await cursor.fetchone()
        current = article_from_row(row) if row else article
        await conn.execute(
            "INSERT INTO corrections (article_id, chat_id, user_id, trusted, field, old_value, new_value, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id,
                chat_id,
                user_id,
                int(trusted),
                change.field,
                json.dumps(_old_json(current, change.field)),
                json.dumps(_new_json(change)),
                to_db(now),
            ),
        )
        if change.field not in LABEL_FIELDS:
            return current
        corrected = apply_change(current, change)
        if trusted and row is not None:
            await _write_labels(conn, corrected)
        return corrected


def apply_change(article: Article, change: LabelCorrection) -> Article:
    """`article` with one label replaced and marked corrected (pure)."""
    cls = article.classification
    if change.field == "city":
        city = change.city
        # "No Kab/Kota" means the event has no place of its own: the other places go too.
        others = tuple(p for p in cls.other_cities if p.code != city.code) if city else ()
        cls = dataclasses.replace(cls, city=city, other_cities=others, province=city.province if city else None)
    elif change.field == "cases":
        cls = dataclasses.replace(cls, cases=tuple(dict.fromkeys(change.cases)))
    elif change.field == "sentiment":
        assert change.sentiment is not None
        cls = dataclasses.replace(cls, sentiment=change.sentiment)
    else:
        return article
    return dataclasses.replace(article, classification=cls, corrected=article.corrected | {change.field})


async def _write_labels(conn: Connection, article: Article) -> None:
    cls = article.classification
    await conn.execute(
        "UPDATE articles SET city_code = ?, city_name = ?, province = ?, other_cities = ?, cases = ?, sentiment = ?,"
        " corrected = ? WHERE id = ?",
        (
            cls.city.code if cls.city else None,
            cls.city.name if cls.city else None,
            cls.province,
            json.dumps([[p.code, p.name, p.province] for p in cls.other_cities]),
            json.dumps(list(cls.cases)),
            cls.sentiment.value,
            ",".join(sorted(article.corrected)),
            article.id,
        ),
    )
    await conn.execute("DELETE FROM article_cases WHERE article_id = ?", (article.id,))
    await conn.executemany(
        "INSERT INTO article_cases (article_id, case_key, rank) VALUES (?, ?, ?)",
        [(article.id, key, rank) for rank, key in enumerate(cls.cases)],
    )
    if article.story_id is not None:
        await _refresh_story_labels(conn, article.story_id)


async def _refresh_story_labels(conn: Connection, story_id: int) -> None:
    """Recompute a story's Kab/Kota and case unions from its reports, first report first."""
    async with conn.execute(
        "SELECT city_code, other_cities, cases FROM articles WHERE story_id = ?"
        " ORDER BY coalesce(published_at, fetched_at), id",
        (story_id,),
    ) as cursor:
        rows = await cursor.fetchall()
    cities: list[str] = []
    cases: list[str] = []
    for city_code, others, keys in rows:
        for code in [city_code, *(o[0] for o in json.loads(others))]:
            if code and code not in cities:
                cities.append(code)
        cases.extend(k for k in json.loads(keys) if k not in cases)
    await conn.execute(
        "UPDATE stories SET city_codes = ?, cases = ? WHERE id = ?", (json.dumps(cities), json.dumps(cases), story_id)
    )


async def corrections_for_export(db: Database, *, trusted_only: bool) -> list[tuple[Article, list[Correction]]]:
    """Every article with at least one label correction, with its corrections oldest first."""
    async with db.reader.execute(
        "SELECT * FROM corrections WHERE field IN ('city', 'cases', 'sentiment') AND trusted >= ?"
        " ORDER BY article_id, id",
        (int(trusted_only),),
    ) as cursor:
        rows = [_correction(r) for r in await cursor.fetchall()]
    by_article: dict[int, list[Correction]] = {}
    for correction in rows:
        by_article.setdefault(correction.article_id, []).append(correction)
    out: list[tuple[Article, list[Correction]]] = []
    ids = list(by_article)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        async with db.reader.execute(f"SELECT * FROM articles WHERE id IN ({marks}) ORDER BY id", chunk) as cursor:
            for row in await cursor.fetchall():
                out.append((article_from_row(row), by_article[row["id"]]))
    return out


# ---------------------------------------------------------------------------------------- muted sources


async def mute_source(db: Database, chat_id: int, source: str, *, user_id: int | None, now: datetime) -> bool:
    """Mute an outlet for a chat; its queued alerts from that outlet are dropped. False if already muted."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO muted_sources (chat_id, source, created_by, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (chat_id, source, user_id, to_db(now)),
        )
        added = cursor.rowcount == 1
        # The chat asked not to get these: pending rows go (they are not failures to count in /stats).
        await conn.execute(
            "DELETE FROM deliveries WHERE chat_id = ? AND status = 'pending'"
            " AND article_id IN (SELECT id FROM articles WHERE source = ?)",
            (chat_id, source),
        )
        return added


async def unmute_source(db: Database, chat_id: int, source: str | None) -> int:
    """Unmute one outlet (or every one, with None); returns how many were unmuted."""
    async with db.transaction() as conn:
        if source is None:
            cursor = await conn.execute("DELETE FROM muted_sources WHERE chat_id = ?", (chat_id,))
        else:
            cursor = await conn.execute("DELETE FROM muted_sources WHERE chat_id = ? AND source = ?", (chat_id, source))
        return cursor.rowcount


async def muted_sources(db: Database, chat_id: int) -> list[str]:
    async with db.reader.execute(
        "SELECT source FROM muted_sources WHERE chat_id = ? ORDER BY created_at, source", (chat_id,)
    ) as cursor:
        return [str(row[0]) for row in await cursor.fetchall()]


class MuteIndex:
    """source → chats that muted it; rebuilt when `subscription_state.version` moves (mute triggers bump it)."""

    __slots__ = ("version", "by_source")

    def __init__(self, version: int, pairs: Sequence[tuple[str, int]]) -> None:
        self.version = version
        self.by_source: dict[str, frozenset[int]] = {}
        grouped: dict[str, set[int]] = {}
        for source, chat_id in pairs:
            grouped.setdefault(source, set()).add(chat_id)
        self.by_source = {source: frozenset(chats) for source, chats in grouped.items()}

    def muted_chats(self, source: str | None) -> frozenset[int]:
        if source is None:
            return frozenset()
        return self.by_source.get(source, frozenset())


_mute_indexes: weakref.WeakKeyDictionary[object, MuteIndex] = weakref.WeakKeyDictionary()


async def mute_index(conn: Connection) -> MuteIndex:
    """Which chats muted which outlet, cached per connection until a mute or subscription change."""
    async with conn.execute("SELECT version FROM subscription_state WHERE id = 1") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else -1
    key = cache_key(conn)
    index = _mute_indexes.get(key)
    if index is None or index.version != version:
        async with conn.execute("SELECT source, chat_id FROM muted_sources") as cursor:
            pairs = [(str(r[0]), int(r[1])) for r in await cursor.fetchall()]
        index = _mute_indexes[key] = MuteIndex(version, pairs)
    return index


# ---------------------------------------------------------------------------------------- numbers


@dataclass(frozen=True, slots=True)
class FeedbackStats:
    per_field: dict[str, tuple[int, int]]  # field → (last 7 days, last 30 days)
    trusted_30: int
    corrected_alerts_30: int  # distinct chat × article corrected in 30 days
    alerts_30: int  # alerts sent in 30 days
    case_changes: list[tuple[str, int, int]]  # (key, wrongly given, missed), most-corrected first
    place_changes: list[tuple[str | None, str | None, int]]  # (old code, new code, n), most frequent first
    muted: int  # chat × outlet mutes in force


async def feedback_stats(db: Database, *, now: datetime, top: int = 10) -> FeedbackStats:
    week, month = to_db(now - timedelta(days=7)), to_db(now - timedelta(days=30))
    per_field = {field: (0, 0) for field in FIELDS}
    async with db.reader.execute(
        "SELECT field, sum(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), count(*) FROM corrections"
        " WHERE created_at >= ? GROUP BY field",
        (week, month),
    ) as cursor:
        for field, n7, n30 in await cursor.fetchall():
            per_field[str(field)] = (int(n7 or 0), int(n30 or 0))

    async def scalar(sql: str, args: tuple[object, ...]) -> int:
        async with db.reader.execute(sql, args) as cursor:
            row = await cursor.fetchone()
        return int(row[0] or 0) if row else 0

    trusted_30 = await scalar("SELECT count(*) FROM corrections WHERE created_at >= ? AND trusted = 1", (month,))
    corrected_alerts = await scalar(
        "SELECT count(*) FROM (SELECT DISTINCT chat_id, article_id FROM corrections WHERE created_at >= ?"
        " AND field IN ('city', 'cases', 'sentiment')) AS pairs",
        (month,),
    )
    alerts = await scalar(
        "SELECT count(*) FROM deliveries WHERE status = 'sent' AND kind = 'alert' AND sent_at >= ?", (month,)
    )
    wrong: dict[str, int] = {}
    missed: dict[str, int] = {}
    places: dict[tuple[str | None, str | None], int] = {}
    async with db.reader.execute(
        "SELECT field, old_value, new_value FROM corrections WHERE created_at >= ? AND field IN ('cases', 'city')",
        (month,),
    ) as cursor:
        for field, old_text, new_text in await cursor.fetchall():
            old, new = json.loads(old_text), json.loads(new_text)
            if field == "cases":
                for key in set(old) - set(new):
                    wrong[key] = wrong.get(key, 0) + 1
                for key in set(new) - set(old):
                    missed[key] = missed.get(key, 0) + 1
            else:
                places[(old, new)] = places.get((old, new), 0) + 1
    keys = sorted(set(wrong) | set(missed), key=lambda k: (-(wrong.get(k, 0) + missed.get(k, 0)), k))
    return FeedbackStats(
        per_field=per_field,
        trusted_30=trusted_30,
        corrected_alerts_30=corrected_alerts,
        alerts_30=alerts,
        case_changes=[(k, wrong.get(k, 0), missed.get(k, 0)) for k in keys[:top]],
        place_changes=[
            (old, new, n) for (old, new), n in sorted(places.items(), key=lambda kv: (-kv[1], str(kv[0])))[:top]
        ],
        muted=await scalar("SELECT count(*) FROM muted_sources", ()),
    )
