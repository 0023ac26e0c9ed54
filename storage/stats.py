"""Numbers for the admins' /stats: articles per day, case and Kab/Kota; feed health; the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import chats as chat_store
from storage import deliveries as delivery_store
from storage import subscriptions as sub_store
from storage.db import Database
from storage.timeutil import to_db


@dataclass(frozen=True, slots=True)
class FeedHealth:
    id: int
    name: str
    error_count: int
    last_error: str | None
    last_success_at: str | None


@dataclass(frozen=True, slots=True)
class Stats:
    articles_total: int
    per_day: list[tuple[str, int]]  # ("2024-12-18", n) in WIB, oldest first
    per_case: list[tuple[str, int]]
    per_city: list[tuple[str, int]]
    feeds_total: int
    feeds_failing: list[FeedHealth]  # error_count > 0, worst first (the `top` worst)
    feeds_stale: int  # no success for a day (or never)
    outbox: dict[str, int]  # status → rows
    sent_last_day: int
    failure_reasons: list[tuple[str, int]]
    chats: dict[str, int]
    subscriptions: int
    feeds_failing_total: int = 0  # how many feeds fail, all of them (0: not counted, see feeds_failing)


async def _pairs(db: Database, query: str, args: tuple[object, ...]) -> list[tuple[str, int]]:
    async with db.reader.execute(query, args) as cursor:
        return [(str(row[0]), int(row[1])) for row in await cursor.fetchall()]


async def _scalar(db: Database, query: str, args: tuple[object, ...] = ()) -> int:
    async with db.reader.execute(query, args) as cursor:
        row = await cursor.fetchone()
    return int(row[0] or 0) if row else 0


async def collect_stats(db: Database, *, now: datetime, days: int = 7, top: int = 10) -> Stats:
    since = to_db(now - timedelta(days=days))
    day_ago = to_db(now - timedelta(days=1))
    per_day = await _pairs(
        db,
        f"SELECT {db.dialect.shifted_time('fetched_at', 7, 'day')} AS d, count(*) FROM articles"
        " WHERE fetched_at >= ? GROUP BY d ORDER BY d",
        (since,),
    )
    per_case = await _pairs(
        db,
        "SELECT c.case_key, count(*) AS n FROM article_cases c JOIN articles a ON a.id = c.article_id"
        " WHERE a.fetched_at >= ? GROUP BY c.case_key ORDER BY n DESC, c.case_key LIMIT ?",
        (since, top),
    )
    per_city = await _pairs(
        db,
        "SELECT coalesce(max(city_name), city_code), count(*) AS n FROM articles"
        " WHERE fetched_at >= ? AND city_code IS NOT NULL GROUP BY city_code ORDER BY n DESC, 1 LIMIT ?",
        (since, top),
    )
    async with db.reader.execute(
        "SELECT id, coalesce(name, title, url), error_count, last_error, last_success_at FROM feeds"
        " WHERE error_count > 0 ORDER BY error_count DESC, id LIMIT ?",
        (top,),
    ) as cursor:
        failing = [FeedHealth(r[0], r[1], r[2], r[3], r[4]) for r in await cursor.fetchall()]
    return Stats(
        articles_total=await _scalar(db, "SELECT count(*) FROM articles"),
        per_day=per_day,
        per_case=per_case,
        per_city=per_city,
        feeds_total=await _scalar(db, "SELECT count(*) FROM feeds"),
        feeds_failing=failing,
        feeds_failing_total=await _scalar(db, "SELECT count(*) FROM feeds WHERE error_count > 0"),
        feeds_stale=await _scalar(
            db, "SELECT count(*) FROM feeds WHERE last_success_at IS NULL OR last_success_at < ?", (day_ago,)
        ),
        outbox=await delivery_store.count_by_status(db),
        sent_last_day=await _scalar(
            db, "SELECT count(*) FROM deliveries WHERE status = 'sent' AND kind = 'alert' AND sent_at >= ?", (day_ago,)
        ),
        failure_reasons=await delivery_store.failure_reasons(db),
        chats=await chat_store.count_chats(db, now=now),
        subscriptions=await sub_store.count_subscriptions(db),
    )
