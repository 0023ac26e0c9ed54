"""Every file of feedparser's test corpus and of the shared real-feed set goes through parse → classify →
store (the poller's own ingest path) with no unhandled exception. Skipped when ../shared is absent."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.feeds.fetcher import Fetched
from bot.ingest.poller import Poller
from storage import feeds as feed_store
from storage.db import Database, open_database

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CORPORA = [SHARED / "feeds", SHARED / "feedparser-corpus"]


def corpus_files() -> list[Path]:
    return sorted(p for root in CORPORA if root.is_dir() for p in root.rglob("*") if p.is_file())


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(tmp_path / "corpus.db")
    yield database
    await database.close()


class _NeverFetches:
    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        raise AssertionError("the corpus test feeds bodies straight to ingest")


@pytest.mark.skipif(not any(root.is_dir() for root in CORPORA), reason="../shared/data is not beside the checkout")
async def test_every_corpus_file_survives_the_pipeline(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    files = corpus_files()
    assert len(files) > 2000
    poller = Poller(db, _NeverFetches(), interval=300)  # type: ignore[arg-type]
    not_feeds = stored = 0
    caplog.set_level(logging.ERROR)
    for number, path in enumerate(files):
        feed = await feed_store.add_feed(db, f"https://corpus.example/{number}", now=datetime.now(UTC), backfill=5)
        fetched = Fetched(
            body=path.read_bytes(),
            final_url=feed.url,
            permanent_redirect_url=None,
            etag=None,
            last_modified=None,
            content_type=None,
            cache_seconds=None,
        )
        try:
            summary = await poller.ingest(feed, fetched)
        except ParseError:
            not_feeds += 1
            continue
        stored += summary.new_articles
    async with db.conn.execute("PRAGMA integrity_check") as cursor:
        assert (await cursor.fetchone())[0] == "ok"
    assert stored > 1000
    assert not_feeds < len(files) // 10
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
