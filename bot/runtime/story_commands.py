"""`pantau stories`: the recent stories in the database, one block per story."""

from __future__ import annotations

from datetime import timedelta
from typing import TextIO

from bot.classify import case_label, place_by_code
from bot.config import Settings
from bot.errors import InputError
from bot.formatting import format_wib
from bot.runtime.runlock import open_command_database
from storage import stories as story_store
from storage.stories import Story
from storage.timeutil import utcnow


def story_lines(story: Story) -> list[str]:
    places = [p.name for p in (place_by_code(c) for c in story.city_codes) if p is not None]
    cases = [case_label(c) for c in story.cases]
    span = format_wib(story.first_at)
    if story.last_at != story.first_at:
        span += f" – {format_wib(story.last_at)}"
    outlets = ", ".join(story.outlets[:4]) + (f" (+{len(story.outlets) - 4})" if len(story.outlets) > 4 else "")
    return [
        f"[{story.id}] {story.title}",
        f"    {len(story.outlets)} outlets, {story.reports} reports · {span}",
        f"    places: {', '.join(places) or '-'} · cases: {', '.join(cases) or '-'}",
        f"    outlets: {outlets or '-'}",
    ]


async def list_stories(settings: Settings, out: TextIO, *, limit: int, hours: float | None) -> int:
    if limit < 1:
        raise InputError("--limit must be 1 or more")
    if hours is not None and hours <= 0:
        raise InputError("--hours must be more than 0")
    db = await open_command_database(settings.database)
    try:
        since = utcnow() - timedelta(hours=hours) if hours is not None else None
        stories = await story_store.recent_stories(db, limit=limit, since=since)
    finally:
        await db.close()
    if not stories:
        out.write("no stories yet: they are made as articles are stored (pantau run / pantau poll)\n")
        return 0
    for story in stories:
        out.write("\n".join(story_lines(story)) + "\n")
    return 0
