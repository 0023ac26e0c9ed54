"""The one poll loop every long-running mode uses (the Telegram app, console mode, `pantau poll`).

Each feed is polled on its own schedule, as its own task: a feed starts as soon as it is due, whatever the
others are doing, so a feed that answers in 18 s delays nobody else's alerts (a round gathered as a whole
used to). The loop looks for due feeds at least every `tick` seconds, so a feed added meanwhile — by an
admin, or by `pantau feeds add` in another process — is picked up within seconds in every mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from bot.ingest.poller import Poller, PollSummary
from bot.models import Feed
from storage import feeds as feed_store

logger = logging.getLogger(__name__)

DEFAULT_TICK = 5.0  # seconds: the longest a newly added (or newly due) feed waits to be noticed
MIN_WAIT = 0.2  # seconds between two looks while feeds are in flight or overdue


class PollLoop:
    """Runs `poller.poll_feed` for every due feed, each as soon as it is due; `on_result` sees each."""

    def __init__(
        self,
        poller: Poller,
        on_result: Callable[[PollSummary], Awaitable[None] | None] | None = None,
        *,
        tick: float = DEFAULT_TICK,
    ) -> None:
        self.poller = poller
        self.on_result = on_result
        self.tick = tick
        self._running: dict[int, asyncio.Task[None]] = {}  # feed id → its poll in flight
        # Feed id → monotonic time before which it is not polled again. A poll always moves the feed's
        # next_check_at on, unless storing the result failed (a busy database): then the feed still looks
        # due, and without this it would be fetched again and again while the database is busy.
        self._resting: dict[int, float] = {}
        self._changed = asyncio.Event()

    def wake(self) -> None:
        """Look for due feeds now (a feed was added)."""
        self._changed.set()

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def run(self) -> None:
        """Poll forever; cancelling it cancels the polls in flight (their feeds are polled again later)."""
        try:
            while True:
                self._changed.clear()
                try:
                    await self._start_due()
                    delay = await self._until_next_due()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a busy or failing database: say so in one line, try again
                    logger.warning("looking for due feeds failed: %s", exc)
                    delay = self.tick
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=delay)
        finally:
            tasks = list(self._running.values())
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _start_due(self) -> None:
        now = time.monotonic()
        self._resting = {i: until for i, until in self._resting.items() if until > now}
        for feed in await feed_store.due_feeds(self.poller.db, self.poller.clock()):
            if feed.id in self._running or feed.id in self._resting:
                continue
            task = asyncio.create_task(self._poll(feed.id, feed), name=f"pantau-feed-{feed.id}")
            self._running[feed.id] = task

    async def _poll(self, feed_id: int, feed: Feed) -> None:
        try:
            summary = await self.poller.poll_feed(feed)
            if self.on_result is not None:
                outcome = self.on_result(summary)
                if outcome is not None:
                    await outcome
        except asyncio.CancelledError:
            raise
        except Exception:  # poll_feed records the feed's own errors; this is a bug, keep the loop alive
            logger.exception("polling feed %s failed", feed_id)
        finally:
            self._running.pop(feed_id, None)
            self._resting[feed_id] = time.monotonic() + min(self.tick, self.poller.interval)
            self._changed.set()  # its next_check_at moved: the next wake-up may be sooner or later

    async def _until_next_due(self) -> float:
        """Seconds until the earliest feed not in flight is due, within [MIN_WAIT, tick]."""
        busy = self._running.keys() | self._resting.keys()
        next_due = await feed_store.next_due_at(self.poller.db, exclude=busy)
        delay = self.tick if next_due is None else (next_due - self.poller.clock()).total_seconds()
        if self._resting:
            delay = min(delay, min(self._resting.values()) - time.monotonic())
        return min(max(delay, MIN_WAIT), self.tick)
