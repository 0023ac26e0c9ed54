"""The outbox: one row per chat × article, written with the article, drained by the sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database
from storage.timeutil import from_db, to_db


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    chat_id: int
    article_id: int
    thread_id: int | None
    reason: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


def _delivery(row: aiosqlite.Row) -> Delivery:
    due = from_db(row["next_attempt_at"])
    assert due is not None
    return Delivery(
        id=row["id"],
        chat_id=row["chat_id"],
        article_id=row["article_id"],
        thread_id=row["thread_id"],
        reason=row["reason"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=due,
        last_error=row["last_error"],
    )


async def queue_delivery(
    conn: aiosqlite.Connection,
    *,
    chat_id: int,
    article_id: int,
    thread_id: int | None,
    reason: str,
    now: datetime,
) -> bool:
    """Queue inside the caller's transaction; False when this chat already has this article."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO deliveries (chat_id, article_id, thread_id, reason, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (chat_id, article_id, thread_id, reason, to_db(now), to_db(now)),
    )
    return cursor.rowcount == 1


async def due_deliveries(db: Database, now: datetime, limit: int = 500) -> list[Delivery]:
    async with db.conn.execute(
        "SELECT * FROM deliveries WHERE status IN ('pending', 'sending') AND next_attempt_at <= ?"
        " ORDER BY next_attempt_at, id LIMIT ?",
        (to_db(now), limit),
    ) as cursor:
        return [_delivery(row) for row in await cursor.fetchall()]


async def mark_sending(db: Database, ids: list[int]) -> None:
    """Mark rows in flight before the send, so a crash leaves evidence of a possible duplicate."""
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE deliveries SET status = 'sending', attempts = attempts + 1 WHERE id = ?",
            [(i,) for i in ids],
        )


async def mark_sent(db: Database, ids: list[int], *, now: datetime) -> None:
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE deliveries SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
            [(to_db(now), i) for i in ids],
        )


async def reschedule(db: Database, ids: list[int], *, at: datetime, error: str | None) -> None:
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, last_error = ? WHERE id = ?",
            [(to_db(at), error, i) for i in ids],
        )


async def mark_failed(db: Database, ids: list[int], *, error: str) -> None:
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE deliveries SET status = 'failed', last_error = ? WHERE id = ?",
            [(error[:500], i) for i in ids],
        )


async def count_by_status(db: Database) -> dict[str, int]:
    async with db.conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status") as cursor:
        return {row[0]: row[1] for row in await cursor.fetchall()}
