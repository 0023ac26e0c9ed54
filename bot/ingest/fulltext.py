"""Which text each new article is classified on: the feed's, or its page's when the feed has a teaser.

The poller asks `FullTextReader.texts` once per feed poll, for the new items only, before classifying
them. So a page is fetched once per article: after that poll the article is stored and never new again.

- Pages are fetched through the poller's own `Fetcher`: the same overall and per-host concurrency caps,
  timeouts, size cap and User-Agent as feeds. A feed added from Telegram fetches its pages through the
  SSRF guard too (a page link belongs to its feed's trust).
- Extraction (trafilatura, CPU-bound) runs in a small thread pool of its own, off the event loop and
  bounded, so a burst of pages cannot starve feed parsing of the default executor.
- An alert does not wait forever: every page of one poll must be read within `timeout` seconds of the
  poll reaching this step. A page not read by then (or failing, or yielding no article text) leaves the
  item on its feed text, marked with the reason in `page_error`; it is stored and alerted all the same.
- A site whose pages keep failing is skipped for a while (`SiteBackoff`, like a failing feed).
- Feed and page text both get their double-encoded UTF-8 repaired (`bot.text.repair_text`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

from bot.errors import FeedError, PageError
from bot.feeds.fetcher import Fetched, Fetcher
from bot.feeds.pages import SiteBackoff, extract_article, fetch_page, is_teaser, needs_page, page_host
from bot.feeds.urls import normalize_link
from bot.models import Feed, FeedItem
from bot.text import repair_text

logger = logging.getLogger(__name__)

DEFAULT_PAGE_TIMEOUT: Final = 20.0
DEFAULT_EXTRACT_WORKERS: Final = 2
_MAX_ERROR: Final = 200


@dataclass(frozen=True, slots=True)
class ArticleText:
    """What one new item is classified on and stored with."""

    title: str
    body: str
    source: str  # "feed" or "page"
    feed_text: str  # the feed's own (repaired) text
    page_error: str | None = None  # why a wanted page was not used


@dataclass(slots=True)
class PageStats:
    """Counters since start (or since `reset`), for logs and the benchmark."""

    wanted: int = 0  # items whose page was to be read
    fetched: int = 0  # pages received (any outcome of extraction)
    used: int = 0  # articles classified on their page's text
    failed: int = 0  # fetch or extraction failed
    timed_out: int = 0  # not read within the timeout
    skipped: int = 0  # site backing off
    fetch_seconds: float = 0.0  # wall time of page fetches received, summed
    extract_seconds: float = 0.0  # wall time of extractions, summed (includes waiting for a worker)
    extract_cpu_seconds: float = 0.0  # thread CPU time of extractions, summed

    def reset(self) -> None:
        fresh = PageStats()
        for name in self.__slots__:
            setattr(self, name, getattr(fresh, name))


def feed_text(item: FeedItem) -> ArticleText:
    """An item classified on its own feed text (repaired)."""
    body = repair_text(item.summary)
    return ArticleText(title=repair_text(item.title), body=body, source="feed", feed_text=body)


class FullTextReader:
    """Reads article pages for teaser items; one per process, shared by every feed's poll."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        timeout: float = DEFAULT_PAGE_TIMEOUT,
        workers: int = DEFAULT_EXTRACT_WORKERS,
        backoff_interval: float = 300.0,
    ) -> None:
        self.fetcher = fetcher
        self.timeout = timeout
        self.backoff = SiteBackoff(interval=backoff_interval)
        self.stats = PageStats()
        self._inflight: dict[tuple[str, bool], _SharedFetch] = {}
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pantau-extract")
        # Import trafilatura (~0.2-0.4 s) in the pool now, not on the first teaser an alert waits for.
        self._executor.submit(warm_up)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def texts(self, feed: Feed, items: Sequence[FeedItem]) -> list[ArticleText]:
        """One `ArticleText` per item, in order; never raises for a page's sake."""
        texts = [feed_text(item) for item in items]
        wanted = [i for i, item in enumerate(items) if needs_page(feed.full_text, texts[i].body, item.link)]
        if not wanted:
            return texts
        self.stats.wanted += len(wanted)
        # Feeds added from Telegram: their pages are public-address-only too, every hop, every time.
        public_only = feed.added_by != "cli"
        tasks = {i: asyncio.create_task(self._read(items[i].link, texts[i], public_only=public_only)) for i in wanted}
        try:
            done, pending = await asyncio.wait(tasks.values(), timeout=self.timeout)
        finally:
            # Late pages, and every page when this poll itself is cancelled (shutdown): none outlives it.
            for task in tasks.values():
                if not task.done():
                    task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for i, task in tasks.items():
            if task in pending:
                self.stats.timed_out += 1
                texts[i] = _on_feed_text(texts[i], f"page not read within {self.timeout:g} s")
                continue
            error = task.exception() if task in done else None
            if error is not None:
                if not isinstance(error, FeedError):  # a bug: keep the article, keep the traceback
                    logger.error("reading page %s failed", items[i].link, exc_info=error)
                texts[i] = _on_feed_text(texts[i], _describe(error))
                continue
            texts[i] = task.result()
        unused = [texts[i] for i in wanted if texts[i].source != "page"]
        if unused:
            logger.info(
                "feed %s: %d of %d article pages not used (%s)",
                feed.id,
                len(unused),
                len(wanted),
                unused[0].page_error or "feed text kept",
            )
        return texts

    async def _read(self, url: str, text: ArticleText, *, public_only: bool) -> ArticleText:
        host = page_host(url)
        if self.backoff.wait_left(host) > 0:
            self.stats.skipped += 1
            return _on_feed_text(text, "site backing off after failed pages")
        page = await self._fetch_shared(url, host, public_only=public_only)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            body, cpu = await loop.run_in_executor(
                self._executor, _extract_timed, page.body, page.final_url, page.content_type, text
            )
        except FeedError:
            self.stats.failed += 1
            raise
        finally:
            self.stats.extract_seconds += time.perf_counter() - started
        self.stats.extract_cpu_seconds += cpu
        self.stats.used += 1
        return ArticleText(title=text.title, body=body, source="page", feed_text=text.feed_text)

    async def _fetch_shared(self, url: str, host: str, *, public_only: bool) -> Fetched:
        """Fetch a page, joining a fetch of the same article already under way (two feeds, one story).

        The fetch is cancelled only when its last waiter gives up, so one feed's deadline does not cost
        another feed the page, and an abandoned fetch does not hold a connection slot.
        """
        key = (normalize_link(url), public_only)
        shared = self._inflight.get(key)
        if shared is None:
            shared = self._inflight[key] = _SharedFetch(asyncio.create_task(self._fetch(url, host, public_only)))
            shared.task.add_done_callback(lambda _task: self._inflight.pop(key, None))
        shared.waiters += 1
        try:
            return await asyncio.shield(shared.task)
        finally:
            shared.waiters -= 1
            if shared.waiters == 0 and not shared.task.done():
                shared.task.cancel()

    async def _fetch(self, url: str, host: str, public_only: bool) -> Fetched:
        started = time.perf_counter()
        try:
            page = await fetch_page(self.fetcher, url, public_only=public_only)
        except FeedError as exc:
            self.stats.failed += 1
            self.backoff.failure(host, exc)
            raise
        self.stats.fetched += 1
        self.stats.fetch_seconds += time.perf_counter() - started
        self.backoff.success(host)
        return page


@dataclass(slots=True)
class _SharedFetch:
    task: asyncio.Task[Fetched]
    waiters: int = 0


def warm_up() -> None:
    """Load the extractor and its lazily built data once (runs in the extraction pool)."""
    page = b"<html><body><article><p>Pemanasan ekstraktor teks berita daerah.</p></article></body></html>"
    with contextlib.suppress(PageError):  # whether this tiny page counts as an article does not matter
        extract_article(page, url="http://localhost/", content_type="text/html", title="", feed_text="")


def _extract_timed(body: bytes, url: str, content_type: str | None, text: ArticleText) -> tuple[str, float]:
    """Runs in the extraction pool: the page's article text and the thread CPU seconds it took."""
    started = time.thread_time()
    try:
        extracted = extract_article(body, url=url, content_type=content_type, title=text.title, feed_text=text.body)
    finally:
        cpu = time.thread_time() - started
    return extracted, cpu


def _on_feed_text(text: ArticleText, reason: str) -> ArticleText:
    """The item stays on its feed text. Only a teaser is marked: its labels rest on half a sentence, while a
    long feed text (a feed set to "always") stands on its own."""
    marked = reason[:_MAX_ERROR] if is_teaser(text.body) else None
    return ArticleText(title=text.title, body=text.body, source="feed", feed_text=text.feed_text, page_error=marked)


def _describe(error: BaseException) -> str:
    message = str(error) or type(error).__name__
    return message if isinstance(error, FeedError) else f"internal error: {type(error).__name__}: {message}"
