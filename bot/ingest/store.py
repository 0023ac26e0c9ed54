"""Store new articles and queue their alerts in one transaction, so an alert is never lost or doubled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from bot.ingest import stories
from bot.models import Article, Feed, FeedItem
from bot.subscriptions.matching import area_codes_of, filter_matches, match_reason
from storage import articles as article_store
from storage import feeds as feed_store
from storage.articles import NewArticle
from storage.db import Database
from storage.deliveries import queue_deliveries
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
    queued: int  # outbox rows written
    story_starts: frozenset[int] = frozenset()  # ids of the stored articles that began a new story


async def store_and_queue(
    db: Database,
    feed: Feed | None,
    new_articles: Sequence[NewArticle],
    *,
    seen_only: Sequence[tuple[FeedItem, str]] = (),
    source: str | None = None,
    now: datetime,
    feed_update: PollSuccess | None = None,
) -> StoreResult:
    """Insert articles, queue one delivery per matching chat × topic, and record the feed's poll, atomically.

    `seen_only` are items whose link another feed already brought: their guid is remembered for this
    feed so they are not looked at again. `feed_update` is written in the same transaction, so a feed's
    new ETag is never stored without the items it covered.
    """
    stored: list[tuple[Article, bool]] = []
    starts: set[int] = set()
    queued = 0
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
            article, new_story = await stories.assign_story(db, conn, article, now=now)
            if new_story:
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
            if rows:
                queued += await queue_deliveries(
                    conn,
                    [(chat_id, thread_id, reason) for (chat_id, thread_id), reason in rows.items()],
                    article_id=article.id,
                    now=now,
                )
        if feed_id is not None:
            await article_store.mark_items_seen(conn, feed_id, seen_only, now)
            if feed_update is not None:
                await feed_store.record_success(conn, feed_id, feed_update, now=now)
    return StoreResult(stored=stored, queued=queued, story_starts=frozenset(starts))
