"""Store new articles and queue their alerts in one transaction, so an alert is never lost or doubled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import config
from bot.formatting import describe_change
from bot.ingest import stories
from bot.models import Article, Feed, FeedItem
from bot.stories.changes import material_change
from bot.subscriptions.matching import area_codes_of, filter_matches, match_reason
from storage import articles as article_store
from storage import feeds as feed_store
from storage import stories as story_store
from storage.articles import NewArticle
from storage.db import Database
from storage.deliveries import EDIT, UPDATE, Followup, StoryAlert, queue_deliveries, queue_followups, story_alerts
from storage.feedback import MuteIndex, mute_index
from storage.feeds import PollSuccess
from storage.subscriptions import SubscriptionIndex, subscription_index


@asynccontextmanager
async def _forget_stories_on_failure(db: Database) -> AsyncIterator[None]:
    # A rolled-back transaction leaves stories in memory that the database does not have.
    try:
        yield
    except BaseException:
        stories.forget(db)
        raise


@dataclass(frozen=True, slots=True)
class StoreResult:
    stored: list[tuple[Article, bool]]  # (article, alerted?); article.story_id is set
    queued: int  # outbox rows written (alerts, edits and updates)
    story_starts: frozenset[int] = frozenset()  # ids of the stored articles that began a new story
    edits: int = 0  # of `queued`: edits of an alert already sent ("Juga diberitakan")
    updates: int = 0  # of `queued`: "Pembaruan" replies


# Edits of one chat's alert of one story are at least this far apart (PANTAU_EDIT_INTERVAL); the reports
# arriving meanwhile are named together by the next edit (its text is rendered when it is sent).
DEFAULT_EDIT_INTERVAL = config.DEFAULT_EDIT_INTERVAL


def plan_followups(
    matching: dict[tuple[int, int | None], str],
    known: dict[tuple[int, int | None], StoryAlert],
    change: str,
    *,
    now: datetime,
    edit_interval: float,
) -> tuple[list[tuple[int, int | None, str]], list[Followup]]:
    """For a later report of a story: (new alerts, edits/updates), per chat and forum topic.

    `matching` are the (chat, topic)s whose subscriptions match the report, with the reason; `known` the
    ones that already have an alert of the story. A matching one without it gets the story's first alert
    there. One with it gets no new message: an update replying to it when the report changes the story
    materially (`change` says how), else an edit naming the new outlet — unless its alert is still queued
    (it will name the outlet when sent), went out inside a digest (not edited), or an edit is already
    queued (that one will name it too). Edits are spaced `edit_interval` apart per alert.
    """
    alerts = [
        (chat_id, thread, reason) for (chat_id, thread), reason in matching.items() if (chat_id, thread) not in known
    ]
    followups: list[Followup] = []
    for alert in known.values():
        if change:
            followups.append(Followup(alert.chat_id, alert.thread_id, UPDATE, alert.delivery_id, now, change))
            continue
        if alert.status == "pending" or alert.digest or alert.pending_edit:
            continue
        due = now
        if alert.last_edit_at is not None:
            due = max(now, alert.last_edit_at + timedelta(seconds=edit_interval))
        followups.append(Followup(alert.chat_id, alert.thread_id, EDIT, alert.delivery_id, due, alert.reason))
    return alerts, followups


async def store_and_queue(
    db: Database,
    feed: Feed | None,
    new_articles: Sequence[NewArticle],
    *,
    seen_only: Sequence[tuple[FeedItem, str]] = (),
    source: str | None = None,
    now: datetime,
    feed_update: PollSuccess | None = None,
    edit_interval: float = DEFAULT_EDIT_INTERVAL,
) -> StoreResult:
    """Insert articles, queue one delivery per matching chat × topic, and record the feed's poll, atomically.

    `seen_only` are items whose link another feed already brought: their guid is remembered for this
    feed so they are not looked at again. `feed_update` is written in the same transaction, so a feed's
    new ETag is never stored without the items it covered.
    """
    stored: list[tuple[Article, bool]] = []
    starts: set[int] = set()
    queued = edits = updates = 0
    feed_id = feed.id if feed else None
    if source is None and feed is not None:
        source = feed.display_name
    async with _forget_stories_on_failure(db), db.transaction() as conn:
        # Read once per transaction: subscriptions cannot change while it holds the write lock.
        index: SubscriptionIndex | None = None
        mutes: MuteIndex | None = None
        for new in new_articles:
            article = await article_store.insert_article(conn, new, feed_id=feed_id, source=source, now=now)
            if article is None:
                continue
            assigned = await stories.assign_story(db, conn, article, now=now)
            article = assigned.article
            if assigned.prior is None:
                starts.add(article.id)
            stored.append((article, new.alert))
            if not new.alert:
                continue
            if index is None or mutes is None:
                index = await subscription_index(conn)
                mutes = await mute_index(conn)
            candidates = index.candidates(area_codes_of(article), article.classification.cases)
            muted = mutes.muted_chats(article.source)  # chats that muted this outlet (🔇, /bisukan)
            # One outbox row per chat × forum topic: the first matching subscription made there (candidates
            # come ordered by chat, then subscription id) gives the reason; written in one statement.
            rows: dict[tuple[int, int | None], str] = {}
            for sub in candidates:
                key = (sub.chat_id, sub.thread_id)
                if key not in rows and sub.chat_id not in muted and filter_matches(sub.filter, article):
                    rows[key] = match_reason(sub.filter, article)
            story_id = article.story_id
            if assigned.prior is None or story_id is None:
                alerts = [(chat_id, thread_id, reason) for (chat_id, thread_id), reason in rows.items()]
            else:
                titles = await story_store.report_titles(conn, story_id, exclude=article.id)
                change = material_change(assigned.prior.cases, titles, article.title, article.classification.cases)
                # A chat that muted this outlet gets nothing from it: no edit naming it, no update.
                known = {k: a for k, a in (await story_alerts(conn, story_id)).items() if k[0] not in muted}
                alerts, followups = plan_followups(
                    rows,
                    known,
                    describe_change(change.new_cases, change.death_toll) if change else "",
                    now=now,
                    edit_interval=edit_interval,
                )
                if followups:
                    # The report is new, so none of these (chat, article) rows can exist already.
                    queued += await queue_followups(conn, followups, article_id=article.id, story_id=story_id, now=now)
                    updates += sum(1 for f in followups if f.kind == UPDATE)
                    edits += sum(1 for f in followups if f.kind == EDIT)
            if alerts:
                queued += await queue_deliveries(conn, alerts, article_id=article.id, now=now, story_id=story_id)
        if feed_id is not None:
            await article_store.mark_items_seen(conn, feed_id, seen_only, now)
            if feed_update is not None:
                await feed_store.record_success(conn, feed_id, feed_update, now=now)
    return StoreResult(stored=stored, queued=queued, story_starts=frozenset(starts), edits=edits, updates=updates)
