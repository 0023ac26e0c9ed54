"""Long-running and one-shot polling without Telegram: console mode of `pantau run`, and `pantau poll`."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from typing import Any, TextIO

from bot.config import Settings
from bot.feeds.fetcher import Fetcher
from bot.formatting import render_alert_text
from bot.ingest.feedlist import ensure_feeds
from bot.ingest.fulltext import FullTextReader
from bot.ingest.loop import DEFAULT_TICK, PollLoop
from bot.ingest.poller import Poller, PollSummary
from bot.runtime.runlock import open_command_database, watch_database
from storage import feeds as feed_store
from storage.db import Database, open_database

logger = logging.getLogger(__name__)


def make_poller(db: Database, fetcher: Fetcher, settings: Settings) -> Poller:
    """The service's poller: reads article pages of teaser items through the same fetcher."""
    reader = FullTextReader(
        fetcher,
        timeout=settings.page_timeout,
        workers=settings.page_workers,
        backoff_interval=settings.poll_interval,
    )
    return Poller(
        db,
        fetcher,
        interval=settings.poll_interval,
        full_text=reader,
        max_alert_age=settings.max_alert_age,
        edit_interval=settings.edit_interval,
    )


def print_new_articles(summary: PollSummary, out: TextIO) -> None:
    for article, _alerted in summary.stored:
        out.write(render_alert_text(article) + "\n\n")
    out.flush()


async def poll_command(settings: Settings, *, once: bool, out: TextIO) -> int:
    """`pantau poll`: with --once one pass over every feed and one summary line; else poll forever."""
    db = await open_command_database(settings.database)
    try:
        async with Fetcher() as fetcher:
            poller = make_poller(db, fetcher, settings)
            if once:
                summary = await poller.poll_feeds(await feed_store.list_feeds(db))
                out.write(summary.line() + "\n")
                # Feeds whose results could not be stored count as failed above; if that is because the
                # database's files went away under us, the command failed, not the feeds (exit 2).
                db.check_files()
                return 0

            def report(summary: PollSummary) -> None:
                out.write(summary.line() + "\n")
                out.flush()

            await until_signalled(PollLoop(poller, report, tick=min(DEFAULT_TICK, float(settings.poll_interval))).run())
            return 0
    finally:
        await db.close()


async def until_signalled(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` until SIGTERM or SIGINT, then cancel it and return, so the caller's cleanup (closing
    the database) runs: a supervisor's stop is an orderly shutdown, not a kill."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(work)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        stopper.cancel()
        task.cancel()
        await asyncio.gather(task, stopper, return_exceptions=True)
    if stop.is_set():
        logger.info("stopping (signal received)")
    elif (error := task.exception()) is not None:
        raise error


async def run_console(settings: Settings, out: TextIO) -> int:
    """Console mode: poll forever and print every new article in the alert format."""
    db = await open_database(settings.database, check=True)
    try:
        await ensure_feeds(db)
        async with Fetcher() as fetcher:

            def report(summary: PollSummary) -> None:
                print_new_articles(summary, out)
                if summary.fetched or summary.failed:
                    logger.info("%s", summary.line())

            poller = make_poller(db, fetcher, settings)
            loop = PollLoop(poller, report, tick=min(DEFAULT_TICK, float(settings.poll_interval)))
            # Ends with DatabaseReplacedError (one line, exit 2) when the files under the database go.
            await until_signalled(_watched(db, loop.run()))
            return 0
    finally:
        await db.close()


async def _watched(db: Database, work: Coroutine[Any, Any, None]) -> None:
    """Run `work` while watching the database's files; the first to end (or fail) ends both."""
    tasks = {asyncio.create_task(work), asyncio.create_task(watch_database(db))}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error
