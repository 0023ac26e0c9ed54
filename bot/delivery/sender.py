"""The sender: drains the outbox (storage.deliveries) into Telegram within Telegram's limits.

The I/O around the pure pacer (bot.delivery.pacer, which decides who gets a message when and what a
failed send means): reads due rows, marks them 'sending' (crash evidence), sends through a
`telegram.Bot`, and maps each failure (bot.delivery.telegram_errors) onto the outbox and the chats table.

The sender's database work does not grow with sends: it keeps the due rows (and their articles) in
memory, re-read in one query per `reload_every` seconds or when something changed them (new rows
queued, a failure rescheduled some), not per send; a step claims its sends ('sending') in one statement,
and the 'sent' marks of sends finishing together are written in one transaction.

A failed database write never stalls delivery: what the pacer reserved is released on every path, sent
marks that could not be written are written by a later step, and rows left 'sending' with nobody owning
them are queued again by the running process (at most once more), not only at the next start.

Rows are of three kinds (storage.deliveries): an 'alert' is a new message — the first report of a story
in that chat, naming the story's other outlets as they are when it is sent ("Juga diberitakan"); an
'edit' rewrites a sent alert in place (editMessageText) to name the outlets that reported the story
since; an 'update' ("Pembaruan") is a new message replying to the alert. All three are paced alike: an
edit counts against the same overall and per-chat limits. Only alerts are bundled into digests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters
from telegram.constants import ParseMode

from bot.delivery import documents
from bot.delivery.pacer import Batch, Outcome, Pacer, PacingPolicy, retry_plan
from bot.delivery.telegram_errors import Action, SendFailure, classify_send_error
from bot.feedback.buttons import alert_keyboard
from bot.formatting import (
    TELEGRAM_MAX_TEXT,
    also_reported,
    render_alert_html,
    render_alert_text,
    render_digest_html,
    render_digest_text,
    render_update_html,
    render_update_text,
)
from bot.models import Article
from storage import articles as article_store
from storage import chats as chat_store
from storage import deliveries as delivery_store
from storage import leases as lease_store
from storage import stories as story_store
from storage.db import Database
from storage.deliveries import ALERT, EDIT, UPDATE, Delivery
from storage.timeutil import utcnow

logger = logging.getLogger(__name__)

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


@dataclass(slots=True)
class SendStats:
    messages: int = 0
    alerts_sent: int = 0
    digests: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    deactivated: int = 0
    edits: int = 0  # alerts edited in place ("Juga diberitakan")
    updates: int = 0  # "Pembaruan" replies sent


# An edit or update whose alert is still on its way waits this long before looking again.
FOLLOWUP_WAIT = 5.0


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
        rng: random.Random | None = None,
        sweep_every: float = 60.0,
        gate: Callable[[], bool] | None = None,
    ) -> None:
        self.db = db
        # None: always send. Else nothing is planned (or requeued) while it says False: a sender that is
        # one of several (bot.runtime.roles) acts only while it holds the leader lease.
        self.gate = gate
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
        self.rng = rng or random.Random()  # backoff jitter; tests pass a seeded one
        # Recovery from failed database writes while running (see _settle_leftovers).
        self._in_flight_ids: set[int] = set()
        self._unwritten_marks: list[tuple[Sequence[int], datetime, int | None, bool]] = []
        self._orphans_possible = False
        self.sweep_every = sweep_every
        self._swept_at = self.clock()

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

    async def resume_pacing(self) -> None:
        """Before a sender taking over from another (bot.runtime.roles) sends anything: pace after the
        previous sender's last sends, as recorded in the outbox, so the hand-over never bunches messages
        to one chat or more than the overall rate into one second."""
        wall = self.wall_clock()
        window = max(self.policy.group_interval, self.policy.private_interval, 1.0) + 1.0
        recent = await lease_store.recent_sends(self.db, since=wall - timedelta(seconds=window))
        # Stored times have whole seconds: a send stamped hh:mm:ss happened up to a second later.
        ages = [(r.chat_id, r.chat_type, max(0.0, (wall - r.sent_at).total_seconds() - 1.0)) for r in recent]
        self.pacer.resume(ages, self.clock())
        if ages:
            logger.info("taking over delivery: pacing after %d chat(s) served in the last seconds", len(ages))

    def abort(self) -> None:
        """Cancel every send in flight at once, leaving their rows 'sending' — what a killed process leaves
        (the next sender requeues them at its start: such an alert is sent at most once more)."""
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        if self._flusher is not None:
            self._flusher.cancel()
        self._wake.set()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop planning; let sends already in flight finish so no row is left 'sending'."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)

    async def step(self) -> float:
        """Plan once and start the chosen sends; returns seconds until planning again is worthwhile."""
        if self.gate is not None and not self.gate():
            return self.idle_check
        await self._settle_leftovers()
        now = self.clock()
        if self._stale or not self._due or self._loaded_at is None or now - self._loaded_at >= self.reload_every:
            await self._reload()
            now = self.clock()
        plan = self.pacer.plan(self._due, now, self.plan_ahead)
        if plan.batches:
            await self._start(plan.batches)
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

    async def _start(self, batches: list[Batch]) -> None:
        """Claim the planned rows ('sending', in the database before any request starts) and send them."""
        planned = {i for batch in batches for i in batch.ids}
        self._due = [row for row in self._due if row.id not in planned]
        try:
            claimed = await delivery_store.claim_due(self.db, sorted(planned), now=self.wall_clock())
        except BaseException:
            # Nothing was claimed (the transaction rolled back): every chat the pacer reserved is free
            # again, or after max_in_flight such failures nothing would ever be planned again.
            for batch in batches:
                self.pacer.release(batch)
            self._stale = True
            raise
        # The reports of the claimed alerts' stories that have more than one (counted by the claim): a
        # report stored before the claim is named in the alert; one stored after finds the alert 'sending'
        # and queues an edit. Most alerts are of a one-report story: no read at all.
        story_ids = {
            row.story_id
            for batch in batches
            for row in batch.rows
            if claimed.get(row.id, 0) > 1 and row.kind == ALERT and row.story_id is not None
        }
        reports = await story_store.reports_of_stories(self.db, story_ids) if story_ids else {}
        for batch in batches:
            rows = tuple(row for row in batch.rows if row.id in claimed)
            if len(rows) < len(batch.rows):
                self._stale = True  # the outbox changed under the in-memory list
            if not rows:
                self.pacer.release(batch)
                continue
            articles = {
                row.article_id: self._articles.get(row.article_id) for row in rows if row.article_id is not None
            }
            self._in_flight_ids.update(row.id for row in rows)
            task = asyncio.create_task(self._send(replace(batch, rows=rows), articles, reports))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _settle_leftovers(self) -> None:
        """Finish what a failed database write left behind, while running rather than at the next start.

        Sent marks that could not be written are written now (those alerts reached Telegram: never resend
        them). Rows still 'sending' that no send owns — their outcome could not be recorded — go back to
        the queue: such an alert may have reached Telegram, so it is sent at most once more.
        """
        if self._unwritten_marks:
            marks, self._unwritten_marks = self._unwritten_marks, []
            try:
                await delivery_store.mark_sent_many(self.db, marks)
            except BaseException:
                self._unwritten_marks = marks + self._unwritten_marks
                raise
            self._stale = True
        now = self.clock()
        if self._orphans_possible or now - self._swept_at >= self.sweep_every:
            keep = self._in_flight_ids | {i for ids, *_ in self._unwritten_marks for i in ids}
            requeued = await delivery_store.requeue_stuck(
                self.db, keep=keep, error="outcome not recorded (database error); sending again"
            )
            self._orphans_possible, self._swept_at = False, now
            if requeued:
                self._stale = True
                logger.warning("%d alert(s) left 'sending' after a database error were queued again", requeued)

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

    async def _send(
        self,
        batch: Batch,
        articles: dict[int, Article | None] | None = None,
        reports: dict[int, list[Article]] | None = None,
    ) -> None:
        sent_to: int | None = None
        try:
            if (wait := batch.at - self.clock()) > 0:
                await asyncio.sleep(wait)  # its overall slot (claimed ahead, already 'sending')
            now = self.clock()
            if (wait := self.pacer.start_at(now) - now) > 0:
                await asyncio.sleep(wait)  # it started late: keep the spacing to the send before it
            if batch.rows[0].has_article:
                sent_to = await self._deliver(batch, articles or {}, reports or {})
            else:
                sent_to = await self._deliver_report(batch)
        except Exception as exc:
            self._stale = True
            logger.exception("unexpected error delivering to chat %s", batch.chat_id)
            # A bug must not leave rows 'sending' until the next restart: retry with backoff, then fail
            # with the reason (counted in /stats) rather than loop forever.
            plan = retry_plan(
                self.policy,
                reason=f"{type(exc).__name__}: {exc}",
                attempts=max(row.attempts for row in batch.rows) + 1,
                age=0.0,
                outage=False,
                jitter=self.rng.random(),
            )
            try:
                failed = plan.outcome is not Outcome.RETRY
                at = self.wall_clock() + timedelta(seconds=plan.delay)
                await delivery_store.requeue_sending(self.db, batch.ids, at=at, error=plan.reason, fail=failed)
                self.stats.failed += len(batch.ids) if failed else 0
            except Exception:
                self._orphans_possible = True  # left 'sending': the next step requeues them
        finally:
            self._in_flight_ids.difference_update(batch.ids)
            self.pacer.done(batch, self.clock(), sent_to=sent_to)
            self._wake.set()

    async def _mark_sent(self, ids: list[int], message_id: int | None, digest: bool) -> None:
        """Record a successful send; sends finishing together share one transaction. Returns once written
        (or kept for a later write), so a chat's next send never starts while its previous one is still
        'sending'. Never raises: the alert reached Telegram whatever happens to the write."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sent_marks.append((ids, self.wall_clock(), message_id, digest, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_sent())
        await asyncio.shield(done)

    async def _flush_sent(self) -> None:
        while self._sent_marks:
            marks, self._sent_marks = self._sent_marks, []
            rows = [(ids, at, message_id, digest) for ids, at, message_id, digest, _ in marks]
            try:
                await delivery_store.mark_sent_many(self.db, rows)
            except Exception as exc:
                # Kept in memory and written by a later step; the rows stay 'sending' meanwhile, so
                # nothing sends them again unless the process dies first (then: at most once more).
                logger.warning("could not record %d sent alert(s), will retry: %s", len(rows), exc)
                self._unwritten_marks.extend(rows)
            for *_, done in marks:
                if not done.done():
                    done.set_result(None)

    async def _deliver(
        self, batch: Batch, known: dict[int, Article | None], reports: dict[int, list[Article]]
    ) -> int | None:
        """Send one batch (alert, digest, update or edit), rewriting it as Telegram asks; returns the chat
        it went to. `reports` are the reports of its stories that have more than one."""
        if batch.rows[0].kind == EDIT:
            return await self._deliver_edit(batch.rows[0])
        rows, articles = await self._articles_for(batch, known, reports)
        if not rows:
            return None
        reply_to: int | None = None
        if rows[0].kind == UPDATE:
            waiting, reply_to = await self._update_target(rows[0])
            if waiting:
                return None
        message = _Message(batch.chat_id, batch.thread_id, rows, articles, reports, reply_to)
        # At most four rewrites in a row: a migrated chat, HTML refused, a deleted topic, too long.
        for _ in range(5):
            try:
                sent = await self.bot.send_message(
                    chat_id=message.chat_id,
                    text=message.text,
                    parse_mode=ParseMode.HTML if message.html else None,
                    message_thread_id=message.thread_id,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    reply_markup=message.buttons,
                    # The alert may have been deleted meanwhile: the update then stands on its own.
                    reply_parameters=(
                        ReplyParameters(message_id=message.reply_to, allow_sending_without_reply=True)
                        if message.reply_to is not None
                        else None
                    ),
                )
            except Exception as exc:  # every Telegram outcome is mapped; anything else is a backoff
                failure = classify_send_error(exc)
                if await self._rewrite(message, failure):
                    continue
                await self._handle_failure(message.chat_id, rows, failure)
                return message.chat_id
            ids = [row.id for row in rows]
            await self._mark_sent(ids, sent.message_id, len(ids) > 1)
            self.stats.messages += 1
            if rows[0].kind == UPDATE:
                self.stats.updates += 1
                logger.info("sent an update of story %s to chat %s", rows[0].story_id, message.chat_id)
                return message.chat_id
            self.stats.alerts_sent += len(ids)
            self.stats.digests += int(len(ids) > 1)
            logger.info("sent %d alert(s) to chat %s", len(ids), message.chat_id)
            return message.chat_id
        failure = SendFailure(Action.FAIL, "gave up after repeated rewrites")
        await self._handle_failure(message.chat_id, rows, failure)
        return message.chat_id

    async def _articles_for(
        self, batch: Batch, known: dict[int, Article | None], reports: dict[int, list[Article]]
    ) -> tuple[list[Delivery], list[Article]]:
        """The batch's rows that still have their article (the rest fail), trimmed to what one digest fits."""
        rows: list[Delivery] = []
        articles: list[Article] = []
        missing: list[int] = []
        for row in batch.rows:
            assert row.article_id is not None  # alert rows always have one (schema CHECK)
            article = known.get(row.article_id) or await article_store.get_article(self.db, row.article_id)
            if article is None:
                missing.append(row.id)
            else:
                rows.append(row)
                articles.append(article)
        if missing:
            self._stale = True
            await delivery_store.mark_failed(self.db, missing, error="article no longer stored")
        if len(rows) > 1:
            fit = render_digest_html(
                articles, reasons=[row.reason or None for row in rows], outlets=_outlets(rows, reports)
            )[1]
            if fit < len(rows):  # the rest go in the next digest
                self._stale = True
                left = [r.id for r in rows[fit:]]
                await delivery_store.reschedule(self.db, left, at=self.wall_clock(), error=None, count_attempt=False)
                rows, articles = rows[:fit], articles[:fit]
        return rows, articles

    async def _rewrite(self, message: _Message, failure: SendFailure) -> bool:
        """Change `message` as `failure` asks (another chat, plain text, shorter, no topic); False: cannot."""
        if failure.action is Action.MIGRATE and failure.new_chat_id is not None:
            self._stale = True
            await chat_store.migrate_chat(self.db, message.chat_id, failure.new_chat_id, now=self.wall_clock())
            logger.info("chat %s migrated to %s", message.chat_id, failure.new_chat_id)
            self.pacer.forget(message.chat_id)
            message.chat_id = failure.new_chat_id
            message.reply_to = None  # the alert stayed in the old group
            return True
        if failure.action is Action.PLAIN_TEXT and message.html:
            logger.warning("chat %s refused our HTML (%s); sending plain text", message.chat_id, failure.reason)
            message.to_plain()
            return True
        if failure.action is Action.SHORTEN and not message.shortened:
            logger.warning("chat %s: %s; sending a shortened plain-text version", message.chat_id, failure.reason)
            message.to_plain(SHORT_TEXT_MAX)
            return True
        if failure.action is Action.NO_THREAD and message.thread_id is not None:
            message.thread_id = None
            return True
        return False

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

    async def _later(self, row: Delivery, why: str) -> None:
        """Put a claimed edit or update back for a few seconds: its alert is still on its way."""
        self._stale = True
        at = self.wall_clock() + timedelta(seconds=FOLLOWUP_WAIT)
        await delivery_store.reschedule(self.db, [row.id], at=at, error=why, count_attempt=False)

    async def _update_target(self, row: Delivery) -> tuple[bool, int | None]:
        """(wait?, message to reply to) for an update: it follows its alert, and replies to it when the
        alert is a message of its own (not failed, not gone)."""
        [target] = await delivery_store.get_deliveries(self.db, [row.target_id]) if row.target_id else [None]
        if target is not None and target.status in {"pending", "sending"}:
            await self._later(row, "waiting for the alert it replies to")
            return True, None
        if target is None or target.status != "sent" or target.chat_id != row.chat_id:
            return False, None
        return False, target.message_id

    async def _deliver_edit(self, row: Delivery) -> int | None:
        """Rewrite the chat's alert of the story to name every outlet that reported it so far."""
        [target] = await delivery_store.get_deliveries(self.db, [row.target_id]) if row.target_id else [None]
        if target is not None and target.status == "sending":
            await self._later(row, "waiting for the alert it edits")
            return None
        if target is None or target.status != "sent" or target.digest or target.message_id is None:
            # Pending: the alert is not sent yet and will name the outlets itself. Failed or in a digest:
            # there is no message of its own to edit. Either way this row has nothing left to do.
            await self._mark_sent([row.id], None, False)
            return None
        article = await article_store.get_article(self.db, target.article_id) if target.article_id else None
        if article is None:
            await delivery_store.mark_failed(self.db, [row.id], error="article no longer stored")
            return None
        reports = await story_store.story_articles(self.db, row.story_id) if row.story_id is not None else []
        also = also_reported(article, reports)
        text, html = render_alert_html(article, target.reason or None, also), True
        if telegram_length(text) > TELEGRAM_MAX_TEXT:
            html, text = False, clip(render_alert_text(article, target.reason or None, also))
        chat_id = target.chat_id
        # An edit without a keyboard would remove the alert's buttons: send them again.
        keyboard = alert_keyboard(article)
        buttons = InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in r] for r in keyboard])
        for _ in range(3):
            try:
                await self.bot.edit_message_text(
                    text,
                    chat_id=chat_id,
                    message_id=target.message_id,
                    parse_mode=ParseMode.HTML if html else None,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    reply_markup=buttons,
                )
            except Exception as exc:
                failure = classify_send_error(exc)
                if failure.action is Action.UNCHANGED:
                    # The message already says this (an edit sent again after a crash, or an alert sent
                    # after the report arrived): done, as Telegram's "not modified" means.
                    await self._mark_sent([row.id], None, False)
                    return chat_id
                if failure.action in {Action.PLAIN_TEXT, Action.SHORTEN} and html:
                    html, text = False, clip(render_alert_text(article, target.reason or None, also), SHORT_TEXT_MAX)
                    continue
                if failure.action in {Action.MIGRATE, Action.NO_THREAD, Action.PLAIN_TEXT, Action.SHORTEN}:
                    # The message stayed in the old group, or cannot take the text: leave the alert as it is.
                    failure = SendFailure(Action.FAIL, failure.reason)
                await self._handle_failure(chat_id, [row], failure)
                return chat_id
            # No message id of its own: the alert row has it, and an article named only in an edit was not
            # sent to the chat as a message (its buttons, corrections, are the alert's).
            await self._mark_sent([row.id], None, False)
            self.stats.messages += 1
            self.stats.edits += 1
            logger.info("edited the alert of story %s in chat %s (%d other outlets)", row.story_id, chat_id, len(also))
            return chat_id
        await self._handle_failure(chat_id, [row], SendFailure(Action.FAIL, "gave up after repeated rewrites"))
        return chat_id

    async def _handle_failure(self, chat_id: int, rows: list[Delivery], failure: SendFailure) -> None:
        try:
            await self._record_failure(chat_id, rows, failure)
        finally:
            # Every outcome changes queued rows, the chat's later ones too (held behind a retry): re-read
            # the due list after the writes, or a copy read between them could send a later alert first.
            self._stale = True

    async def _record_failure(self, chat_id: int, rows: list[Delivery], failure: SendFailure) -> None:
        ids = [row.id for row in rows]
        now = self.wall_clock()
        if failure.action is Action.WAIT:
            delay = failure.delay or 1.0
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
        if failure.action in (Action.OUTAGE, Action.BACKOFF):
            await self._retry_later(chat_id, rows, failure)
            return
        await delivery_store.mark_failed(self.db, ids, error=failure.reason)
        self.stats.failed += len(ids)
        logger.error("chat %s: %d alert(s) failed: %s", chat_id, len(ids), failure.reason)

    async def _retry_later(self, chat_id: int, rows: list[Delivery], failure: SendFailure) -> None:
        ids = [row.id for row in rows]
        now = self.wall_clock()
        queued = [row.created_at for row in rows if row.created_at is not None]
        plan = retry_plan(
            self.policy,
            reason=failure.reason,
            attempts=max(row.attempts for row in rows) + 1,
            age=(now - min(queued)).total_seconds() if queued else 0.0,
            outage=failure.action is Action.OUTAGE,
            jitter=self.rng.random(),
        )
        if plan.outcome is Outcome.RETRY:
            self.pacer.pause(chat_id, self.clock() + plan.delay)
            until = now + timedelta(seconds=plan.delay)
            await delivery_store.reschedule(self.db, ids, at=until, error=plan.reason)
            # The chat's later alerts wait behind this one, so delivery resumes in order.
            await delivery_store.hold_chat(self.db, chat_id, until=until, error=plan.reason)
            self.stats.retried += len(ids)
            logger.warning("chat %s: %s; retry in %.1fs", chat_id, plan.reason, plan.delay)
        elif plan.outcome is Outcome.EXPIRED:
            await delivery_store.mark_expired(self.db, ids, error=plan.reason)
            self.stats.expired += len(ids)
            logger.error("chat %s: %d alert(s) expired: %s", chat_id, len(ids), plan.reason)
        else:
            await delivery_store.mark_failed(self.db, ids, error=plan.reason)
            self.stats.failed += len(ids)
            logger.error("chat %s: %d alert(s) failed: %s", chat_id, len(ids), plan.reason)


def _outlets(rows: Sequence[Delivery], reports: dict[int, list[Article]]) -> list[int]:
    """How many media reported each row's story ("— 3 media" in a digest)."""
    return [len({a.source for a in reports[r.story_id]}) if r.story_id in reports else 1 for r in rows]


class _Message:
    """The text of one send and the rewrites Telegram can ask for (bot.delivery.telegram_errors)."""

    def __init__(
        self,
        chat_id: int,
        thread_id: int | None,
        rows: list[Delivery],
        articles: list[Article],
        reports: dict[int, list[Article]] | None = None,
        reply_to: int | None = None,
    ) -> None:
        self.chat_id = chat_id
        self.thread_id = thread_id
        self.rows = rows
        self.articles = articles
        self.reply_to = reply_to  # an update replies to its story's alert
        self.html = True
        self.shortened = False
        reports = reports or {}
        self.outlets = _outlets(rows, reports)
        story = rows[0].story_id
        self.also = also_reported(articles[0], reports[story]) if len(rows) == 1 and story in reports else []
        if len(rows) > 1:
            reasons = [row.reason or None for row in rows]
            self.text = render_digest_html(articles, reasons=reasons, outlets=self.outlets)[0]
        elif rows[0].kind == UPDATE:
            self.text = render_update_html(articles[0], rows[0].reason)
        else:
            self.text = render_alert_html(articles[0], rows[0].reason or None, self.also)
        if telegram_length(self.text) > TELEGRAM_MAX_TEXT:  # escaping can blow up a pathological title or link
            self.to_plain()
        # One alert carries its "✏️ Koreksi · 🔇 Bisukan sumber" row (handlers/corrections.py); a digest none.
        self.buttons: InlineKeyboardMarkup | None = None
        if len(rows) == 1:
            keyboard = alert_keyboard(articles[0])
            self.buttons = InlineKeyboardMarkup(
                [[InlineKeyboardButton(t, callback_data=d) for t, d in r] for r in keyboard]
            )

    def to_plain(self, limit: int = TELEGRAM_MAX_TEXT) -> None:
        if len(self.rows) > 1:
            whole = render_digest_text(self.articles, [row.reason or None for row in self.rows], outlets=self.outlets)
        elif self.rows[0].kind == UPDATE:
            whole = render_update_text(self.articles[0], self.rows[0].reason)
        else:
            whole = render_alert_text(self.articles[0], self.rows[0].reason or None, self.also)
        self.html, self.text = False, clip(whole, limit)
        self.shortened = self.shortened or limit < TELEGRAM_MAX_TEXT
