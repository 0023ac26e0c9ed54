"""PostgreSQL behind the same storage API as SQLite: a psycopg 3 connection pool, and a thin adapter that
gives its connections aiosqlite's shape (`execute` awaited or used with `async with`, `rowcount`, rows by
name or position) so the storage modules run unchanged on either backend.

psycopg was chosen over asyncpg by measurement (benchmarks/bench_pg_driver.py, README): asyncpg is somewhat
faster per statement, but the commits dominate a write, and psycopg's `%s` parameters, `rowcount` (summed
over `executemany`) and row factories keep this adapter a placeholder translation and a row class.

`transaction()` is a real transaction on one pooled connection (BEGIN … COMMIT, rolled back on any
exception), so row locks (`SELECT … FOR UPDATE SKIP LOCKED`) and advisory locks taken in it hold until it
ends. Within one process transactions are still serialised by a lock, as on SQLite, because the ingest and
delivery code was written against one writer; across processes nothing is: other processes' transactions
run concurrently, and cross-process coordination must use the database's own locks.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Generator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import RowMaker
from psycopg_pool import AsyncConnectionPool

from bot.errors import StorageError
from storage.backend import POSTGRES, Connection, Cursor, Dialect
from storage.db import Database
from storage.schema_pg import migrate_pg

POOL_MIN = 1
POOL_MAX = 8
CONNECT_TIMEOUT = 10.0  # seconds to get a pooled connection before giving up with a clear error


class PgRow(tuple[Any, ...]):
    """A row by position (a tuple) or by column name, with keys(), like sqlite3.Row."""

    __slots__ = ()
    _names: tuple[str, ...] = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


@lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[PgRow]:
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)  # like sqlite3.Row: the first column of a repeated name
    return type("Row", (PgRow,), {"__slots__": (), "_names": names, "_index": index})


def pg_row(cursor: Any) -> RowMaker[PgRow]:
    names = tuple(col.name for col in cursor.description or ())
    cls = _row_class(names)

    def make(values: Sequence[Any]) -> PgRow:
        return cls(values)

    return make


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """SQLite-style `?` placeholders to psycopg's `%s`, and every literal `%` doubled (psycopg reads `%`
    everywhere in a statement with parameters). `?` inside quoted literals or identifiers stays."""
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote is not None:
            if ch == quote:
                quote = None
            out.append("%%" if ch == "%" else ch)
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


class PgCursor:
    """Rows already fetched (or a live psycopg cursor), in aiosqlite's Cursor shape."""

    def __init__(self, cursor: psycopg.AsyncCursor[PgRow]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> PgRow | None:
        if self._cursor.description is None:
            return None
        return await self._cursor.fetchone()

    async def fetchall(self) -> list[PgRow]:
        if self._cursor.description is None:
            return []
        return await self._cursor.fetchall()

    async def fetchmany(self, size: int) -> list[PgRow]:
        if self._cursor.description is None:
            return []
        return await self._cursor.fetchmany(size)


class _Executing:
    """Awaited: the cursor; `async with`: the cursor, held for the block."""

    def __init__(self, run: Any) -> None:
        self._run = run  # a zero-argument coroutine function returning a PgCursor

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._run().__await__()  # type: ignore[no-any-return]

    async def __aenter__(self) -> Cursor:
        cursor: Cursor = await self._run()
        return cursor

    async def __aexit__(self, *exc: Any) -> None:
        return None


class PgConnection:
    """One pooled connection inside a transaction, in aiosqlite's Connection shape."""

    def __init__(self, conn: psycopg.AsyncConnection[PgRow], cache_key: object) -> None:
        self._conn = conn
        self.cache_key = cache_key

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> _Executing:
        async def run() -> PgCursor:
            cursor = self._conn.cursor()
            await cursor.execute(translate(sql), list(parameters) if parameters is not None else None)
            return PgCursor(cursor)

        return _Executing(run)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> PgCursor:
        rows = [list(p) for p in parameters]
        cursor = self._conn.cursor()
        if rows:
            await cursor.executemany(translate(sql), rows)
        return PgCursor(cursor)


class PoolReader:
    """Reads that stand alone: each statement on a pooled connection in autocommit, so it sees exactly the
    committed state; the rows are fetched before the connection goes back to the pool."""

    def __init__(self, pool: AsyncConnectionPool[psycopg.AsyncConnection[PgRow]], cache_key: object) -> None:
        self._pool = pool
        self.cache_key = cache_key

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> _Executing:
        async def run() -> _Fetched:
            async with self._pool.connection() as conn:
                cursor = conn.cursor()
                await cursor.execute(translate(sql), list(parameters) if parameters is not None else None)
                rows = await cursor.fetchall() if cursor.description is not None else []
                return _Fetched(rows, cursor.rowcount)

        return _Executing(run)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> _Fetched:
        rows = [list(p) for p in parameters]
        async with self._pool.connection() as conn, conn.transaction():
            cursor = conn.cursor()
            if rows:
                await cursor.executemany(translate(sql), rows)
            return _Fetched([], cursor.rowcount)


class _Fetched:
    def __init__(self, rows: list[PgRow], rowcount: int) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount

    async def fetchone(self) -> PgRow | None:
        batch = await self.fetchmany(1)
        return batch[0] if batch else None

    async def fetchall(self) -> list[PgRow]:
        return await self.fetchmany(len(self._rows))

    async def fetchmany(self, size: int) -> list[PgRow]:
        batch = self._rows[self._at : self._at + size]
        self._at += len(batch)
        return batch


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


class PostgresDatabase(Database):
    dialect: Dialect = POSTGRES

    def __init__(self, pool: AsyncConnectionPool[psycopg.AsyncConnection[PgRow]], url: str) -> None:
        self.pool = pool
        self.url = url
        self.reader = PoolReader(pool, self)
        self.conn = self.reader
        self._write_lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return redact(self.url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """BEGIN … COMMIT on one pooled connection, rolled back on any exception (cancellation included)."""
        async with self._write_lock, self.pool.connection() as conn, conn.transaction():
            yield PgConnection(conn, self)

    async def close(self) -> None:
        await self.pool.close()


async def open_postgres(url: str) -> PostgresDatabase:
    """Connect (a pool), migrate, and return the database; StorageError (one line) when it cannot."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    name = redact(url)
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise StorageError(f"PANTAU_DB: not a valid PostgreSQL URL {name}: {_one_line(exc)}") from None
    pool: AsyncConnectionPool[psycopg.AsyncConnection[PgRow]] = AsyncConnectionPool(
        url,
        min_size=POOL_MIN,
        max_size=POOL_MAX,
        open=False,
        timeout=CONNECT_TIMEOUT,
        kwargs={"autocommit": True, "row_factory": pg_row, "connect_timeout": int(CONNECT_TIMEOUT)},
        connection_class=psycopg.AsyncConnection[PgRow],
        name="pantau",
    )
    try:
        # A wrong host, password or database name fails the first connection: say so, not "timed out".
        probe = await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT))
        await probe.close()
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        async with pool.connection() as conn:
            await migrate_pg(conn)
    except psycopg.Error as exc:
        await pool.close()
        raise StorageError(f"cannot use database {name}: {_one_line(exc)}") from None
    except BaseException:
        await pool.close()
        raise
    return PostgresDatabase(pool, url)


def _one_line(exc: BaseException) -> str:
    return re.sub(r"\s+", " ", str(exc)).strip()
