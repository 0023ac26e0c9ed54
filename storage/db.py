"""The database: `Database` is what the storage modules are given, whichever backend is behind it —
`transaction()` (a real transaction on one connection, rolled back on any exception) and `reader` (reads
that stand alone, seeing only committed rows). `open_database` opens SQLite for a path and PostgreSQL for a
``postgresql://`` URL (storage/postgres.py). The rest of this docstring is about SQLite's.

SQLite: one writer connection with its transaction helper, and one reader connection.

aiosqlite runs every statement of a connection on one worker thread, so a single connection already
serialises statements; what it does not serialise is *transactions* started by different coroutines. The
lock in `transaction()` does that, so the poller, the sender and the chat handlers never interleave writes.

Reads that stand alone (`/latest`, `/search`, `/stats`, the sender's due list, …) go through `reader`, a
second connection: on the writer they would see the rows of another coroutine's transaction before it
commits — rows that may yet be rolled back. In WAL mode the reader sees exactly the committed state and
never waits for the writer. Reads inside a transaction use that transaction's connection.

The files under an open database must stay put. A connection keeps using the file it opened: if the
database file is replaced, or its ``-wal``/``-shm`` deleted (they hold committed writes not yet copied
into the main file, and the lock state that lets processes share them), its writes go into an unlinked
file that another process never sees, and each side overwrites the other's work. So every transaction
checks, before BEGIN and after COMMIT, that the files at the path are still the ones opened
(`Database.check_files`); once they are not, the database refuses every write with
`DatabaseReplacedError` (one line), and a write that was already committed is reported as lost rather
than as done. A process opening a database that a running service holds (`open_database(...,
in_use=True)`) refuses at once when the service's ``-wal``/``-shm`` are missing from the path: opening
would create new ones beside the service's deleted ones.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import cast

import aiosqlite

from bot.errors import DatabaseReplacedError, StorageError
from storage.backend import SQLITE, Connection, Dialect
from storage.schema import migrate

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# BEGIN IMMEDIATE can report "database is locked" before the busy timeout (SQLite gives up at once when
# waiting could deadlock, e.g. while another process checkpoints); nothing has run yet, so it is retried.
BEGIN_RETRIES = 5
BEGIN_RETRY_DELAY = 0.2  # seconds, doubled per retry
SIDE_FILES = ("-wal", "-shm")  # beside the database file in WAL mode, while any connection is open
_WAL_MODE = 2  # bytes 18 and 19 of the database header ("file format versions") in WAL mode

FileId = tuple[int, int]  # (st_dev, st_ino): which file a path names


def file_id(path: Path) -> FileId | None:
    """The identity of the file at `path` now, or None when there is none (stat only: never opens it)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def is_postgres_url(target: Path | str) -> bool:
    """Whether a PANTAU_DB value names a PostgreSQL database rather than an SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class Database(ABC):
    """What the storage modules use, on either backend (SqliteDatabase, storage.postgres.PostgresDatabase)."""

    dialect: Dialect = SQLITE
    # Reads that stand alone; outside a transaction, `conn` reads the same committed state.
    reader: Connection
    conn: Connection

    @property
    @abstractmethod
    def name(self) -> str:
        """What to call it in messages (a path, or a URL without its password)."""

    @property
    def replaced(self) -> str | None:
        return None

    def check_files(self) -> None:  # noqa: B027  (a hook: only SQLite has files that can be replaced)
        """Raise DatabaseReplacedError when the database under this process was replaced (SQLite only)."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """BEGIN … COMMIT on one connection, rolled back on any exception (cancellation included)."""

    @abstractmethod
    async def close(self) -> None:
        """Close every connection (the pool, on PostgreSQL)."""


class SqliteDatabase(Database):
    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: Path,
        reader: aiosqlite.Connection | None = None,
        files: dict[str, FileId | None] | None = None,
    ) -> None:
        self.sqlite = conn  # the writer
        self.sqlite_reader = reader or conn
        self.conn = cast(Connection, conn)
        self.reader = cast(Connection, self.sqlite_reader)
        self.path = path
        self._write_lock = asyncio.Lock()
        # "" (the database), "-wal", "-shm" → the file each path named when opened (None: absent, not
        # checked). Empty: nothing to check (a Database built around a bare connection).
        self._files: dict[str, FileId | None] = dict(files or {})
        self._replaced: str | None = None

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def replaced(self) -> str | None:
        """Why this database refuses writes (its files were replaced or deleted), or None while it is fine."""
        return self._replaced

    def check_files(self) -> None:
        """Raise DatabaseReplacedError when a file opened is no longer the one at its path; sticky."""
        if self._replaced is None:
            self._replaced = self._files_problem()
        if self._replaced is not None:
            raise DatabaseReplacedError(self._replaced)

    def _files_problem(self) -> str | None:
        for suffix, opened in self._files.items():
            if opened is None:
                continue
            now = file_id(_side(self.path, suffix))
            if now == opened:
                continue
            what = f"its {suffix} file" if suffix else "the database file"
            how = "was deleted" if now is None else "was replaced"
            return (
                f"database {self.path}: {what} {how} while in use; writes now would be lost, so none are "
                "made — stop every Pantau process using it, then start again"
            )
        return None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception (cancellation included)."""
        async with self._write_lock:
            self.check_files()
            await self._begin()
            try:
                yield self.conn
            except BaseException:
                await self.sqlite.rollback()
                raise
            await self.sqlite.commit()
            try:
                self.check_files()
            except DatabaseReplacedError as exc:
                # Committed into a file no longer at the path: never let the caller report it as done.
                lost = "the last write went into the deleted or replaced file and may be lost"
                raise DatabaseReplacedError(f"{exc} ({lost})") from None

    async def _begin(self) -> None:
        delay = BEGIN_RETRY_DELAY
        for attempt in range(BEGIN_RETRIES + 1):
            try:
                await self.sqlite.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if attempt == BEGIN_RETRIES or not _is_busy(exc):
                    raise
            await asyncio.sleep(delay)
            delay *= 2

    async def close(self) -> None:
        if self.sqlite_reader is not self.sqlite:
            await self.sqlite_reader.close()
        await self.sqlite.close()


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


async def open_database(target: Path | str, *, check: bool = False, in_use: bool = False) -> Database:
    """Open (creating if needed) and migrate the database: an SQLite file, or a PostgreSQL URL.

    For SQLite: the database file, with its reader connection.
    `check` runs `PRAGMA quick_check` first (the long-running service does, at start): a file damaged in
    its data pages otherwise starts without a word and fails later, one query at a time.
    `in_use`: another process (a running service) has this database open; refuse when its side files
    are missing (see the module docstring). Only for a process with no connection to this file yet.
    """
    if is_postgres_url(target):
        from storage.postgres import open_postgres

        return await open_postgres(str(target))
    return await open_sqlite(Path(target), check=check, in_use=in_use)


async def open_sqlite(path: Path, *, check: bool = False, in_use: bool = False) -> SqliteDatabase:
    if path.parent and not path.parent.exists():
        raise StorageError(f"cannot open database {path}: folder {path.parent} does not exist")
    if in_use:
        _check_side_files_of_open_database(path)
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
        # Which files we now use (the side files exist from the first read in WAL mode on).
        files = {suffix: file_id(_side(path, suffix)) for suffix in ("", *SIDE_FILES)}
    except sqlite3.DatabaseError as exc:
        await _close_all(conn, reader)
        raise StorageError(f"cannot use database {path}: {exc}") from exc
    except BaseException:
        await _close_all(conn, reader)
        raise
    return SqliteDatabase(conn, path, reader, files)


def _check_side_files_of_open_database(path: Path) -> None:
    """In WAL mode a process that has the database open keeps its -wal and -shm beside it; when they are
    gone, opening would make new ones, and this process and that one would each write where the other
    does not look (each losing the other's writes). Refuse before creating anything."""
    missing = [suffix for suffix in SIDE_FILES if not _side(path, suffix).exists()]
    if not missing or not _in_wal_mode(path):
        return
    raise DatabaseReplacedError(
        f"database {path} is open in a running pantau, but its {' and '.join(missing)} file "
        f"{'is' if len(missing) == 1 else 'are'} missing (deleted?); nothing was read or written — stop "
        "pantau run (it keeps its data when it stops), then try again"
    )


def _in_wal_mode(path: Path) -> bool:
    # Read before this process opens the file with SQLite: closing a descriptor of a file drops every
    # POSIX lock the process holds on it, SQLite's included.
    try:
        with path.open("rb") as f:
            header = f.read(20)
    except FileNotFoundError:
        return False
    return len(header) == 20 and header[18] == _WAL_MODE and header[19] == _WAL_MODE


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
