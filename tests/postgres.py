"""PostgreSQL for the tests: a schema of its own per test, dropped afterwards.

The server comes from PANTAU_TEST_POSTGRES (default: 127.0.0.1:5432, user postgres, database test, trust
authentication). Without a reachable server the PostgreSQL tests are skipped with one line, except under
CI=true, where they fail: CI must never pass without having run them (.ci/run also checks the count).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import pytest

from storage.postgres import redact

DSN = os.environ.get("PANTAU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
# What ran and what was skipped, written for .ci/run (PANTAU_PG_REPORT) at the end of the session.
COUNTS = {"ran": 0, "skipped": 0}


@functools.cache
def _unreachable() -> str | None:
    try:
        psycopg.connect(DSN, connect_timeout=3).close()
    except psycopg.Error as exc:
        return " ".join(str(exc).split())[:200]
    return None


def require_postgres() -> None:
    """Skip (fail under CI=true) when the test server is not reachable."""
    problem = _unreachable()
    if problem is None:
        COUNTS["ran"] += 1
        return
    reason = (
        f"PostgreSQL tests skipped: no server at {redact(DSN)} ({problem}); "
        "start one or set PANTAU_TEST_POSTGRES (README, PostgreSQL)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason.replace("skipped", "cannot run under CI=true"), pytrace=False)
    COUNTS["skipped"] += 1
    pytest.skip(reason)


def with_search_path(dsn: str, schema: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{schema}"


@asynccontextmanager
async def pg_schema() -> AsyncIterator[str]:
    """A fresh schema; yields a URL whose connections use it; drops it (and everything in it) after."""
    require_postgres()
    schema = f"pantau_test_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(DSN, autocommit=True) as conn:
        await conn.execute(f"CREATE SCHEMA {schema}".encode())
    try:
        yield with_search_path(DSN, schema)
    finally:
        async with await psycopg.AsyncConnection.connect(DSN, autocommit=True) as conn:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())
