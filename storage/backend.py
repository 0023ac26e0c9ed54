"""The seam between the storage modules and the two database backends (SQLite, PostgreSQL).

The storage modules write one SQL text for both wherever the two agree (`?` placeholders, `ON CONFLICT …
DO NOTHING`, `RETURNING id`, `CASE` instead of SQLite's boolean sums and two-argument min/max) and ask the
`Dialect` for the few expressions that differ: date arithmetic on the ISO-8601 text times, JSON arrays, and
full-text search. A connection of either backend looks the same to them (`Connection`, `Cursor`, `Row`):
aiosqlite's as it is, PostgreSQL's through the thin adapter in storage/postgres.py.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg

# What a failing statement raises on either backend (the poller keeps a feed due when storing fails).
DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)


class Row(Protocol):
    """A result row: by column name or position, with its column names (sqlite3.Row is one)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    async def fetchone(self) -> Row | None: ...

    async def fetchall(self) -> Iterable[Row]: ...

    async def fetchmany(self, size: int) -> Iterable[Row]: ...


class Executing(Protocol):
    """What `execute` returns: awaited, a cursor; or `async with … as cursor`."""

    def __await__(self) -> Generator[Any, None, Cursor]: ...

    async def __aenter__(self) -> Cursor: ...

    async def __aexit__(self, *exc: Any) -> Any: ...


class Connection(Protocol):
    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Executing: ...

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Cursor: ...


def cache_key(conn: Connection) -> object:
    """What per-connection caches (the subscription and mute indexes) are kept under: the connection, or
    for PostgreSQL, whose transactions take any pooled connection, the database they belong to."""
    return getattr(conn, "cache_key", conn)


# ---------------------------------------------------------------------------------------- full-text queries


@dataclass(frozen=True, slots=True)
class Term:
    text: str  # a word or a phrase, as typed (no double quotes)
    prefix: bool  # a word of four letters or more also matches as a prefix ("banjir" finds "banjirnya")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Alternatives (OR) of terms that must all appear (AND), less the documents with any negative term."""

    groups: tuple[tuple[Term, ...], ...]
    negative: tuple[Term, ...]


def fts5_query(query: SearchQuery) -> str:
    """The query in FTS5 syntax: every term quoted, so operators typed by the user are plain words."""

    def term(t: Term) -> str:
        return '"' + t.text + '"' + ("*" if t.prefix else "")

    alternatives = [" AND ".join(term(t) for t in group) for group in query.groups]
    text = " OR ".join(f"({a})" for a in alternatives) if len(alternatives) > 1 else alternatives[0]
    for t in query.negative:
        text = f"({text}) NOT {term(t)}"
    return text


# FTS5's unicode61 tokenizer splits on everything but letters and digits; so does PostgreSQL's index
# (PG_FTS_DOCUMENT), so a word means the same on both.
_TOKEN_RE = re.compile(r"[^\W_]+")
_NEVER = "'\x01' & !'\x01'"  # a tsquery no document matches (a term with no letters or digits)


def tsquery_text(query: SearchQuery) -> str:
    """The query as to_tsquery('simple', …) text: a phrase is its words in sequence (<->), a prefix `:*`."""

    def term(t: Term) -> str | None:
        tokens = [tok.lower() for tok in _TOKEN_RE.findall(t.text)]
        if not tokens:
            return None
        quoted = [f"'{tok}'" for tok in tokens]
        if t.prefix:
            quoted[-1] += ":*"
        return "(" + " <-> ".join(quoted) + ")"

    alternatives = []
    for group in query.groups:
        terms = [term(t) for t in group]
        alternatives.append(_NEVER if None in terms else " & ".join(t for t in terms if t))
    text = " | ".join(f"({a})" for a in alternatives)
    for t in query.negative:
        negated = term(t)
        if negated is not None:
            text = f"({text}) & !{negated}"
    return text


# ---------------------------------------------------------------------------------------- dialects


class Dialect:
    """SQLite's spelling of the expressions that differ between the backends."""

    name = "sqlite"

    def shifted_time(self, column: str, hours: int, fmt: str) -> str:
        """An ISO-text time column shifted by `hours`, formatted: fmt "day" (YYYY-MM-DD) or "hour" (… HH)."""
        pattern = "%Y-%m-%d %H" if fmt == "hour" else "%Y-%m-%d"
        return f"strftime('{pattern}', {column}, '{int(hours):+d} hours')"

    def days(self, expr: str) -> str:
        """An ISO-text time as a number of days (fractional), for differences."""
        return f"julianday({expr})"

    def floor(self, expr: str) -> str:
        """The whole part of a positive number."""
        return f"CAST({expr} AS INTEGER)"

    def json_elements(self, column: str, alias: str) -> tuple[str, str]:
        """(FROM item over the elements of a JSON array column, the first item of element `alias`)."""
        return f"json_each({column}) {alias}", f"json_extract({alias}.value, '$[0]')"

    def fts_ids(self, query: SearchQuery) -> tuple[str, list[object], str]:
        """(SELECT of the ids of articles matching, its parameters, its id column for ORDER BY)."""
        return "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [fts5_query(query)], "rowid"

    def first_per_group(self, select: str, source: str, group: str, order: str) -> str:
        """`select` columns of the first row (by `order`) of each `group` of `source`."""
        # SQLite takes bare columns from the row that min() picked.
        return f"SELECT {select}, min({order}) AS {order} FROM {source} GROUP BY {group}"


class PostgresDialect(Dialect):
    name = "postgresql"

    def shifted_time(self, column: str, hours: int, fmt: str) -> str:
        pattern = "YYYY-MM-DD HH24" if fmt == "hour" else "YYYY-MM-DD"
        # Times are stored as UTC ISO text ("…+00:00"); as a timestamp without zone that is the UTC wall time.
        return f"to_char(CAST({column} AS timestamp) + interval '{int(hours)} hours', '{pattern}')"

    def days(self, expr: str) -> str:
        return f"(extract(epoch from CAST({expr} AS timestamp)) / 86400.0)"

    def floor(self, expr: str) -> str:
        return f"floor({expr})"

    def json_elements(self, column: str, alias: str) -> tuple[str, str]:
        return f"jsonb_array_elements(CAST({column} AS jsonb)) AS {alias}(value)", f"({alias}.value ->> 0)"

    def fts_ids(self, query: SearchQuery) -> tuple[str, list[object], str]:
        return (
            "SELECT id FROM articles WHERE search_vector @@ to_tsquery('simple', ?)",
            [tsquery_text(query)],
            "id",
        )

    def first_per_group(self, select: str, source: str, group: str, order: str) -> str:
        return f"SELECT DISTINCT ON ({group}) {select}, {order} FROM {source} ORDER BY {group}, {order}"


SQLITE = Dialect()
POSTGRES = PostgresDialect()

# The text PostgreSQL's full-text index covers (storage/schema_pg.py indexes exactly this expression):
# title and body with every run of non-letters/digits made one space, as FTS5's tokenizer splits them.
PG_FTS_DOCUMENT = "to_tsvector('simple', regexp_replace(title || ' ' || body, '[^[:alnum:]]+', ' ', 'g'))"


def marks(values: Sequence[object]) -> str:
    """`?, ?, …` for an IN list of `values`."""
    return ",".join("?" * len(values))


async def insert_returning_id(conn: Connection, sql: str, parameters: Sequence[object]) -> int | None:
    """Run an INSERT with `RETURNING id` appended; the new row's id, or None when nothing was inserted
    (ON CONFLICT DO NOTHING). Both backends: SQLite has RETURNING since 3.35; lastrowid is SQLite's only."""
    async with conn.execute(sql + " RETURNING id", parameters) as cursor:
        rows = list(await cursor.fetchall())
    return int(rows[0][0]) if rows else None
