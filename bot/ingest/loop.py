"""The one poll loop every long-running mode uses (the Telegram app, console mode, `pantau poll`).

Each feed is polled on its own schedule, as its own task: a feed starts as soon as it is due, whatever the
others are doing, so a feed that answers in 18 s delays nobody else's alerts (a round gathered as a whole
used to). The loop looks for due feeds at least every `tick` seconds, so a feed added meanwhile — by an
admin, or by `pantau feeds add` in another process — is picked up within seconds in every mode.

Feeds are claimed with a lease (storage.leases), so any number of loops — in one process or on several
machines sharing a PostgreSQL database — split the due feeds between them and never fetch one feed twice
in an interval. Each look is one transaction: release the feeds whose polls ended, renew the leases of the
feeds still in flight (every `lease / 3` seconds), claim more due feeds up to `max_claimed` in flight. A
loop that dies keeps its feeds leased until the lease runs out; then any other loop claims them. A loop
that is stopped gives its leases back, those of the polls it cut off with a rest (`_release_on_exit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.ingest.poller import MAX_POLLS_IN_FLIGHT, Poller, PollSummary
from bot.models import Feed
from storage import leases

logger = logging.getLogger(__name__)

DEFAULT_TICK = 5.0  # seconds: the longest a newly added (or newly due) feed waits to be noticed
MIN_WAIT = 0.2  # seconds between two looks while feeds are in flight or overdue
# Seconds a claimed feed stays ours without a renewal. Renewed every third of it while its poll runs, so
# it only matters when a poller dies: its feeds are polled by another one this long after.
DEFAULT_FEED_LEASE = 60.0
# Feeds claimed and not yet finished, at most: a few times the fetcher's 64 connections, so a second
# poller finds due feeds left to claim instead of one poller queueing all 6,000 behind its own fetcher.
DEFAULT_MAX_CLAIMED = MAX_POLLS_IN_FLIGHT


def owner_id(role: str = "poller") -> str:
    """A lease owner id unique to this loop: host, pid, and a random part (a pid can be reused)."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _ceil_second(moment: datetime) -> datetime:
    # Stored times have whole seconds; a rest cut short by truncation could let a feed be refetched early.
    if moment.microsecond:
        return moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


class PollLoop:
    """Runs `poller.poll_feed` for every due feed, each as soon as it is due; `on_result` sees each."""

    def __init__(
        self,
        poller: Poller,
        on_result: Callable[[PollSummary], Awaitable[None] | None] | None = None,
        *,
        tick: float = DEFAULT_TICK,
        owner: str | None = None,
        lease: float = DEFAULT_FEED_LEASE,
        max_claimed: int = DEFAULT_MAX_CLAIMED,
    ) -> None:
        self.poller = poller
        self.on_result = on_result
        self.tick = tick
        self.owner = owner or owner_id()
        self.lease = lease
        self.max_claimed = max_claimed
        self._running: dict[int, asyncio.Task[None]] = {}  # feed id → its poll in flight
        self._claimed_at: dict[int, datetime] = {}  # feed id → when its poll in flight was claimed
        # Feed id → when its lease is given up: polls that ended, released at the next look. The lease
        # ends with a short rest (`rest_until`): a poll always moves the feed's next_check_at on, unless
        # storing the result failed (a busy database); then the feed still looks due, and without the rest
        # it would be fetched again and again while the database is busy.
        self._finished: dict[int, datetime] = {}
        self._renewed_at = -math.inf  # monotonic time of the last renewal of the leases in flight
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
            cut_off = {feed_id: self._claimed_at[feed_id] for feed_id in self._running}
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            await self._release_on_exit(cut_off)

    async def _release_on_exit(self, cut_off: dict[int, datetime]) -> None:
        """A clean stop gives its leases back at once (best effort: a lease also runs out by itself).

        A poll cut off mid-flight (`cut_off`: feed id → when it was claimed) may already have reached the
        publisher, and its feed still looks due: released plainly, another poller would fetch it again
        within a second (the PostgreSQL fault test saw that at every rolling stop). It rests until one
        interval after its claim, so no feed is fetched twice within one interval.
        """
        ids = sorted(self._finished.keys() - cut_off.keys())
        if not ids and not cut_off:
            return
        interval = timedelta(seconds=self.poller.interval)
        by_rest: dict[datetime, list[int]] = {}
        for feed_id, claimed_at in cut_off.items():
            by_rest.setdefault(_ceil_second(claimed_at + interval), []).append(feed_id)
        with contextlib.suppress(Exception):
            async with self.poller.db.transaction() as conn:
                if ids:
                    await leases.release_feeds(conn, self.owner, ids)
                for rest_until, rested in sorted(by_rest.items()):
                    await leases.release_feeds(conn, self.owner, sorted(rested), rest_until=rest_until)
            self._finished.clear()

    async def _start_due(self) -> None:
        """One transaction: release the feeds whose polls ended, renew the leases in flight, claim more."""
        now = self.poller.clock()
        finished = dict(self._finished)
        renew = sorted(self._running) if time.monotonic() - self._renewed_at >= self.lease / 3 else []
        until = now + timedelta(seconds=self.lease)
        async with self.poller.db.transaction() as conn:
            # Grouped by rest end: polls ending together share it, so this is one statement or a few.
            by_rest: dict[datetime, list[int]] = {}
            for feed_id, rest_until in finished.items():
                by_rest.setdefault(rest_until, []).append(feed_id)
            for rest_until, ids in by_rest.items():
                await leases.release_feeds(conn, self.owner, ids, rest_until=rest_until)
            if renew:
                await leases.renew_feed_leases(conn, self.owner, renew, until=until)
            claimed = await leases.claim_due_feeds(
                conn,
                self.owner,
                now=now,
                until=until,
                limit=self.max_claimed - len(self._running),
                dialect=self.poller.db.dialect,
            )
        for feed_id in finished:
            self._finished.pop(feed_id, None)
        if renew:
            self._renewed_at = time.monotonic()
        for feed in claimed:
            if feed.id in self._running:  # its lease ran out while it ran and we took it again: it is ours
                continue
            task = asyncio.create_task(self._poll(feed.id, feed), name=f"pantau-feed-{feed.id}")
            self._running[feed.id] = task
            self._claimed_at[feed.id] = now

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
            self._claimed_at.pop(feed_id, None)
            rest = timedelta(seconds=min(self.tick, self.poller.interval))
            self._finished[feed_id] = _ceil_second(self.poller.clock() + rest)
            # Its next_check_at moved: the next wake-up may be sooner or later. While many feeds are in
            # flight (a cycle of thousands) the loop looks every MIN_WAIT anyway; waking it per finished
            # poll would cost a claim transaction each, so it is woken only once there is room for a batch.
            if len(self._running) <= self.max_claimed // 2:
                self._changed.set()

    async def _until_next_due(self) -> float:
        """Seconds until the earliest feed can be claimed, within [MIN_WAIT, tick]; every feed in flight is
        leased (ours or another poller's), so only its lease's end counts."""
        next_due = await leases.next_claimable_at(self.poller.db)
        delay = self.tick if next_due is None else (next_due - self.poller.clock()).total_seconds()
        if self._finished:
            delay = MIN_WAIT  # leases to give back at the next look
        return min(max(delay, MIN_WAIT), self.tick)
