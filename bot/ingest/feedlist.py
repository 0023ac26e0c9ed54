"""Feed-list operations shared by the command line and the Telegram admin commands."""

from __future__ import annotations

import logging
from importlib import resources

from bot.errors import DuplicateError, InputError
from bot.feeds.fetcher import Fetcher
from bot.feeds.opml import parse_opml
from bot.feeds.urls import feed_url_problem, mask_url
from bot.text import shorten, strip_unsafe
from storage import feeds as feed_store
from storage.db import Database
from storage.timeutil import utcnow

logger = logging.getLogger(__name__)

DEFAULT_OPML = "default_feeds.opml"


def clean_name(text: str) -> str:
    """A feed name given by a person or a file: no control or bidi characters, one line, 200 characters."""
    return shorten(strip_unsafe(text), 200)


def resolve_city_code(text: str) -> str:
    """A Kab/Kota name, alias or code → its Kemendagri code; InputError when it names none or a province."""
    from bot.classify import Province, place_by_code, resolve_place, suggest_places

    if place_by_code(text.strip()) is not None:
        return text.strip()
    places = [p for p in resolve_place(text) if not isinstance(p, Province)]
    if not places:
        hint = ", ".join(suggest_places(text))
        raise InputError(f"unknown Kab/Kota {text!r}" + (f"; did you mean: {hint}?" if hint else ""))
    return places[0].code


async def probe_feed(url: str) -> None:
    """Fetch a feed added from Telegram once, public addresses only; FetchError when that fails."""
    async with Fetcher(total_timeout=20.0) as fetcher:
        await fetcher.fetch(url, public_only=True)


def default_feeds_opml() -> bytes:
    """The bundled OPML of real Indonesian regional news feeds (Solo Raya, Jawa Tengah, national)."""
    return resources.files("bot.feeds").joinpath(DEFAULT_OPML).read_bytes()


MAX_REPORTED = 50


async def import_opml(db: Database, data: bytes) -> tuple[int, int]:
    """Add every feed of an OPML document; returns (added, already present).

    Every entry is checked first, with the same rules as `pantau feeds add` (URL, Kab/Kota): when any is
    refused, nothing is added and InputError lists each refused entry on its own line, so a file is
    imported whole or not at all, and never leaves feeds behind that fail forever.
    """
    entries = parse_opml(data)
    cities: list[str | None] = []
    problems: list[str] = []
    for number, entry in enumerate(entries, start=1):
        label = f"feed {number}" + (f" ({clean_name(entry.title)[:60]})" if entry.title else "")
        problem = feed_url_problem(entry.url)
        if problem is not None:
            problems.append(f"{label}: {mask_url(clean_name(entry.url))[:200]!r}: {problem}")
        city: str | None = None
        if entry.city:
            try:
                city = resolve_city_code(entry.city)
            except InputError as exc:
                problems.append(f"{label}: {exc}")
        cities.append(city)
    if problems:
        shown = problems[:MAX_REPORTED]
        more = f"\n  … and {len(problems) - MAX_REPORTED} more" if len(problems) > MAX_REPORTED else ""
        raise InputError(
            f"{len(problems)} problem(s) in the OPML file, nothing imported:\n  " + "\n  ".join(shown) + more
        )
    added = skipped = 0
    for entry, city_code in zip(entries, cities, strict=True):
        try:
            name = clean_name(entry.title) if entry.title else None
            await feed_store.add_feed(
                db,
                entry.url,
                now=utcnow(),
                name=name or None,
                default_city_code=city_code,
                full_text=entry.full_text or "auto",
            )
            added += 1
        except DuplicateError:
            skipped += 1
    return added, skipped


async def ensure_feeds(db: Database) -> None:
    """With no feeds configured, start from the bundled Indonesian list rather than polling nothing."""
    if await feed_store.count_feeds(db) == 0:
        added, _ = await import_opml(db, default_feeds_opml())
        logger.info("no feeds configured: imported %d bundled Indonesian feeds", added)
