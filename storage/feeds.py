"""The feeds table: what to poll, when, and how the last poll went."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.errors import DuplicateError, NotFoundError
from bot.models import Feed
from storage.backend import Connection, Row, insert_returning_id, marks
from storage.db import Database
from storage.timeutil import from_db, to_db


def _feed(row: Row) -> Feed:
    next_check = from_db(row["next_check_at"])
    assert next_check is not None  # NOT NULL column
    return Feed(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        name=row["name"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        default_city_code=row["default_city_code"],
        error_count=row["error_count"],
        last_error=row["last_error"],
        last_checked_at=from_db(row["last_checked_at"]),
        next_check_at=next_check,
        initial_polled=bool(row["initial_polled"]),
        backfill=row["backfill"],
        added_by=row["added_by"],
        last_success_at=from_db(row["last_success_at"]),
        full_text=row["full_text"],
        volatile_params=frozenset(name for name in row["volatile_params"].split(",") if name),
        slow_polls=row["slow_polls"],
        last_fetch_seconds=row["last_fetch_seconds"],
    )


async def add_feed(
    db: Database,
    url: str,
    *,
    now: datetime,
    name: str | None = None,
    default_city_code: str | None = None,
    backfill: int = 0,
    added_by: str = "cli",
    full_text: str = "auto",
) -> Feed:
    async with db.transaction() as conn:
        feed_id = await insert_returning_id(
            conn,
            "INSERT INTO feeds (url, name, default_city_code, backfill, added_by, added_at, next_check_at,"
            " full_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING",
            (url, name, default_city_code, backfill, added_by, to_db(now), to_db(now), full_text),
        )
    if feed_id is None:
        raise DuplicateError(f"feed already added: {url}")
    return await get_feed(db, feed_id)


async def set_full_text(db: Database, id_or_url: str, mode: str) -> Feed:
    """Change whether a feed's article pages are read ("auto", "always", "never")."""
    feed = await find_feed(db, id_or_url)
    async with db.transaction() as conn:
        await conn.execute("UPDATE feeds SET full_text = ? WHERE id = ?", (mode, feed.id))
    return await get_feed(db, feed.id)


async def get_feed(db: Database, feed_id: int) -> Feed:
    async with db.reader.execute("SELECT * FROM feeds WHERE id = ?", (feed_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise NotFoundError(f"no feed with id {feed_id}")
    return _feed(row)


async def find_feed(db: Database, id_or_url: str) -> Feed:
    """A feed by its numeric id or its exact URL."""
    # ASCII digits only, and few enough to fit SQLite's integer ("²".isdigit() is True).
    if re.fullmatch(r"[0-9]{1,18}", id_or_url):
        return await get_feed(db, int(id_or_url))
    async with db.reader.execute("SELECT * FROM feeds WHERE url = ?", (id_or_url,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise NotFoundError(f"no feed with URL {id_or_url}")
    return _feed(row)


async def list_feeds(db: Database) -> list[Feed]:
    async with db.reader.execute("SELECT * FROM feeds ORDER BY id") as cursor:
        return [_feed(row) for row in await cursor.fetchall()]


async def count_feeds(db: Database) -> int:
    async with db.reader.execute("SELECT count(*) FROM feeds") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def remove_feed(db: Database, id_or_url: str) -> Feed:
    feed = await find_feed(db, id_or_url)
    async with db.transaction() as conn:
        # Articles stay (they may have been delivered and are searchable); they lose their feed link.
        await conn.execute("DELETE FROM feeds WHERE id = ?", (feed.id,))
    return feed


async def due_feeds(db: Database, now: datetime) -> list[Feed]:
    async with db.reader.execute(
        "SELECT * FROM feeds WHERE next_check_at <= ? ORDER BY next_check_at, id", (to_db(now),)
    ) as cursor:
        return [_feed(row) for row in await cursor.fetchall()]


async def next_due_at(db: Database, *, exclude: Iterable[int] = ()) -> datetime | None:
    """When the earliest feed is due, leaving out `exclude` (feeds being polled right now)."""
    skip = sorted(set(exclude))
    where = f" WHERE id NOT IN ({marks(skip)})" if skip else ""
    async with db.reader.execute(f"SELECT min(next_check_at) FROM feeds{where}", skip) as cursor:
        row = await cursor.fetchone()
    return from_db(row[0]) if row else None


@dataclass(frozen=True, slots=True)
class PollSuccess:
    """What a 200 or 304 tells us to remember about a feed."""

    next_check_at: datetime
    etag: str | None
    last_modified: str | None
    title: str | None = None
    new_url: str | None = None  # after a permanent redirect
    volatile_params: frozenset[str] | None = None  # None: unchanged
    fetch_seconds: float | None = None  # how long the fetch took (None: not measured, e.g. a test's own body)
    slow_polls: int = 0  # consecutive slow successes, this one included (0: it was quick)


async def record_success(conn: Connection, feed_id: int, outcome: PollSuccess, *, now: datetime) -> None:
    """Store the outcome of a 200 or 304; call inside the transaction that stored the items."""
    etag, last_modified, title = outcome.etag, outcome.last_modified, outcome.title
    next_check_at, new_url = outcome.next_check_at, outcome.new_url
    await conn.execute(
        "UPDATE feeds SET etag = ?, last_modified = ?, title = coalesce(?, title),"
        " last_checked_at = ?, last_success_at = ?, next_check_at = ?, error_count = 0, last_error = NULL,"
        " initial_polled = 1, slow_polls = ?, last_fetch_seconds = coalesce(?, last_fetch_seconds) WHERE id = ?",
        (
            etag,
            last_modified,
            title,
            to_db(now),
            to_db(now),
            to_db(next_check_at),
            outcome.slow_polls,
            outcome.fetch_seconds,
            feed_id,
        ),
    )
    if outcome.volatile_params is not None:
        await conn.execute(
            "UPDATE feeds SET volatile_params = ? WHERE id = ?", (",".join(sorted(outcome.volatile_params)), feed_id)
        )
    if new_url is not None:
        # A permanent redirect: poll the new address from now on, unless another feed already has it.
        await conn.execute(
            "UPDATE feeds SET url = ? WHERE id = ? AND NOT EXISTS (SELECT 1 FROM feeds WHERE url = ?)",
            (new_url, feed_id, new_url),
        )


async def record_failure(db: Database, feed_id: int, *, now: datetime, error: str, next_check_at: datetime) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE feeds SET error_count = error_count + 1, last_error = ?, last_checked_at = ?,"
            " next_check_at = ? WHERE id = ?",
            (error[:500], to_db(now), to_db(next_check_at), feed_id),
        )
