"""The sender: drains the outbox (storage.deliveries) into Telegram within Telegram's limits.

Two layers:

- `Pacer` is the sending policy and nothing else: given the due rows and a monotonic `now`, it decides
  which chats get a message now (one alert, or one digest when a chat has too many), and when to look
  again. Pure and synchronous, so tests drive it with a fake clock and no sleeping.
- `Sender` is the I/O loop around it: reads due rows, marks them 'sending' (crash evidence), sends through
  a `telegram.Bot`, and maps each failure (bot.delivery.telegram_errors) onto the outbox and the chats table.

Limits (PacingPolicy): overall ≤ `overall_rate` messages/s, spaced evenly — (1 + jitter_allowance) /
overall_rate apart, so arrivals bunched by up to `jitter_allowance` seconds of network jitter still never
put more than `overall_rate` into one second; ≤ 1 message/s per private chat and ≤ 20/min per group or
channel, counted from the moment the previous send to that chat *finished* (and was recorded), so a slow
request cannot bunch two arrivals together. RetryAfter pauses only the chat that got it (PTB's
AIORateLimiter would pause every chat).

The sender's database work does not grow with sends: it keeps the due rows (and their articles) in
memory, re-read in one query per `reload_every` seconds or when something changed them (new rows
queued, a failure rescheduled some), not per send; a step claims its sends ('sending') in one statement,
and the 'sent' marks of sends finishing together are written in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode

from bot.delivery import documents
from bot.delivery.telegram_errors import Action, SendFailure, classify_send_error
from bot.feedback.buttons import alert_keyboard
from bot.formatting import (
    TELEGRAM_MAX_TEXT,
    render_alert_html,
    render_alert_text,
    render_digest_html,
    render_digest_text,
)
from bot.models import Article
from storage import articles as article_store
from storage import chats as chat_store
from storage import deliveries as delivery_store
from storage.db import Database
from storage.deliveries import Delivery
from storage.timeutil import utcnow

logger = logging.getLogger(__name__)

GROUP_TYPES = frozenset({"group", "supergroup", "channel"})
# When Telegram still says "message is too long" (it counts after parsing entities, in UTF-16 units),
# the alert is sent once more as plain text cut to this length; if even that is refused it fails.
SHORT_TEXT_MAX = 2000


def telegram_length(text: str) -> int:
    """Message length as Telegram counts it: UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int = TELEGRAM_MAX_TEXT) -> str:
    """`text` if it fits in `limit` Telegram characters, else its start plus an ellipsis."""
    if telegram_length(text) <= limit:
        return text
    cut = limit - 1
    while (excess := telegram_length(text[:cut]) - (limit - 1)) > 0:
        cut -= (excess + 1) // 2  # each character is one or two units
    return text[:cut].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class PacingPolicy:
    overall_rate: float = 25.0  # messages per second, all chats together
    # Seconds of arrival jitter one 1-s window absorbs: sends are (1 + this) / overall_rate apart, so
    # overall_rate + 1 arrivals span 1 + this seconds. 0.03 costs 3 % of the rate.
    jitter_allowance: float = 0.03
    private_interval: float = 1.0  # seconds between two messages to one private chat
    group_interval: float = 3.0  # 20 per minute to one group or channel
    digest_threshold: int | None = 5  # more alerts than this for one chat within digest_window → digest
    digest_min_items: int = 3  # a digest of two saves one message and hides both leads: send them singly
    digest_window: float = 60.0
    digest_max_items: int = 20
    max_attempts: int = 5  # transient failures before a row is marked failed
    backoff_base: float = 5.0
    backoff_max: float = 600.0
    max_in_flight: int = 16  # concurrent sends (to different chats)

    @property
    def spacing(self) -> float:
        """Seconds between two sends, all chats together."""
        return (1.0 + self.jitter_allowance) / self.overall_rate

    def interval(self, chat_type: str, chat_id: int) -> float:
        if chat_type in GROUP_TYPES or (chat_type not in {"private"} and chat_id < 0):
            return self.group_interval
        return self.private_interval

    def backoff(self, attempts: int) -> float:
        """Delay before retry number `attempts` (1-based) after a transient failure."""
        return float(min(self.backoff_max, self.backoff_base * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True, slots=True)
class Batch:
    """One Telegram message to send: a single alert, or a digest of several for one chat and topic."""

    chat_id: int
    thread_id: int | None
    chat_type: str
    rows: tuple[Delivery, ...]
    at: float = 0.0  # monotonic moment of its overall slot: the request starts then, not before

    @property
    def digest(self) -> bool:
        return len(self.rows) > 1

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows]


@dataclass(slots=True)
class Plan:
    batches: list[Batch] = field(default_factory=list)
    wake_at: float | None = None  # monotonic time worth planning again (None: only when woken)


class Pacer:
    """Per-chat and overall pacing state, in memory, on a monotonic clock."""

    def __init__(self, policy: PacingPolicy) -> None:
        self.policy = policy
        self.next_global = 0.0
        self.chat_ready: dict[int, float] = {}
        self.in_flight: set[int] = set()
        self._recent: dict[int, deque[float]] = {}

    def recent_count(self, chat_id: int, now: float) -> int:
        """Alerts handed to this chat within the digest window (a digest counts all its alerts)."""
        window = self._recent.get(chat_id)
        if not window:
            return 0
        while window and window[0] <= now - self.policy.digest_window:
            window.popleft()
        return len(window)

    def plan(self, due: Sequence[Delivery], now: float, horizon: float = 0.0) -> Plan:
        """Which chats get a message now. `due` is oldest first; each chat gets at most one batch.

        With a `horizon`, overall slots up to `now + horizon` are handed out too (each batch's `at`), so
        the sender claims several sends at once and a late wake-up does not lose a slot.
        """
        plan = Plan()
        by_chat: dict[int, list[Delivery]] = {}
        for row in due:
            by_chat.setdefault(row.chat_id, []).append(row)

        def later(moment: float) -> None:
            plan.wake_at = moment if plan.wake_at is None else min(plan.wake_at, moment)

        for chat_id, rows in by_chat.items():  # dicts keep insertion order: the oldest alert goes first
            if len(self.in_flight) >= self.policy.max_in_flight:
                break  # a finished send wakes the sender
            if chat_id in self.in_flight:
                continue
            ready = self.chat_ready.get(chat_id, 0.0)
            slot = max(self.next_global, now)
            if ready > now and (ready > slot or slot > now + horizon):
                later(ready)
                continue
            if slot > now + horizon:
                later(self.next_global - horizon)
                break
            batch = self._batch(chat_id, rows, slot)
            self.reserve(batch, slot)
            plan.batches.append(batch)
        return plan

    def _batch(self, chat_id: int, rows: list[Delivery], now: float) -> Batch:
        first = rows[0]
        # Briefs and spike alerts (kind != 'alert') always go alone; digests gather article alerts only.
        same_topic = [r for r in rows if r.thread_id == first.thread_id and r.is_alert]
        threshold = self.policy.digest_threshold
        if (
            first.is_alert
            and threshold is not None
            and len(same_topic) >= self.policy.digest_min_items
            and self.recent_count(chat_id, now) + len(rows) > threshold
        ):
            chosen = tuple(same_topic[: self.policy.digest_max_items])
        else:
            chosen = (first,)
        return Batch(chat_id=chat_id, thread_id=first.thread_id, chat_type=first.chat_type, rows=chosen, at=now)

    def reserve(self, batch: Batch, now: float) -> None:
        self.next_global = max(self.next_global, now) + self.policy.spacing
        self.in_flight.add(batch.chat_id)
        interval = self.policy.interval(batch.chat_type, batch.chat_id)
        self.chat_ready[batch.chat_id] = max(self.chat_ready.get(batch.chat_id, 0.0), now + interval)
        window = self._recent.setdefault(batch.chat_id, deque())
        window.extend([now] * len(batch.rows))

    def done(self, batch: Batch, now: float, *, sent_to: int | None = None) -> None:
        """The request for `batch` finished (either way) at `now`; the chat's next slot counts from here."""
        self.in_flight.discard(batch.chat_id)
        interval = self.policy.interval(batch.chat_type, batch.chat_id)
        for chat_id in {batch.chat_id, sent_to or batch.chat_id}:
            self.chat_ready[chat_id] = max(self.chat_ready.get(chat_id, 0.0), now + interval)

    def release(self, batch: Batch) -> None:
        """`batch` was planned but will not be sent (its rows changed meanwhile): the chat is free again."""
        self.in_flight.discard(batch.chat_id)

    def pause(self, chat_id: int, until: float) -> None:
        self.chat_ready[chat_id] = max(self.chat_ready.get(chat_id, 0.0), until)

    def forget(self, chat_id: int) -> None:
        self.chat_ready.pop(chat_id, None)
        self._recent.pop(chat_id, None)


@dataclass(slots=True)
class SendStats:
    messages: int = 0
    alerts_sent: int = 0
    digests: int = 0
    retried: int = 0
    failed: int = 0
    deactivated: int = 0


class Sender:
    """Drains the outbox forever (`run`), or until it is empty (`drain`, for tests and one-shot use)."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        *,
        policy: PacingPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utcnow,
        idle_check: float = 5.0,
        reload_every: float = 1.0,
        batch_size: int = 500,
        plan_ahead: float | None = None,
    ) -> None:
        self.db = db
        self.bot = bot
        self.policy = policy or PacingPolicy()
        self.pacer = Pacer(self.policy)
        self.clock = clock
        self.wall_clock = wall_clock
        self.idle_check = idle_check  # also picks up rows queued by another process (`pantau poll`)
        self.reload_every = reload_every  # the in-memory due list is at most this old (unless changed)
        self.batch_size = batch_size  # due rows held in memory
        # Overall slots handed out ahead of time (a few): claimed together, started on time by a timer.
        self.plan_ahead = min(0.05, 4 * self.policy.spacing) if plan_ahead is None else plan_ahead
        self.stats = SendStats()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        # The due list in memory: pending rows oldest first, minus the ones planned since it was read.
        self._due: list[Delivery] = []
        self._articles: dict[int, Article] = {}
        self._next_row_at: datetime | None = None
        self._loaded_at: float | None = None
        self._stale = True  # rows changed in the database: re-read before planning
        self._sent_marks: list[tuple[list[int], datetime, int | None, bool, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """New rows were queued (or a chat resumed): re-read the outbox and plan again now."""
        self._stale = True
        self._wake.set()

    async def run(self) -> None:
        recovered = await delivery_store.recover_interrupted(self.db)
        if recovered:
            logger.warning("%d alerts were being sent when the bot last stopped; sending them again", recovered)
        while not self._stopping:
            # Cleared before the step, so a send finishing while the step awaits the database still wakes.
            self._wake.clear()
            try:
                delay = await self.step()
            except Exception:  # keep draining; a bug here must not silence every chat
                logger.exception("sender step failed")
                self._stale = True
                delay = self.idle_check
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, delay))

    async def stop(self, grace: float = 10.0) -> None:
        """Stop planning; let sends already in flight finish so no row is left 'sending'."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)

    async def step(self) -> float:
        """Plan once and start the chosen sends; returns seconds until planning again is worthwhile."""
        now = self.clock()
        if self._stale or not self._due or self._loaded_at is None or now - self._loaded_at >= self.reload_every:
            await self._reload()
            now = self.clock()
        plan = self.pacer.plan(self._due, now, self.plan_ahead)
        if plan.batches:
            planned = {i for batch in plan.batches for i in batch.ids}
            self._due = [row for row in self._due if row.id not in planned]
            # 'sending' is in the database before any of these requests starts (crash evidence).
            claimed = await delivery_store.claim_due(self.db, sorted(planned), now=self.wall_clock())
            for batch in plan.batches:
                rows = tuple(row for row in batch.rows if row.id in claimed)
                if len(rows) < len(batch.rows):
                    self._stale = True  # the outbox changed under the in-memory list
                if not rows:
                    self.pacer.release(batch)
                    continue
                articles = {
                    row.article_id: self._articles.get(row.article_id) for row in rows if row.article_id is not None
                }
                task = asyncio.create_task(self._send(replace(batch, rows=rows), articles))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        waits = [self.idle_check]
        if plan.wake_at is not None:
            waits.append(plan.wake_at - now)
        # Rows due now but not planned wait for a pacing slot (wake_at) or a send in flight (wake());
        # only a row due in the future needs its own timer.
        if self._next_row_at is not None:
            until_row = (self._next_row_at - self.wall_clock()).total_seconds()
            if until_row > 0:
                waits.append(until_row)
        return max(0.0, min(waits))

    async def _reload(self) -> None:
        """Re-read the due rows, their articles and the next future row: three queries, not per send."""
        self._stale = False
        wall = self.wall_clock()
        self._due = await delivery_store.due_deliveries(self.db, wall, limit=self.batch_size)
        self._articles = await delivery_store.articles_by_id(self.db, {row.article_id for row in self._due})
        self._next_row_at = await delivery_store.next_attempt_at(self.db)
        self._loaded_at = self.clock()

    async def drain(self, within: float = 30.0) -> None:
        """Send until nothing is due or in flight (rows waiting for a later retry are left queued)."""
        deadline = time.monotonic() + within  # real time, even when self.clock is a test's fake
        while True:
            delay = await self.step()
            if self._tasks:
                # Wake for the next pacing slot even while a slow send is still in flight.
                await asyncio.wait(set(self._tasks), timeout=max(delay, 0.002), return_when=asyncio.FIRST_COMPLETED)
                continue
            due = await delivery_store.due_deliveries(self.db, self.wall_clock(), limit=1)
            if not due:
                return
            if time.monotonic() + min(delay, 0.5) > deadline:
                raise TimeoutError("outbox not drained in time")
            await asyncio.sleep(min(delay, 0.5) or 0.01)

    async def _send(self, batch: Batch, articles: dict[int, Article | None] | None = None) -> None:
        sent_to: int | None = None
        try:
            if (wait := batch.at - self.clock()) > 0:
                await asyncio.sleep(wait)  # its overall slot (claimed ahead, already 'sending')
            if batch.rows[0].is_alert:
                sent_to = await self._deliver(batch, articles or {})
            else:
                sent_to = await self._deliver_report(batch)
        except Exception as exc:
            self._stale = True
            logger.exception("unexpected error delivering to chat %s", batch.chat_id)
            # A bug must not leave rows 'sending' until the next restart: retry with backoff, then fail
            # with the reason (counted in /stats) rather than loop forever.
            attempts = max(row.attempts for row in batch.rows) + 1
            reason = f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(Exception):
                if attempts < self.policy.max_attempts:
                    at = self.wall_clock() + timedelta(seconds=self.policy.backoff(attempts))
                    await delivery_store.requeue_sending(self.db, batch.ids, at=at, error=reason)
                else:
                    await delivery_store.requeue_sending(
                        self.db, batch.ids, at=self.wall_clock(), error=reason, fail=True
                    )
                    self.stats.failed += len(batch.ids)
        finally:
            self.pacer.done(batch, self.clock(), sent_to=sent_to)
            self._wake.set()

    async def _mark_sent(self, ids: list[int], message_id: int | None, digest: bool) -> None:
        """Record a successful send; sends finishing together share one transaction. Returns once written,
        so a chat's next send never starts while its previous one is still 'sending'."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sent_marks.append((ids, self.wall_clock(), message_id, digest, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_sent())
        await asyncio.shield(done)

    async def _flush_sent(self) -> None:
        while self._sent_marks:
            marks, self._sent_marks = self._sent_marks, []
            try:
                await delivery_store.mark_sent_many(
                    self.db, [(ids, at, message_id, digest) for ids, at, message_id, digest, _ in marks]
                )
            except Exception as exc:
                for *_, done in marks:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for *_, done in marks:
                    if not done.done():
                        done.set_result(None)

    async def _deliver(self, batch: Batch, known: dict[int, Article | None]) -> int | None:
        articles: list[Article] = []
        missing: list[int] = []
        for row in batch.rows:
            assert row.article_id is not None  # alert rows always have one (schema CHECK)
            article = known.get(row.article_id) or await article_store.get_article(self.db, row.article_id)
            if article is None:
                missing.append(row.id)
            else:
                articles.append(article)
        if missing:
            self._stale = True
            await delivery_store.mark_failed(self.db, missing, error="article no longer stored")
        rows = [row for row in batch.rows if row.id not in missing]
        if not rows:
            return None
        if len(rows) > 1:
            text, fit = render_digest_html(articles, reasons=[row.reason or None for row in rows])
            rows, articles = rows[:fit], articles[:fit]
            if fit < len(batch.rows):  # the rest go in the next digest
                self._stale = True
                left = [r.id for r in batch.rows[fit:] if r.id not in missing]
                await delivery_store.reschedule(self.db, left, at=self.wall_clock(), error=None, count_attempt=False)
        else:
            text = render_alert_html(articles[0], rows[0].reason or None)
        ids = [row.id for row in rows]
        chat_id, thread_id, html, shortened = batch.chat_id, batch.thread_id, True, False
        # One alert carries its "✏️ Koreksi · 🔇 Bisukan sumber" row (handlers/corrections.py); a digest none.
        buttons = None
        if len(rows) == 1:
            keyboard = alert_keyboard(articles[0])
            buttons = InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in r] for r in keyboard])

        def plain(limit: int = TELEGRAM_MAX_TEXT) -> str:
            whole = (
                render_digest_text(articles, [row.reason or None for row in rows])
                if len(rows) > 1
                else render_alert_text(articles[0], rows[0].reason or None)
            )
            return clip(whole, limit)

        if telegram_length(text) > TELEGRAM_MAX_TEXT:  # escaping can blow up a pathological title or link
            html, text = False, plain()
        # At most four rewrites in a row: a migrated chat, HTML refused, a deleted topic, too long.
        for _ in range(5):
            try:
                message = await self.bot.send_message(
                    chat_id=chat_id,
                    text=text,
                    parse_mode=ParseMode.HTML if html else None,
                    message_thread_id=thread_id,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    reply_markup=buttons,
                )
            except Exception as exc:  # every Telegram outcome is mapped; anything else is a backoff
                failure = classify_send_error(exc)
                if failure.action is Action.MIGRATE and failure.new_chat_id is not None:
                    self._stale = True
                    await chat_store.migrate_chat(self.db, chat_id, failure.new_chat_id, now=self.wall_clock())
                    logger.info("chat %s migrated to %s", chat_id, failure.new_chat_id)
                    self.pacer.forget(chat_id)
                    chat_id = failure.new_chat_id
                    continue
                if failure.action is Action.PLAIN_TEXT and html:
                    logger.warning("chat %s refused our HTML (%s); sending plain text", chat_id, failure.reason)
                    html, text = False, plain()
                    continue
                if failure.action is Action.SHORTEN and not shortened:
                    logger.warning("chat %s: %s; sending a shortened plain-text version", chat_id, failure.reason)
                    html, shortened, text = False, True, plain(SHORT_TEXT_MAX)
                    continue
                if failure.action is Action.NO_THREAD and thread_id is not None:
                    thread_id = None
                    continue
                await self._handle_failure(chat_id, rows, failure)
                return chat_id
            await self._mark_sent(ids, message.message_id, len(ids) > 1)
            self.stats.messages += 1
            self.stats.alerts_sent += len(ids)
            self.stats.digests += int(len(ids) > 1)
            logger.info("sent %d alert(s) to chat %s", len(ids), chat_id)
            return chat_id
        await self._handle_failure(chat_id, rows, SendFailure(Action.FAIL, "gave up after repeated rewrites"))
        return chat_id

    async def _deliver_report(self, batch: Batch) -> int | None:
        """A brief or spike alert (bot.delivery.documents), with the same error mapping as an alert."""
        row = batch.rows[0]
        chat_id, thread_id = batch.chat_id, batch.thread_id
        for _ in range(3):  # a migrated chat, a deleted topic
            try:
                message = await documents.send_report(
                    self.db, self.bot, row, chat_id=chat_id, thread_id=thread_id, now=self.wall_clock()
                )
            except Exception as exc:  # every Telegram outcome is mapped; anything else is a backoff
                failure = classify_send_error(exc)
                if failure.action is Action.MIGRATE and failure.new_chat_id is not None:
                    self._stale = True
                    await chat_store.migrate_chat(self.db, chat_id, failure.new_chat_id, now=self.wall_clock())
                    self.pacer.forget(chat_id)
                    chat_id = failure.new_chat_id
                    continue
                if failure.action is Action.NO_THREAD and thread_id is not None:
                    thread_id = None
                    continue
                await self._handle_failure(chat_id, [row], failure)
                return chat_id
            await self._mark_sent([row.id], message.message_id, False)
            self.stats.messages += 1
            logger.info("sent %s report to chat %s", row.kind, chat_id)
            return chat_id
        await self._handle_failure(chat_id, [row], SendFailure(Action.FAIL, "gave up after repeated rewrites"))
        return chat_id

    async def _handle_failure(self, chat_id: int, rows: list[Delivery], failure: SendFailure) -> None:
        self._stale = True  # every outcome below changes queued rows
        ids = [row.id for row in rows]
        now = self.wall_clock()
        if failure.action is Action.WAIT:
            delay = max(failure.delay or 1.0, 0.0)
            self.pacer.pause(chat_id, self.clock() + delay)
            until = now + timedelta(seconds=delay)
            await delivery_store.reschedule(self.db, ids, at=until, error=failure.reason, count_attempt=False)
            # The chat's other queued alerts wait too, so they do not fill the due list meanwhile.
            await delivery_store.hold_chat(self.db, chat_id, until=until, error=failure.reason)
            self.stats.retried += len(ids)
            logger.warning("chat %s: %s", chat_id, failure.reason)
            return
        if failure.action is Action.DEACTIVATE:
            failed = await chat_store.deactivate_chat(self.db, chat_id, failure.reason, now=now)
            self.stats.deactivated += 1
            self.stats.failed += failed
            logger.warning("chat %s deactivated (%s); %d queued alerts marked failed", chat_id, failure.reason, failed)
            return
        attempts = max(row.attempts for row in rows) + 1
        if failure.action is Action.BACKOFF and attempts < self.policy.max_attempts:
            delay = self.policy.backoff(attempts)
            self.pacer.pause(chat_id, self.clock() + delay)
            await delivery_store.reschedule(self.db, ids, at=now + timedelta(seconds=delay), error=failure.reason)
            self.stats.retried += len(ids)
            logger.warning("chat %s: %s; retry %d in %.0fs", chat_id, failure.reason, attempts, delay)
            return
        reason = (
            failure.reason if failure.action is not Action.BACKOFF else f"{failure.reason} (after {attempts} attempts)"
        )
        await delivery_store.mark_failed(self.db, ids, error=reason)
        self.stats.failed += len(ids)
        logger.error("chat %s: %d alert(s) failed: %s", chat_id, len(ids), reason)
