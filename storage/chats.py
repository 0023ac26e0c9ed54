"""Chats that talk to the bot: active (reachable), paused (holding their alerts), migrated.

A paused chat still gets its alerts queued; they stay pending (the sender's queries skip held chats) and go
out when the pause ends — by /resume, or by itself at `paused_until`. `storage.deliveries.HELD` is the one
SQL test of that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.backend import Row
from storage.db import Database
from storage.deliveries import HELD, fail_pending_for_chat
from storage.timeutil import from_db, to_db


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    type: str
    title: str | None
    active: bool
    paused: bool  # /pause was given; see `held` for whether it is still in force
    inactive_reason: str | None
    paused_until: datetime | None = None

    def held(self, now: datetime) -> bool:
        """Alerts are held now (paused, and a timed pause has not run out)."""
        return self.paused and (self.paused_until is None or self.paused_until > now)


def _chat(row: Row) -> Chat:
    return Chat(
        id=row["id"],
        type=row["type"],
        title=row["title"],
        active=bool(row["active"]),
        paused=bool(row["paused"]),
        inactive_reason=row["inactive_reason"],
        paused_until=from_db(row["paused_until"]),
    )


async def register_chat(db: Database, chat_id: int, *, type: str, title: str | None, now: datetime) -> Chat:
    """Create the chat or reactivate it (a chat that had blocked the bot and came back)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO chats (id, type, title, active, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET type = excluded.type, title = excluded.title, active = 1,"
            " inactive_reason = NULL, updated_at = excluded.updated_at"
            # Only when something changed: every command registers its chat, and an UPDATE of `active`
            # bumps the subscription index version (schema triggers) even when the value stays the same.
            # (`IS NOT`, spelled so that SQLite before 3.39 and PostgreSQL both read it.)
            " WHERE chats.active = 0 OR chats.type <> excluded.type OR chats.title <> excluded.title"
            " OR (chats.title IS NULL) <> (excluded.title IS NULL)",
            (chat_id, type, title, to_db(now), to_db(now)),
        )
    chat = await get_chat(db, chat_id)
    assert chat is not None
    return chat


async def get_chat(db: Database, chat_id: int) -> Chat | None:
    async with db.reader.execute("SELECT * FROM chats WHERE id = ?", (chat_id,)) as cursor:
        row = await cursor.fetchone()
    return _chat(row) if row else None


async def set_paused(db: Database, chat_id: int, paused: bool, *, now: datetime, until: datetime | None = None) -> int:
    """Pause (until `until`, or until resumed) or resume a chat; returns how many alerts it holds now.

    Resuming returns the alerts held during the pause, which the sender now delivers.
    """
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE chats SET paused = ?, paused_until = ?, updated_at = ? WHERE id = ?",
            (int(paused), to_db(until) if paused else None, to_db(now), chat_id),
        )
        async with conn.execute(
            "SELECT count(*) FROM deliveries WHERE chat_id = ? AND status = 'pending'", (chat_id,)
        ) as cursor:
            row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def deactivate_chat(db: Database, chat_id: int, reason: str, *, now: datetime) -> int:
    """Stop delivering to a chat (blocked, removed, not found); its subscriptions are kept.

    Its queued alerts are marked failed with the reason in the same transaction (nothing is dropped
    silently); returns how many. /start reactivates the chat.
    """
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE chats SET active = 0, inactive_reason = ?, updated_at = ? WHERE id = ?",
            (reason, to_db(now), chat_id),
        )
        return await fail_pending_for_chat(conn, chat_id, f"chat inactive: {reason}")


async def ensure_chat(db: Database, chat_id: int, *, type: str, title: str | None, now: datetime) -> Chat:
    """The chat row, created if missing; unlike register_chat it does not reactivate a blocked chat."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO chats (id, type, title, active, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET type = excluded.type, title = excluded.title",
            (chat_id, type, title, to_db(now), to_db(now)),
        )
    chat = await get_chat(db, chat_id)
    assert chat is not None
    return chat


async def count_chats(db: Database, *, now: datetime) -> dict[str, int]:
    """{"active": n, "inactive": n, "paused": n} for /stats."""
    async with db.reader.execute(
        f"SELECT coalesce(sum(CASE WHEN c.active = 1 AND NOT {HELD} THEN 1 ELSE 0 END), 0),"
        " coalesce(sum(CASE WHEN c.active = 0 THEN 1 ELSE 0 END), 0),"
        f" coalesce(sum(CASE WHEN c.active = 1 AND {HELD} THEN 1 ELSE 0 END), 0) FROM chats c",
        (to_db(now), to_db(now)),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return {"active": int(row[0]), "inactive": int(row[1]), "paused": int(row[2])}


async def migrate_chat(db: Database, old_id: int, new_id: int, *, now: datetime) -> None:
    """A group became a supergroup: move the chat row; ON UPDATE CASCADE moves its subscriptions and outbox."""
    async with db.transaction() as conn:
        async with conn.execute("SELECT 1 FROM chats WHERE id = ?", (new_id,)) as cursor:
            exists = await cursor.fetchone() is not None
        if exists:
            # The moved subscriptions are numbered after the ones the new chat already has.
            async with conn.execute(
                "SELECT coalesce(max(number), 0) FROM subscriptions WHERE chat_id = ?", (new_id,)
            ) as cursor:
                row = await cursor.fetchone()
            offset = int(row[0]) if row else 0
            await conn.execute(
                "UPDATE subscriptions SET chat_id = ?, number = number + ? WHERE chat_id = ?", (new_id, offset, old_id)
            )
            # Rows the new chat already has (same topic and article, or same report) stay with the old chat
            # and go with it: what SQLite's UPDATE OR IGNORE did, spelled for both backends.
            await conn.execute(
                "DELETE FROM deliveries WHERE chat_id = ? AND EXISTS (SELECT 1 FROM deliveries n WHERE n.chat_id = ?"
                " AND ((n.article_id = deliveries.article_id"
                " AND coalesce(n.thread_id, -1) = coalesce(deliveries.thread_id, -1))"
                " OR (n.kind = deliveries.kind AND n.report_key = deliveries.report_key)))",
                (old_id, new_id),
            )
            await conn.execute("UPDATE deliveries SET chat_id = ? WHERE chat_id = ?", (new_id, old_id))
            await conn.execute("DELETE FROM chats WHERE id = ?", (old_id,))
        else:
            await conn.execute(
                "UPDATE chats SET id = ?, type = 'supergroup', updated_at = ? WHERE id = ?",
                (new_id, to_db(now), old_id),
            )
