"""One poll cycle: due feeds → fetch → parse → classify new items → store and queue alerts.

A failing feed records its error and backs off; it never stops the other feeds. Errors we expect from
the outside world arrive as FeedError; anything else is a bug, logged with its traceback and recorded on
that feed too, so one strange feed cannot stop the service either.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.classify import classify
from bot.errors import DatabaseReplacedError, FeedError
from bot.feeds.fetcher import Fetched, Fetcher, NotModified
from bot.feeds.parsepool import parse_with_budget
from bot.feeds.schedule import backoff_delay, is_slow, next_check_delay, slow_delay
from bot.feeds.urls import dedup_key, guid_key, mask_url, mask_urls_in_text, volatile_params
from bot.ingest.fulltext import ArticleText, FullTextReader, feed_text
from bot.ingest.store import DEFAULT_EDIT_INTERVAL, store_and_queue
from bot.models import Article, Feed, FeedItem
from storage import articles as article_store
from storage import feeds as feed_store
from storage.articles import NewArticle
from storage.backend import DRIVER_ERRORS
from storage.db import Database
from storage.feeds import PollSuccess
from storage.timeutil import utcnow

logger = logging.getLogger(__name__)
# Storing a poll's outcome failed (either backend's driver error, or the SQLite file was replaced).
_STORE_FAILED: tuple[type[Exception], ...] = (*DRIVER_ERRORS, DatabaseReplacedError)


@dataclass(slots=True)
class PollSummary:
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    new_articles: int = 0
    queued: int = 0
    stored: list[tuple[Article, bool]] = field(default_factory=list)

    def add(self, other: PollSummary) -> None:
        self.fetched += other.fetched
        self.not_modified += other.not_modified
        self.failed += other.failed
        self.new_articles += other.new_articles
        self.queued += other.queued
        self.stored.extend(other.stored)

    def line(self) -> str:
        return (
            f"feeds fetched: {self.fetched}, not modified: {self.not_modified}, failed: {self.failed}; "
            f"new articles: {self.new_articles}; alerts queued: {self.queued}"
        )


# Polls in flight at most: a few times the fetcher's 64 connections (`poll_feeds` and the poll loop's
# claims, bot/ingest/loop.py); more would only wait for a connection, holding their frames meanwhile.
MAX_POLLS_IN_FLIGHT = 256


def _classify_new(
    fresh: list[tuple[FeedItem, str]],
    feed: Feed,
    source: str,
    alert_flags: list[bool],
    texts: Sequence[ArticleText] | None = None,
) -> list[NewArticle]:
    """CPU-bound: runs in a worker thread, off the event loop. `texts`: what to classify (bot/ingest/fulltext)."""
    if texts is None:
        texts = [feed_text(item) for item, _ in fresh]
    return [
        NewArticle(
            item=replace(item, title=text.title),
            link=link,
            classification=classify(
                text.title, text.body, source=source, default_city=feed.default_city_code, link=item.link or None
            ),
            alert=alert,
            body=text.body,
            text_source=text.source,
            feed_text=text.feed_text if text.source == "page" else None,
            page_error=text.page_error,
        )
        for (item, link), alert, text in zip(fresh, alert_flags, texts, strict=True)
    ]


def _keyed(item: FeedItem, feed_id: int, volatile: frozenset[str]) -> tuple[FeedItem, str]:
    """(item with its guid as a dedup key, the link's dedup key). An item without a link still needs a
    unique key; its guid within this feed is the best we have."""
    guid = guid_key(item.guid, volatile)
    if guid != item.guid:
        item = replace(item, guid=guid)
    return item, dedup_key(item.link, volatile) if item.link else f"guid:{feed_id}:{guid}"


def _clamp_future(item: FeedItem, now: datetime) -> FeedItem:
    """A date after the fetch (a wrong time zone, a scheduled post) is taken as the fetch time, so the item
    does not sit on top of /terbaru for days."""
    if item.published is not None and item.published > now:
        return replace(item, published=now)
    return item


def _alert_flags(
    feed: Feed, fresh: list[tuple[FeedItem, str]], *, now: datetime, max_age: timedelta | None = None
) -> list[bool]:
    """First poll of a new feed alerts nobody (no flood on subscribe), except its newest `backfill` items.

    On later polls an item dated more than `max_age` before the fetch (an archive page resurfacing, a feed
    that re-lists old posts) is stored and searchable but alerts nobody.
    """
    if feed.initial_polled:
        if max_age is None:
            return [True] * len(fresh)
        oldest = now - max_age
        return [item.published is None or item.published >= oldest for item, _ in fresh]
    if feed.backfill <= 0:
        return [False] * len(fresh)
    order = sorted(
        range(len(fresh)),
        key=lambda i: (fresh[i][0].published is not None, fresh[i][0].published or datetime.min, -i),
        reverse=True,
    )
    newest = set(order[: feed.backfill])
    return [i in newest for i in range(len(fresh))]


class Poller:
    def __init__(
        self,
        db: Database,
        fetcher: Fetcher,
        *,
        interval: float,
        clock: Callable[[], datetime] = utcnow,
        full_text: FullTextReader | None = None,
        parse_budget: float | None = None,
        max_alert_age: timedelta | None = None,
        rng: random.Random | None = None,
        edit_interval: float = DEFAULT_EDIT_INTERVAL,
    ) -> None:
        self.db = db
        self.edit_interval = edit_interval  # seconds between two edits of one chat's alert of a story
        self.fetcher = fetcher
        self.interval = interval
        self.clock = clock
        # None: every item is classified on its feed text (tests, the demo); the runtime passes a reader.
        self.full_text = full_text
        self.parse_budget = parse_budget  # seconds per parse; None: the pool's default
        self.max_alert_age = max_alert_age  # None: alert new items whatever their date
        self.rng = rng or random.Random()  # backoff jitter

    async def poll_due(self) -> PollSummary:
        """Poll every feed whose next_check_at has come, concurrently (the fetcher caps concurrency)."""
        feeds = await feed_store.due_feeds(self.db, self.clock())
        return await self.poll_feeds(feeds)

    async def poll_feeds(self, feeds: list[Feed]) -> PollSummary:
        """Poll `feeds` concurrently and add up the results (`pantau poll --once`; the long-running modes
        poll each feed on its own schedule through bot.ingest.loop)."""
        summary = PollSummary()
        pending = iter(feeds)

        async def worker() -> None:
            for feed in pending:  # one iterator shared by the workers: each feed is taken once
                summary.add(await self.poll_feed(feed))

        # As many polls in flight as the poll loop claims at most (bot/ingest/loop.py), not one task per
        # feed: 6,000 waiting polls held ~20 MB of frames for slots the fetcher gives 64 at a time anyway.
        await asyncio.gather(*(worker() for _ in range(min(MAX_POLLS_IN_FLIGHT, len(feeds)))))
        return summary

    async def poll_feed(self, feed: Feed) -> PollSummary:
        """Poll one feed and record the outcome; never raises (but for cancellation), so one feed — or a
        busy database while recording it — cannot abort the others."""
        summary = PollSummary()
        try:
            await self._poll(feed, summary)
        except FeedError as exc:
            summary.failed += 1
            # Feed URLs may carry credentials (user:pass@, ?api_key=); logs and last_error show them masked.
            error = mask_urls_in_text(str(exc))
            logger.warning("feed %s failed: %s", mask_url(feed.url), error)
            await self._record_failure(feed, error, getattr(exc, "retry_after", None))
        except _STORE_FAILED as exc:  # the feed is fine; storing its result failed
            # (busy, disk full, or the database's files deleted under us: the runtime stops the service)
            summary.failed += 1
            logger.warning("feed %s: could not store the result, will poll again: %s", mask_url(feed.url), exc)
        except Exception as exc:  # a bug, not the feed's fault: keep the loop alive, keep the traceback
            summary.failed += 1
            logger.exception("unexpected error polling %s", mask_url(feed.url))
            error = mask_urls_in_text(f"internal error: {type(exc).__name__}: {exc}")
            await self._record_failure(feed, error, None)
        return summary

    async def _record_failure(self, feed: Feed, error: str, retry_after: float | None) -> None:
        now = self.clock()
        delay = backoff_delay(
            interval=self.interval,
            error_count=feed.error_count + 1,
            retry_after=retry_after,
            jitter=self.rng.random(),
        )
        try:
            await feed_store.record_failure(
                self.db, feed.id, now=now, error=error, next_check_at=now + timedelta(seconds=delay)
            )
        except _STORE_FAILED as exc:  # the feed stays due and is tried again
            logger.warning("feed %s: could not record its failure: %s", mask_url(feed.url), exc)

    def _slow_backoff(self, feed: Feed, delay: float, elapsed: float) -> tuple[float, int]:
        """(the delay to use, consecutive slow successes) after a success that took `elapsed` seconds.

        A success that took over half the fetch deadline held a slot all that time: the next poll moves
        out gently (bot/feeds/schedule.py) until the feed answers quickly again, which resets the count.
        """
        if elapsed <= 0:  # not measured (a body handed to `ingest` directly)
            return delay, 0
        total_timeout = self.fetcher.total_timeout
        if not is_slow(elapsed, total_timeout=total_timeout):
            return delay, 0
        slow_polls = feed.slow_polls + 1
        pushed = slow_delay(interval=self.interval, slow_count=slow_polls, jitter=self.rng.random())
        logger.info(
            "feed %s answered slowly (%.1f s of the %g s limit, %d in a row): next poll in %.0f s",
            mask_url(feed.url),
            elapsed,
            total_timeout,
            slow_polls,
            max(delay, pushed),
        )
        return max(delay, pushed), slow_polls

    async def _poll(self, feed: Feed, summary: PollSummary) -> None:
        # Feeds added from Telegram fetch through the SSRF guard on every poll (DNS can change).
        public_only = feed.added_by != "cli"
        result = await self.fetcher.fetch(
            feed.url, etag=feed.etag, last_modified=feed.last_modified, public_only=public_only
        )
        now = self.clock()
        if isinstance(result, NotModified):
            summary.not_modified += 1
            delay = next_check_delay(
                interval=self.interval, cache_seconds=result.cache_seconds, ttl_minutes=None, retry_after=None
            )
            delay, slow_polls = self._slow_backoff(feed, delay, result.elapsed)
            outcome = PollSuccess(
                next_check_at=now + timedelta(seconds=delay),
                etag=result.etag or feed.etag,
                last_modified=result.last_modified or feed.last_modified,
                new_url=result.permanent_redirect_url,
                fetch_seconds=result.elapsed,
                slow_polls=slow_polls,
            )
            async with self.db.transaction() as conn:
                await feed_store.record_success(conn, feed.id, outcome, now=now)
            return
        summary.add(await self.ingest(feed, result))

    async def ingest(self, feed: Feed, result: Fetched) -> PollSummary:
        """Parse a fetched body, classify its unseen items, store them and queue their alerts."""
        summary = PollSummary()
        now = self.clock()
        # In a worker process under a time budget: a hostile document fails this feed (and backs off)
        # instead of burning minutes of CPU on every poll.
        parsed = await parse_with_budget(
            result.body, url=result.final_url, content_type=result.content_type, budget=self.parse_budget
        )
        summary.fetched += 1  # counted once parsed: a body that is not a feed is a failure
        # Dedup keys: http and https folded, and without query parameters that only vary per request
        # (a session id the same on every link of a document), remembered on the feed from then on.
        volatile = volatile_params([item.link for item in parsed.items]) | feed.volatile_params
        items = [_keyed(item, feed.id, volatile) for item in parsed.items]
        fresh_idx = await article_store.unseen_items(self.db, feed.id, items)
        fresh_set = set(fresh_idx)
        fresh = [(_clamp_future(items[i][0], now), items[i][1]) for i in fresh_idx]
        flags = _alert_flags(feed, fresh, now=now, max_age=self.max_alert_age)
        # The feed's own title is only known once parsed; on a first poll the row does not have it yet.
        source = feed.name or parsed.title or feed.title or mask_url(feed.url)
        texts = await self.full_text.texts(feed, [item for item, _ in fresh]) if fresh and self.full_text else None
        new_articles = await asyncio.to_thread(_classify_new, fresh, feed, source, flags, texts) if fresh else []
        delay = next_check_delay(
            interval=self.interval,
            cache_seconds=result.cache_seconds,
            ttl_minutes=parsed.ttl_minutes,
            retry_after=None,
        )
        delay, slow_polls = self._slow_backoff(feed, delay, result.elapsed)
        outcome = PollSuccess(
            next_check_at=now + timedelta(seconds=delay),
            etag=result.etag,
            last_modified=result.last_modified,
            title=parsed.title,
            new_url=result.permanent_redirect_url,
            volatile_params=volatile if volatile != feed.volatile_params else None,
            fetch_seconds=result.elapsed,
            slow_polls=slow_polls,
        )
        seen_only = [items[i] for i in range(len(items)) if i not in fresh_set]
        stored = await store_and_queue(
            self.db,
            feed,
            new_articles,
            seen_only=seen_only,
            source=source,
            now=now,
            feed_update=outcome,
            edit_interval=self.edit_interval,
        )
        summary.new_articles += len(stored.stored)
        summary.queued += stored.queued
        summary.stored.extend(stored.stored)
        return summary
