"""Subscriptions and their indexed lookup by Kab/Kota and case."""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable
from datetime import datetime

from bot.errors import InputError, NotFoundError
from bot.models import Sentiment, Subscription, SubscriptionFilter
from storage.backend import Connection, Row, cache_key, insert_returning_id
from storage.db import Database
from storage.timeutil import from_db, to_db


def _subscription(row: Row, areas: Iterable[str], cases: Iterable[str]) -> Subscription:
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
        number=row["number"] or 0,
    )


async def add_subscription(
    db: Database,
    chat_id: int,
    flt: SubscriptionFilter,
    *,
    thread_id: int | None,
    now: datetime,
    created_by: int | None = None,
) -> Subscription:
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT coalesce(max(number), 0) + 1 FROM subscriptions WHERE chat_id = ?", (chat_id,)
        ) as numbers:
            row = await numbers.fetchone()
        number = int(row[0]) if row else 1
        sub_id = await insert_returning_id(
            conn,
            "INSERT INTO subscriptions (chat_id, number, thread_id, any_area, any_case, sentiments,"
            " include_keywords, exclude_keywords, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                chat_id,
                number,
                thread_id,
                int(not flt.area_codes),
                int(not flt.cases),
                ",".join(sorted(s.value for s in flt.sentiments)),
                json.dumps(list(flt.include_keywords), ensure_ascii=False),
                json.dumps(list(flt.exclude_keywords), ensure_ascii=False),
                created_by,
                to_db(now),
            ),
        )
        assert sub_id is not None
        await conn.executemany(
            "INSERT INTO subscription_areas (subscription_id, area_code) VALUES (?, ?)",
            [(sub_id, code) for code in sorted(flt.area_codes)],
        )
        await conn.executemany(
            "INSERT INTO subscription_cases (subscription_id, case_key) VALUES (?, ?)",
            [(sub_id, key) for key in sorted(flt.cases)],
        )
    return Subscription(id=sub_id, chat_id=chat_id, thread_id=thread_id, filter=flt, created_at=now, number=number)


async def _load(conn: Connection, rows: list[Row]) -> list[Subscription]:
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
    async with db.reader.execute("SELECT * FROM subscriptions WHERE chat_id = ? ORDER BY id", (chat_id,)) as cursor:
        rows = list(await cursor.fetchall())
    return await _load(db.reader, rows)


async def get_subscription(db: Database, chat_id: int, number: int) -> Subscription:
    """A chat's subscription by its number in that chat (#1, #2 …)."""
    async with db.reader.execute(
        "SELECT * FROM subscriptions WHERE number = ? AND chat_id = ?", (number, chat_id)
    ) as cursor:
        rows = list(await cursor.fetchall())
    if not rows:
        raise NotFoundError(f"no subscription {number} in this chat")
    return (await _load(db.reader, rows))[0]


async def count_subscriptions(db: Database, chat_id: int | None = None) -> int:
    """Subscriptions of one chat, or of every chat when chat_id is None."""
    query = "SELECT count(*) FROM subscriptions"
    args: tuple[object, ...] = ()
    if chat_id is not None:
        query, args = query + " WHERE chat_id = ?", (chat_id,)
    async with db.reader.execute(query, args) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def remove_subscription(db: Database, chat_id: int, number: int) -> None:
    """Remove a chat's subscription by its number in that chat; NotFoundError if it has none such."""
    async with db.transaction() as conn:
        cursor = await conn.execute("DELETE FROM subscriptions WHERE number = ? AND chat_id = ?", (number, chat_id))
        if cursor.rowcount == 0:
            raise NotFoundError(f"no subscription {number} in this chat")


async def remove_all_subscriptions(db: Database, chat_id: int) -> int:
    async with db.transaction() as conn:
        cursor = await conn.execute("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,))
        return cursor.rowcount


async def candidate_subscriptions(
    conn: Connection, area_codes: Iterable[str], cases: Iterable[str]
) -> list[Subscription]:
    """Subscriptions of active chats (paused ones too: they hold alerts) that could match an article with
    these areas and cases.

    Served from an in-memory index of every active subscription (by area code and by case), reloaded
    whenever `subscription_state.version` — bumped by triggers on any change to subscriptions, their
    areas and cases, or a chat's active/paused state — differs from the one it was built at. One
    tiny read per call instead of a join and three queries over 100,000 rows. The caller still checks
    sentiment and keywords with bot.subscriptions.matching.filter_matches. Ordered by (chat_id, id).

    Matching many articles in one transaction: call `subscription_index` once and then
    `index.candidates(...)` per article — the version cannot change while the transaction holds the
    write lock, and the per-call read is a third of the time at 1,000 articles.
    """
    return (await subscription_index(conn)).candidates(area_codes, cases)


async def subscription_index(conn: Connection) -> SubscriptionIndex:
    """The current in-memory subscription index of `conn`, rebuilt if subscriptions changed since."""
    async with conn.execute("SELECT version FROM subscription_state WHERE id = 1") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else -1
    key = cache_key(conn)
    index = _indexes.get(key)
    if index is None or index.version != version:
        index = _indexes[key] = await _build_index(conn, version)
    return index


_Entry = tuple[int, frozenset[str], Subscription]  # (rank in (chat_id, id) order, cases, subscription)


class SubscriptionIndex:
    """Active subscriptions by area code; those for any area by case (or "any case" too)."""

    __slots__ = ("version", "by_area", "anywhere_by_case", "anything")

    def __init__(self, version: int, subs: list[Subscription]) -> None:
        self.version = version
        self.by_area: dict[str, list[_Entry]] = {}
        self.anywhere_by_case: dict[str, list[_Entry]] = {}
        self.anything: list[_Entry] = []  # no area, no case: every article is a candidate
        # An int rank per subscription: sorting and hashing ints is cheaper than (chat_id, id) tuples.
        for rank, sub in enumerate(sorted(subs, key=lambda s: (s.chat_id, s.id))):
            flt = sub.filter
            entry = (rank, flt.cases, sub)
            if flt.area_codes:
                for code in flt.area_codes:
                    self.by_area.setdefault(code, []).append(entry)
            elif flt.cases:
                for key in flt.cases:
                    self.anywhere_by_case.setdefault(key, []).append(entry)
            else:
                self.anything.append(entry)

    def candidates(self, area_codes: Iterable[str], cases: Iterable[str]) -> list[Subscription]:
        keys = cases if isinstance(cases, frozenset) else frozenset(cases)
        found: dict[int, Subscription] = {rank: sub for rank, _, sub in self.anything}
        for key in keys:
            for rank, _, sub in self.anywhere_by_case.get(key, ()):
                found[rank] = sub
        codes = area_codes if isinstance(area_codes, (set, frozenset)) else set(area_codes)
        for code in codes:
            for rank, sub_cases, sub in self.by_area.get(code, ()):
                if not sub_cases or not keys.isdisjoint(sub_cases):
                    found[rank] = sub
        return [found[rank] for rank in sorted(found)]


# One index per writer connection (PostgreSQL: per database); dropped with it.
_indexes: weakref.WeakKeyDictionary[object, SubscriptionIndex] = weakref.WeakKeyDictionary()


async def _build_index(conn: Connection, version: int) -> SubscriptionIndex:
    async with conn.execute(
        # Paused chats are included: their alerts are queued and held (storage.chats), not dropped.
        "SELECT s.* FROM subscriptions s JOIN chats c ON c.id = s.chat_id WHERE c.active = 1"
    ) as cursor:
        rows = list(await cursor.fetchall())
    areas: dict[int, list[str]] = {row["id"]: [] for row in rows}
    cases: dict[int, list[str]] = {row["id"]: [] for row in rows}
    async with conn.execute("SELECT subscription_id, area_code FROM subscription_areas") as cursor:
        for sub_id, code in await cursor.fetchall():
            if sub_id in areas:
                areas[sub_id].append(code)
    async with conn.execute("SELECT subscription_id, case_key FROM subscription_cases") as cursor:
        for sub_id, key in await cursor.fetchall():
            if sub_id in cases:
                cases[sub_id].append(key)
    return SubscriptionIndex(version, [_subscription(row, areas[row["id"]], cases[row["id"]]) for row in rows])


MAX_PER_CHAT = 50


class SubscriptionLimitError(InputError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"Satu chat paling banyak punya {limit} langganan. Hapus dulu yang tidak perlu (/daftar).")
        self.limit = limit


async def subscribe(
    db: Database,
    chat_id: int,
    flt: SubscriptionFilter,
    *,
    thread_id: int | None,
    now: datetime,
    created_by: int | None = None,
    limit: int = MAX_PER_CHAT,
) -> tuple[Subscription, bool]:
    """Add a subscription unless the chat (same topic) has an identical one; (subscription, created?)."""
    existing = await list_subscriptions(db, chat_id)
    for sub in existing:
        if sub.thread_id == thread_id and _same(sub.filter, flt):
            return sub, False
    if len(existing) >= limit:
        raise SubscriptionLimitError(limit)
    sub = await add_subscription(db, chat_id, flt, thread_id=thread_id, now=now, created_by=created_by)
    return sub, True


def _same(a: SubscriptionFilter, b: SubscriptionFilter) -> bool:
    def fold(words: tuple[str, ...]) -> frozenset[str]:
        return frozenset(w.casefold() for w in words)

    return (
        a.area_codes == b.area_codes
        and a.cases == b.cases
        and a.sentiments == b.sentiments
        and fold(a.include_keywords) == fold(b.include_keywords)
        and fold(a.exclude_keywords) == fold(b.exclude_keywords)
    )
