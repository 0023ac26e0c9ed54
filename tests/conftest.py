"""Shared pytest fixtures."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database, open_database
from tests.feed_server import feed_server  # noqa: F401  (a fixture: a loopback HTTP server, see tests/feed_server.py)
from tests.postgres import COUNTS, pg_schema


@pytest.fixture(params=["sqlite", "postgres"])
async def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Path | str]:
    """Where a storage test opens its database: an SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield tmp_path / "p.db"
        return
    async with pg_schema() as url:
        yield url


@pytest.fixture
async def two_dbs(db_target: Path | str) -> AsyncIterator[tuple[Database, Database]]:
    """One database opened twice, as two processes open it: a SQLite file, or a PostgreSQL schema."""
    first = await open_database(db_target)
    second = await open_database(db_target)
    yield first, second
    await second.close()
    await first.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    report = os.environ.get("PANTAU_PG_REPORT")
    if report:
        Path(report).write_text(json.dumps(COUNTS), encoding="utf-8")
