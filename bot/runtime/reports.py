"""The report scheduler: queues daily briefs when their time comes and checks for spikes, both into the
outbox, which the sender drains at Telegram's pace (bot.delivery.documents renders them).

Crash safety is the outbox's: a brief row is unique per (chat, 'brief', local day), so however often this
runs — every minute, after a restart, twice at once — a chat gets one brief a day; a brief whose time
passed while the service was down is queued on start, if it is still that day. A spike and its alert
rows are written in one transaction, at most one per Kab/Kota × kasus per 12 hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from bot.reports import spikes
from bot.reports.periods import due_brief
from storage import reports as report_store
from storage.db import Database
from storage.timeutil import utcnow

logger = logging.getLogger(__name__)

BRIEF_TICK = 30.0  # seconds between schedule checks: a brief leaves within a minute of its time
SPIKE_EVERY = 600.0  # seconds between spike checks


class ReportScheduler:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.wake = wake or (lambda: None)

    async def queue_due_briefs(self) -> int:
        """Queue every brief that is due today and not queued yet; returns how many were queued now."""
        now = self.clock()
        queued = 0
        for chat in await report_store.brief_chats(self.db):
            assert chat.brief_time is not None
            due = due_brief(chat.chat_id, chat.brief_time, chat.tz, chat.brief_since, chat.brief_thread_id, now)
            if due is None:
                continue
            if await report_store.queue_brief(
                self.db, due.chat_id, day=due.day, period_end=due.period_end, thread_id=due.thread_id, now=now
            ):
                queued += 1
        if queued:
            logger.info("queued %d daily brief(s)", queued)
            self.wake()
        return queued

    async def check_spikes(self) -> list[int]:
        """One spike check over every Kab/Kota × kasus; returns the ids of new spikes."""
        now = self.clock()
        first = await report_store.first_article_at(self.db)
        recent_start = now - spikes.WINDOW
        if first is None or recent_start - first < spikes.MIN_HISTORY:
            return []
        baseline_start = max(recent_start - spikes.BASELINE, first)
        pairs = await report_store.spike_counts(
            self.db, recent_start=recent_start, end=now, baseline_start=baseline_start, min_recent=spikes.MIN_COUNT
        )
        verdicts = [spikes.judge(p, baseline_span=recent_start - baseline_start) for p in pairs]
        found: list[int] = []
        subscriptions = None
        unit = await report_store.counting_unit(self.db)
        for verdict in verdicts:
            if not verdict.spike:
                continue
            if subscriptions is None:
                subscriptions = await report_store.spike_subscriptions(self.db)
            pair = verdict.pair
            article_ids = await report_store.spike_article_ids(
                self.db, pair.city_code, pair.case_key, start=recent_start, end=now, limit=50
            )
            spike_id = await report_store.record_spike(
                self.db,
                pair=pair,
                expected=verdict.expected,
                p_value=verdict.p_value,
                window_hours=int(spikes.WINDOW.total_seconds() // 3600),
                unit=unit,
                article_ids=article_ids,
                recipients=spikes.recipients(subscriptions, pair.city_code, pair.case_key),
                now=now,
                quiet_since=now - spikes.QUIET,
            )
            if spike_id is not None:
                logger.info(
                    "spike: %d %s in %s (expected %.2f, p=%.1e)",
                    pair.recent,
                    pair.case_key,
                    pair.city_name,
                    verdict.expected,
                    verdict.p_value,
                )
                found.append(spike_id)
        if found:
            self.wake()
        return found

    async def run(self, *, tick: float = BRIEF_TICK, spike_every: float = SPIKE_EVERY) -> None:
        """Forever: briefs every `tick` seconds, spikes every `spike_every`; a failed round is logged."""
        loop = asyncio.get_running_loop()
        next_spike = loop.time()
        while True:
            try:
                await self.queue_due_briefs()
                if loop.time() >= next_spike:
                    next_spike = loop.time() + spike_every
                    await self.check_spikes()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop tomorrow's briefs
                logger.exception("report round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.sleep(tick)
