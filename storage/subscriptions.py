"""Subscriptions and their indexed lookup by Kab/Kota and case."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

import aiosqlite

from bot.errors import NotFoundError
from bot.models import Sentiment, Subscription, SubscriptionFilter
from storage.db import Database
from storage.timeutil import from_db, to_db


def _subscription(row: aiosqlite.Row, areas: Iterable[str], cases: Iterable[str]) -> Subscription:
    created = from_db(row["created_at"])
    assert created is not None
    sentiments = frozenset(Sentiment(s) for s in row["sentiments"].split(",") if s)
    return Subscription(
        id=row["id"],
        chat_id=row["chat_id"],
        thread_id=row["thread_id"],
        filter=SubscriptionFilter(
            area_codes=frozenset(areas),
            cases=frozenset(cases),
            sentiments=sentiments,
            include_keywords=tuple(json.loads(row["include_keywords"])),
            exclude_keywords=tuple(json.loads(row["exclude_keywords"])),
        ),
        created_at=created,
    )


async def add_subscription(
    db: Database, chat_id: int, flt: SubscriptionFilter, *, thread_id: int | None, now: datetime
) -> Subscription:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO subscriptions (chat_id, thread_id, any_area, any_case, sentiments,"
            " include_keywords, exclude_keywords, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                chat_id,
                thread_id,
                int(not flt.area_codes),
                int(not flt.cases),
                ",".join(sorted(s.value for s in flt.sentiments)),
                json.dumps(list(flt.include_keywords), ensure_ascii=False),
                json.dumps(list(flt.exclude_keywords), ensure_ascii=False),
                to_db(now),
            ),
        )
        sub_id = cursor.lastrowid
        assert sub_id is not None
        await conn.executemany(
            "INSERT INTO subscription_areas (subscription_id, area_code) VALUES (?, ?)",
            [(sub_id, code) for code in sorted(flt.area_codes)],
        )
        await conn.executemany(
            "INSERT INTO subscription_cases (subscription_id, case_key) VALUES (?, ?)",
            [(sub_id, key) for key in sorted(flt.cases)],
        )
    return Subscription(id=sub_id, chat_id=chat_id, thread_id=thread_id, filter=flt, created_at=now)


async def _load(conn: aiosqlite.Connection, rows: list[aiosqlite.Row]) -> list[Subscription]:
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    areas: dict[int, list[str]] = {i: [] for i in ids}
    cases: dict[int, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        async with conn.execute(
            f"SELECT subscription_id, area_code FROM subscription_areas WHERE subscription_id IN ({marks})",
            chunk,
        ) as cursor:
            for sub_id, code in await cursor.fetchall():
                areas[sub_id].append(code)
        async with conn.execute(
            f"SELECT subscription_id, case_key FROM subscription_cases WHERE subscription_id IN ({marks})",
            chunk,
        ) as cursor:
            for sub_id, key in await cursor.fetchall():
                cases[sub_id].append(key)
    return [_subscription(row, areas[row["id"]], cases[row["id"]]) for row in rows]


async def list_subscriptions(db: Database, chat_id: int) -> list[Subscription]:
    async with db.conn.execute("SELECT * FROM subscriptions WHERE chat_id = ? ORDER BY id", (chat_id,)) as cursor:
        rows = list(await cursor.fetchall())
    return await _load(db.conn, rows)


async def remove_subscription(db: Database, chat_id: int, subscription_id: int) -> None:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "DELETE FROM subscriptions WHERE id = ? AND chat_id = ?", (subscription_id, chat_id)
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"no subscription {subscription_id} in this chat")


async def remove_all_subscriptions(db: Database, chat_id: int) -> int:
    async with db.transaction() as conn:
        cursor = await conn.execute("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,))
        return cursor.rowcount


async def candidate_subscriptions(
    conn: aiosqlite.Connection, area_codes: Iterable[str], cases: Iterable[str]
) -> list[Subscription]:
    """Subscriptions of active, unpaused chats that could match an article with these areas and cases.

    Uses the (area_code, …) and (case_key, …) primary-key indexes; never scans every subscription.
    The caller still checks sentiment and keywords with bot.matching.filter_matches.
    """
    areas = sorted(set(area_codes))
    keys = sorted(set(cases))
    area_marks = ",".join("?" * len(areas)) or "NULL"
    case_marks = ",".join("?" * len(keys)) or "NULL"
    query = f"""
        WITH by_area AS (
            SELECT id FROM subscriptions WHERE any_area = 1
            UNION SELECT subscription_id FROM subscription_areas WHERE area_code IN ({area_marks})
        ), by_case AS (
            SELECT id FROM subscriptions WHERE any_case = 1
            UNION SELECT subscription_id FROM subscription_cases WHERE case_key IN ({case_marks})
        )
        SELECT s.* FROM subscriptions s
        JOIN chats c ON c.id = s.chat_id
        WHERE s.id IN (SELECT id FROM by_area INTERSECT SELECT id FROM by_case)
          AND c.active = 1 AND c.paused = 0
        ORDER BY s.chat_id, s.id
    """
    async with conn.execute(query, (*areas, *keys)) as cursor:
        rows = list(await cursor.fetchall())
    return await _load(conn, rows)
