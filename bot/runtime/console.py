"""Long-running and one-shot polling without Telegram: console mode of `pantau run`, and `pantau poll`."""

from __future__ import annotations

import asyncio
import logging
from typing import TextIO

from bot.config import Settings
from bot.feeds.fetcher import Fetcher
from bot.formatting import render_alert_text
from bot.ingest.feedlist import ensure_feeds
from bot.ingest.fulltext import FullTextReader
from bot.ingest.poller import Poller, PollSummary
from storage import feeds as feed_store
from storage.db import Database, open_database
from storage.timeutil import utcnow

logger = logging.getLogger(__name__)


def make_poller(db: Database, fetcher: Fetcher, settings: Settings) -> Poller:
    """The service's poller: reads article pages of teaser items through the same fetcher."""
    reader = FullTextReader(
        fetcher,
        timeout=settings.page_timeout,
        workers=settings.page_workers,
        backoff_interval=settings.poll_interval,
    )
    return Poller(db, fetcher, interval=settings.poll_interval, full_text=reader, max_alert_age=settings.max_alert_age)


def print_new_articles(summary: PollSummary, out: TextIO) -> None:
    for article, _alerted in summary.stored:
        out.write(render_alert_text(article) + "\n\n")
    out.flush()


async def poll_command(settings: Settings, *, once: bool, out: TextIO) -> int:
    db = await open_database(settings.db_path)
    try:
        async with Fetcher() as fetcher:
            poller = make_poller(db, fetcher, settings)
            if once:
                summary = await poller.poll_feeds(await feed_store.list_feeds(db))
                out.write(summary.line() + "\n")
                return 0
            while True:
                summary = await poller.poll_due()
                if summary.fetched or summary.not_modified or summary.failed:
                    out.write(summary.line() + "\n")
                    out.flush()
                await sleep_until_due(db, settings.poll_interval)
    finally:
        await db.close()


async def run_console(settings: Settings, out: TextIO) -> int:
    """Console mode: poll forever and print every new article in the alert format."""
    db = await open_database(settings.db_path)
    try:
        await ensure_feeds(db)
        async with Fetcher() as fetcher:
            poller = make_poller(db, fetcher, settings)
            while True:
                summary = await poller.poll_due()
                print_new_articles(summary, out)
                if summary.fetched or summary.failed:
                    logger.info("%s", summary.line())
                await sleep_until_due(db, settings.poll_interval)
    finally:
        await db.close()


async def sleep_until_due(db: Database, interval: float) -> None:
    """Sleep until the next feed is due, at least 1 s and at most `interval`."""
    next_due = await feed_store.next_due_at(db)
    delay = interval if next_due is None else (next_due - utcnow()).total_seconds()
    await asyncio.sleep(min(max(delay, 1.0), interval))
