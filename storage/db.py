"""The one aiosqlite connection and its transaction helper.

aiosqlite runs every statement on one worker thread, so a single shared connection already serialises
statements; what it does not serialise is *transactions* started by different coroutines. The lock in
`transaction()` does that, so the poller, the sender and the chat handlers never interleave writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.errors import StorageError
from storage.schema import migrate

BUSY_TIMEOUT_MS = 5000


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception (cancellation included)."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.rollback()
                raise
            await self.conn.commit()

    async def close(self) -> None:
        await self.conn.close()


async def open_database(path: Path | str) -> Database:
    """Open (creating if needed) and migrate the database file."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise StorageError(f"cannot open database {path}: folder {path.parent} does not exist")
    try:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, sqlite3 must not add implicit ones.
        conn = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await migrate(conn)
    except sqlite3.DatabaseError as exc:
        await conn.close()
        raise StorageError(f"cannot use database {path}: {exc}") from exc
    except BaseException:
        await conn.close()
        raise
    return Database(conn, path)
