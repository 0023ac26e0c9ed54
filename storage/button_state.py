"""The state behind inline buttons, keyed by a short random token that fits in Telegram's 64-byte callback data.

Kept in the database rather than in the process, so a correction draft, a subscription picker or a paged
list keeps working after a restart. Each kind's handler owns its JSON payload; this module only stores it.
Rows untouched for `MAX_AGE` are pruned when new ones are made.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.backend import Row
from storage.db import Database
from storage.timeutil import from_db, to_db

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{8}")
TOKEN_PATTERN = r"[A-Za-z0-9_-]{8}"  # for callback-data regexes
MAX_AGE = timedelta(days=30)
MAX_PAYLOAD = 16_000  # characters of JSON; a payload is a few ids and keys


@dataclass(frozen=True, slots=True)
class ButtonState:
    token: str
    chat_id: int
    kind: str
    user_id: int | None
    message_id: int | None
    payload: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def _state(row: Row) -> ButtonState:
    created, updated = from_db(row["created_at"]), from_db(row["updated_at"])
    assert created is not None and updated is not None
    payload = json.loads(row["payload"])
    return ButtonState(
        token=row["token"],
        chat_id=row["chat_id"],
        kind=row["kind"],
        user_id=row["user_id"],
        message_id=row["message_id"],
        payload=payload if isinstance(payload, dict) else {},
        created_at=created,
        updated_at=updated,
    )


def _dump(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    if len(text) > MAX_PAYLOAD:
        raise ValueError("button state payload too large")
    return text


async def create(
    db: Database,
    *,
    chat_id: int,
    kind: str,
    user_id: int | None,
    payload: dict[str, Any],
    now: datetime,
    message_id: int | None = None,
) -> str:
    """Store a new state and return its token (8 URL-safe characters, 48 random bits)."""
    text = _dump(payload)
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM button_state WHERE updated_at < ?", (to_db(now - MAX_AGE),))
        while True:
            token = secrets.token_urlsafe(6)
            cursor = await conn.execute(
                "INSERT INTO button_state (token, chat_id, kind, user_id, message_id, payload,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (token, chat_id, kind, user_id, message_id, text, to_db(now), to_db(now)),
            )
            if cursor.rowcount == 1:
                return token


async def get(db: Database, token: str, *, chat_id: int, kind: str) -> ButtonState | None:
    """The state behind `token`, only if it belongs to this chat and kind (forged or foreign tokens: None)."""
    if not TOKEN_RE.fullmatch(token):
        return None
    async with db.reader.execute(
        "SELECT * FROM button_state WHERE token = ? AND chat_id = ? AND kind = ?", (token, chat_id, kind)
    ) as cursor:
        row = await cursor.fetchone()
    return _state(row) if row else None


async def update(
    db: Database,
    token: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    message_id: int | None = None,
    user_id: int | None = None,
) -> None:
    """Replace the payload (and set the message id or owner when given)."""
    text = _dump(payload)
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE button_state SET payload = ?, updated_at = ?, message_id = coalesce(?, message_id),"
            " user_id = coalesce(?, user_id) WHERE token = ?",
            (text, to_db(now), message_id, user_id, token),
        )


async def delete(db: Database, token: str) -> None:
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM button_state WHERE token = ?", (token,))


async def latest_for_user(db: Database, *, chat_id: int, kind: str, user_id: int | None) -> ButtonState | None:
    """The most recently touched state of this kind a user opened in a chat (e.g. the picker awaiting a city)."""
    user = "user_id IS NULL" if user_id is None else "user_id = ?"
    async with db.reader.execute(
        f"SELECT * FROM button_state WHERE chat_id = ? AND kind = ? AND {user}"
        " ORDER BY updated_at DESC, rowid DESC LIMIT 1",
        (chat_id, kind) if user_id is None else (chat_id, kind, user_id),
    ) as cursor:
        row = await cursor.fetchone()
    return _state(row) if row else None


async def find_by_message(db: Database, *, chat_id: int, kind: str, message_id: int) -> ButtonState | None:
    """The state whose keyboard sits on `message_id` (or whose prompt is that message) in a chat."""
    async with db.reader.execute(
        "SELECT * FROM button_state WHERE chat_id = ? AND kind = ? AND message_id = ?"
        " ORDER BY updated_at DESC, rowid DESC LIMIT 1",
        (chat_id, kind, message_id),
    ) as cursor:
        row = await cursor.fetchone()
    return _state(row) if row else None
