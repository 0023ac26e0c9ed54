"""`pantau db copy`: move an installation from its SQLite file into PostgreSQL, every table, ids kept.

One transaction on the target: a failure leaves nothing half-written. Rows whose key is already there are
skipped (ON CONFLICT DO NOTHING), so running it again copies nothing twice; then every table's row count and
rows are compared with the source's, and a difference (the target held other data) rolls everything back. Identity
sequences are set past the largest id copied, so new rows never collide with copied ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import StorageError
from storage.backend import DRIVER_ERRORS, Connection, marks
from storage.db import Database

# Parents before children (foreign keys); stories and articles name each other (deferred constraints).
TABLES = (
    "feeds",
    "stories",
    "articles",
    "article_cases",
    "feed_items",
    "chats",
    "subscriptions",
    "subscription_areas",
    "subscription_cases",
    "deliveries",
    "subscription_state",
    "corrections",
    "muted_sources",
    "button_state",
    "spikes",
)
BATCH = 1000


@dataclass(frozen=True, slots=True)
class CopiedTable:
    table: str
    rows: int  # in the source, and now in the target
    copied: int  # inserted by this run (0 on a re-run)


async def _columns(target: Database, table: str) -> list[str]:
    async with target.reader.execute(
        # Generated columns (the stored search vector) are computed by the target, never copied.
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = ? AND is_generated = 'NEVER' ORDER BY ordinal_position",
        (table,),
    ) as cursor:
        return [str(r[0]) for r in await cursor.fetchall()]


async def _count(db: Database, table: str) -> int:
    async with db.reader.execute(f"SELECT count(*) FROM {table}") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def copy_database(source: Database, target: Database) -> list[CopiedTable]:
    """Copy every table of `source` (SQLite) into `target` (PostgreSQL); see the module docstring."""
    if source.dialect.name != "sqlite" or target.dialect.name != "postgresql":
        raise StorageError("db copy: copies from an SQLite file into PostgreSQL")
    try:
        return await _copy(source, target)
    except DRIVER_ERRORS as exc:  # e.g. a row the source's schema allowed and PostgreSQL's does not
        text = " ".join(str(exc).split())
        raise StorageError(f"db copy: {text}; nothing was copied") from None


async def _copy(source: Database, target: Database) -> list[CopiedTable]:
    columns = {table: await _columns(target, table) for table in TABLES}
    done: list[CopiedTable] = []
    async with target.transaction() as conn:
        await conn.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in TABLES:
            # The subscription tables' row triggers bump one counter row per row written; in one
            # transaction each bump walks that row's growing chain of versions, so a large installation
            # (100,000 subscriptions) would take many minutes. Off while copying; one bump below.
            await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for table in TABLES:
            names = columns[table]
            sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks(names)}) ON CONFLICT DO NOTHING"
            copied = 0
            async with source.reader.execute(f"SELECT {', '.join(names)} FROM {table}") as cursor:
                while rows := list(await cursor.fetchmany(BATCH)):
                    result = await conn.executemany(sql, [tuple(r) for r in rows])
                    copied += max(result.rowcount, 0)
            for column in ("id", "rowid"):
                if column in names:  # identity columns (NULL for the others: setval ignores it)
                    await conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                        f" (SELECT coalesce(max({column}), 0) + 1 FROM {table}), false)"
                    )
            wanted = await _count(source, table)
            async with conn.execute(f"SELECT count(*) FROM {table}") as cursor:
                row = await cursor.fetchone()
            have = int(row[0]) if row else 0
            if have != wanted or not await _same_rows(source, conn, table, names):
                raise StorageError(
                    f"db copy: {table} in {target.name} differs from {source.name} ({have} rows there, {wanted}"
                    " here): the target holds other data; nothing was copied"
                )
            done.append(CopiedTable(table, wanted, copied))
        await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check the deferred keys now: no ALTER with events pending
        for table in TABLES:
            await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        await conn.execute("UPDATE subscription_state SET version = version + 1")  # every process re-reads
    return done


# Each table's primary key, to read both sides in the same order (text in byte order: SQLite's BINARY, "C").
_KEYS = {
    "article_cases": ("article_id", "case_key"),
    "feed_items": ("feed_id", "guid"),
    "subscription_areas": ("area_code", "subscription_id"),
    "subscription_cases": ("case_key", "subscription_id"),
    "muted_sources": ("chat_id", "source"),
    "button_state": ("token",),
}
_NOT_COMPARED = {"subscription_state": {"version"}}  # a change counter, bumped by the target's own triggers


async def _same_rows(source: Database, conn: Connection, table: str, names: list[str]) -> bool:
    """Every row of the table is the same on both sides (a skipped row may be another installation's)."""
    cols = [n for n in names if n not in _NOT_COMPARED.get(table, set())]
    keys = _KEYS.get(table, ("id",))
    text_keys = {"case_key", "guid", "area_code", "source", "token"}
    order_pg = ", ".join(f'{k} COLLATE "C"' if k in text_keys else k for k in keys)
    async with (
        source.reader.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(keys)}") as theirs,
        conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order_pg}") as ours,
    ):
        while True:
            a, b = list(await theirs.fetchmany(BATCH)), list(await ours.fetchmany(BATCH))
            if [tuple(r) for r in a] != [tuple(r) for r in b]:
                return False
            if not a:
                return True
