"""The one poll loop (bot.ingest.loop) and a poll round's resilience, against a loopback feed server and a
real SQLite file. Issue #12.5 (a slow feed gated every other feed) and #12.6 (a busy database while
recording one feed aborted the whole `pantau poll --once`)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.feeds.fetcher import Fetcher
from bot.ingest.loop import PollLoop
from bot.ingest.poller import Poller, PollSummary
from storage import feeds as feed_store
from storage.db import Database, open_database
from tests.feed_server import FeedServer
from tests.test_poller import FIRE, rss


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(tmp_path / "pantau.db")
    yield database
    await database.close()


async def until(condition: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_slow_feed_does_not_hold_up_the_others(db: Database, feed_server: FeedServer) -> None:
    feed_server.route("/slow.xml", body=rss(FIRE), delay=2.5)
    feed_server.route("/fast.xml", body=rss(FIRE))
    now = datetime.now(UTC)
    await feed_store.add_feed(db, feed_server.url("/slow.xml"), now=now)
    await feed_store.add_feed(db, feed_server.url("/fast.xml"), now=now)
    async with Fetcher() as fetcher:
        loop = PollLoop(Poller(db, fetcher, interval=1), tick=0.5)
        task = asyncio.create_task(loop.run())
        try:
            # A round gathered as a whole polled the fast feed once per slow answer (2.5 s).
            await until(lambda: len(feed_server.requests_to("/fast.xml")) >= 2, within=2.2)
            assert len(feed_server.requests_to("/slow.xml")) == 1
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_feed_added_while_running_is_polled_within_seconds(db: Database, feed_server: FeedServer) -> None:
    feed_server.route("/new.xml", body=rss(FIRE))
    seen: list[PollSummary] = []
    async with Fetcher() as fetcher:
        loop = PollLoop(Poller(db, fetcher, interval=300), seen.append, tick=0.5)
        task = asyncio.create_task(loop.run())
        try:
            await asyncio.sleep(0.3)
            await feed_store.add_feed(db, feed_server.url("/new.xml"), now=datetime.now(UTC))
            await until(lambda: bool(seen), within=2.0)
            assert seen[0].fetched == 1 and loop.in_flight == 0
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_busy_database_while_recording_one_feed_does_not_abort_the_round(
    db: Database, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_server.route("/good.xml", body=rss(FIRE))
    feed_server.route("/broken.xml", status=500)
    now = datetime.now(UTC)
    await feed_store.add_feed(db, feed_server.url("/broken.xml"), now=now)
    await feed_store.add_feed(db, feed_server.url("/good.xml"), now=now)

    async def locked(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(feed_store, "record_failure", locked)
    async with Fetcher() as fetcher:
        summary = await Poller(db, fetcher, interval=60).poll_feeds(await feed_store.list_feeds(db))
    assert (summary.fetched, summary.failed) == (1, 1)
    good = await feed_store.get_feed(db, 2)
    assert good is not None and good.last_success_at is not None


async def test_a_feed_whose_result_cannot_be_stored_is_not_refetched_in_a_tight_loop(
    db: Database, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_server.route("/feed.xml", body=rss(FIRE))
    await feed_store.add_feed(db, feed_server.url("/feed.xml"), now=datetime.now(UTC))

    async def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr("bot.ingest.poller.store_and_queue", full)
    seen: list[PollSummary] = []
    async with Fetcher() as fetcher:
        task = asyncio.create_task(PollLoop(Poller(db, fetcher, interval=60), seen.append, tick=0.5).run())
        try:
            await asyncio.sleep(3.2)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    # Rested for the tick (0.5 s) rounded to the whole seconds stored times have (the rest is the end of
    # its lease, storage.leases): about once a second, not every 0.2 s (16 times).
    assert 2 <= len(feed_server.requests_to("/feed.xml")) <= 5
    assert all(s.failed == 1 for s in seen)
