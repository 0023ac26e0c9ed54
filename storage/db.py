"""The database: one writer connection with its transaction helper, and one reader connection.

aiosqlite runs every statement of a connection on one worker thread, so a single connection already
serialises statements; what it does not serialise is *transactions* started by different coroutines. The
lock in `transaction()` does that, so the poller, the sender and the chat handlers never interleave writes.

Reads that stand alone (`/latest`, `/search`, `/stats`, the sender's due list, …) go through `reader`, a
second connection: on the writer they would see the rows of another coroutine's transaction before it
commits — rows that may yet be rolled back. In WAL mode the reader sees exactly the committed state and
never waits for the writer. Reads inside a transaction use that transaction's connection.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.errors import StorageError
from storage.schema import migrate

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# BEGIN IMMEDIATE can report "database is locked" before the busy timeout (SQLite gives up at once when
# waiting could deadlock, e.g. while another process checkpoints); nothing has run yet, so it is retried.
BEGIN_RETRIES = 5
BEGIN_RETRY_DELAY = 0.2  # seconds, doubled per retry


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path, reader: aiosqlite.Connection | None = None) -> None:
        self.conn = conn  # the writer
        self.reader = reader or conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception (cancellation included)."""
        async with self._write_lock:
            await self._begin()
            try:
                yield self.conn
            except BaseException:
                await self.conn.rollback()
                raise
            await self.conn.commit()

    async def _begin(self) -> None:
        delay = BEGIN_RETRY_DELAY
        for attempt in range(BEGIN_RETRIES + 1):
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if attempt == BEGIN_RETRIES or not _is_busy(exc):
                    raise
            await asyncio.sleep(delay)
            delay *= 2

    async def close(self) -> None:
        if self.reader is not self.conn:
            await self.reader.close()
        await self.conn.close()


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


async def _connect(path: Path) -> aiosqlite.Connection:
    try:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, sqlite3 must not add implicit ones.
        conn = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    conn.row_factory = aiosqlite.Row
    return conn


async def open_database(path: Path | str, *, check: bool = False) -> Database:
    """Open (creating if needed) and migrate the database file, with its reader connection.

    `check` runs `PRAGMA quick_check` first (the long-running service does, at start): a file damaged in
    its data pages otherwise starts without a word and fails later, one query at a time.
    """
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise StorageError(f"cannot open database {path}: folder {path.parent} does not exist")
    conn = await _connect(path)
    reader: aiosqlite.Connection | None = None
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        if check:
            await _quick_check(conn, path)
        await migrate(conn)
        reader = await _connect(path)
        await reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await reader.execute("PRAGMA query_only = ON")  # a write through it would bypass the write lock
    except sqlite3.DatabaseError as exc:
        await _close_all(conn, reader)
        raise StorageError(f"cannot use database {path}: {exc}") from exc
    except BaseException:
        await _close_all(conn, reader)
        raise
    return Database(conn, path, reader)


async def _quick_check(conn: aiosqlite.Connection, path: Path) -> None:
    async with conn.execute("PRAGMA quick_check") as cursor:
        problems = [str(row[0]) for row in await cursor.fetchall()]
    if problems != ["ok"]:
        shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        raise StorageError(
            f"database {path} is damaged (PRAGMA quick_check: {shown}); restore it from a backup, "
            "or recover it with: sqlite3 damaged.db .recover | sqlite3 new.db"
        )


async def _close_all(*conns: aiosqlite.Connection | None) -> None:
    for conn in conns:
        if conn is not None:
            await conn.close()
