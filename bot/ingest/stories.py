"""Assign each stored article to its story, inside the transaction that stores it.

The assigner (bot/stories) keeps the last 72 hours of stories in memory, one per database; it is
built from the database on first use, so a restart continues the same stories. If the storing
transaction fails, the in-memory window may hold reports that were rolled back, so it is dropped and
rebuilt on next use rather than patched.
"""

from __future__ import annotations

import dataclasses
import weakref
from datetime import datetime, timedelta

from bot.models import Article
from bot.stories import WINDOW_SECONDS, StoryAssigner, extract
from storage import stories as story_store
from storage.backend import Connection
from storage.db import Database
from storage.stories import Story

_assigners: weakref.WeakKeyDictionary[Database, StoryAssigner] = weakref.WeakKeyDictionary()


async def assigner_for(db: Database, conn: Connection, now: datetime) -> StoryAssigner:
    """The database's assigner, rebuilt from the stories still open at `now` if it is not in memory."""
    assigner = _assigners.get(db)
    if assigner is None:
        assigner = StoryAssigner()
        for article in await story_store.window_articles(conn, now - timedelta(seconds=WINDOW_SECONDS)):
            if article.story_id is not None:
                features = extract(
                    article.title, article.body, article.classification, story_store.report_time(article)
                )
                assigner.add(article.story_id, features, ref=article.id)
        _assigners[db] = assigner
    return assigner


def forget(db: Database) -> None:
    """Forget the in-memory window (after a rolled-back transaction); the next use rebuilds it."""
    _assigners.pop(db, None)


@dataclasses.dataclass(frozen=True, slots=True)
class Assigned:
    article: Article  # with story_id set
    prior: Story | None  # the story before this report joined it; None: the report began a new story

    @property
    def new_story(self) -> bool:
        return self.prior is None


async def assign_story(db: Database, conn: Connection, article: Article, *, now: datetime) -> Assigned:
    """Put a just-inserted `article` into its story; returns it with `story_id` set, and the story as it
    was before (None when the article started a new story)."""
    assigner = await assigner_for(db, conn, now)
    features = extract(article.title, article.body, article.classification, story_store.report_time(article))
    decision = assigner.decide(features)
    prior: Story | None = None
    if decision.story_id is None:
        story_id = await story_store.create_story(conn, article, now=now)
        assigner.add(story_id, features, ref=article.id)
    else:
        story_id = decision.story_id
        assigner.add(story_id, features, ref=article.id)
        prior = await story_store.add_report(
            conn, story_id, article, representative_id=assigner.representative(story_id), now=now
        )
    return Assigned(dataclasses.replace(article, story_id=story_id), prior)
