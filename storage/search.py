"""Reading stored articles back for chats: the newest that match a filter (/latest) and full-text search,
as articles or — what the chat commands show — as stories (one line per incident, however many outlets)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import InputError
from bot.models import Article, SubscriptionFilter
from storage.articles import article_from_row
from storage.backend import SearchQuery, Term, fts5_query
from storage.db import Database
from storage.stories import stories_by_id

# Rows read per round when the exact filter (keywords, other cities) has to run in Python.
_BATCH = 200
# Never read more than this many rows for one page: a filter matching almost nothing stays cheap.
_SCAN_LIMIT = 5000
_ORDER = "coalesce(a.published_at, a.fetched_at) DESC, a.id DESC"


@dataclass(frozen=True, slots=True)
class Page:
    articles: list[Article]
    has_more: bool


@dataclass(frozen=True, slots=True)
class StoryHit:
    """One story on a page: its newest report that matched, and how widely it was reported."""

    article: Article
    story_id: int | None  # None: an article stored before stories existed (a story of its own)
    outlets: int
    reports: int


@dataclass(frozen=True, slots=True)
class StoryPage:
    hits: list[StoryHit]
    has_more: bool


def _story_key(article: Article) -> int:
    return article.story_id if article.story_id is not None else -article.id


async def _story_hits(db: Database, articles: list[Article]) -> list[StoryHit]:
    stories = await stories_by_id(db, [a.story_id for a in articles if a.story_id is not None])
    hits = []
    for a in articles:
        story = stories.get(a.story_id) if a.story_id is not None else None
        outlets, reports = (len(story.outlets) or 1, story.reports) if story else (1, 1)
        hits.append(StoryHit(article=a, story_id=a.story_id, outlets=outlets, reports=reports))
    return hits


async def latest_articles(
    db: Database,
    flt: SubscriptionFilter,
    accept: Callable[[Article], bool],
    *,
    offset: int = 0,
    limit: int = 5,
) -> Page:
    """Newest stored articles that satisfy `flt` exactly (same rule as alerts), one page of them.

    SQL narrows on case and sentiment through indexes and on area as a superset (an article whose only
    matching place is among its other cities, or a province-wide one, is still considered);
    bot.subscriptions.matching decides.
    """
    found = await _scan_latest(db, flt, accept, offset + limit + 1, by_story=False)
    return Page(articles=found[offset : offset + limit], has_more=len(found) > offset + limit)


async def latest_stories(
    db: Database,
    flt: SubscriptionFilter,
    accept: Callable[[Article], bool],
    *,
    offset: int = 0,
    limit: int = 5,
) -> StoryPage:
    """Like `latest_articles`, one entry per story: its newest matching report, newest story first."""
    found = await _scan_latest(db, flt, accept, offset + limit + 1, by_story=True)
    return StoryPage(hits=await _story_hits(db, found[offset : offset + limit]), has_more=len(found) > offset + limit)


async def _scan_latest(
    db: Database, flt: SubscriptionFilter, accept: Callable[[Article], bool], wanted: int, *, by_story: bool
) -> list[Article]:
    where: list[str] = []
    args: list[object] = []
    if flt.cases:
        keys = sorted(flt.cases)
        where.append(f"a.id IN (SELECT article_id FROM article_cases WHERE case_key IN ({','.join('?' * len(keys))}))")
        args.extend(keys)
    if flt.sentiments:
        values = sorted(s.value for s in flt.sentiments)
        where.append(f"a.sentiment IN ({','.join('?' * len(values))})")
        args.extend(values)
    if flt.area_codes:
        cities = sorted(c for c in flt.area_codes if "." in c)
        provinces = sorted(c for c in flt.area_codes if "." not in c)
        parts = ["a.other_cities != '[]'"]
        if cities:
            parts.append(f"a.city_code IN ({','.join('?' * len(cities))})")
            args.extend(cities)
        if provinces:
            parts.append(f"substr(a.city_code, 1, 2) IN ({','.join('?' * len(provinces))})")
            args.extend(provinces)
            parts.append("(a.city_code IS NULL AND a.province IS NOT NULL)")  # province-wide stories
        where.append("(" + " OR ".join(parts) + ")")
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    found: list[Article] = []
    seen: set[int] = set()
    scanned = 0
    while len(found) < wanted and scanned < _SCAN_LIMIT:
        async with db.reader.execute(
            f"SELECT a.* FROM articles a {clause} ORDER BY {_ORDER} LIMIT ? OFFSET ?", (*args, _BATCH, scanned)
        ) as cursor:
            rows = list(await cursor.fetchall())
        scanned += len(rows)
        for row in rows:
            article = article_from_row(row)
            if accept(article) and not (by_story and _story_key(article) in seen):
                seen.add(_story_key(article))
                found.append(article)
        if len(rows) < _BATCH:
            break
    return found


_TERM_RE = re.compile(r'(-?)(?:"([^"]+)"|(\S+))')
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'"})


# Typed between words to mean "either": "banjir OR kebakaran", "banjir atau longsor", "banjir | longsor".
_OR_WORDS = frozenset({"or", "atau", "|"})
# /search orders this many newest-stored matches by news time and pages through them: every page is newest
# first and the pages follow each other in time. Deeper results are not shown (nobody pages that far).
SEARCH_DEPTH = 1000


def fts_query(text: str) -> str:
    """User words → a safe FTS5 query (see `parse_search`; storage.backend.fts5_query quotes every term, so
    FTS5 operators typed by the user — AND, NEAR, *, : — are plain words)."""
    return fts5_query(parse_search(text))


def parse_search(text: str) -> SearchQuery:
    """User words → a search: every word or "quoted phrase" must appear, -word must not; OR (or "atau")
    between words gives alternatives: `banjir OR kebakaran Solo` = banjir, or kebakaran and Solo. Words of
    four letters or more match as prefixes ("banjir" finds "banjirnya"). Each backend renders it in its
    own full-text syntax (storage.backend)."""
    groups: list[list[Term]] = [[]]
    negative: list[Term] = []
    for minus, phrase, word in _TERM_RE.findall(text.translate(_QUOTES)):
        if not phrase and not minus and word.casefold() in _OR_WORDS:
            groups.append([])
            continue
        term = (phrase or word).strip().replace('"', "")
        # Punctuation-only words ("-", "...") would make an empty FTS term.
        if not re.search(r"\w", term):
            continue
        prefix = not phrase and len(term) >= 4 and " " not in term
        (negative if minus else groups[-1]).append(Term(term, prefix))
    alternatives = tuple(tuple(group) for group in groups if group)
    if not alternatives:
        raise InputError("Tulis minimal satu kata yang dicari, mis. /cari banjir bandang")
    return SearchQuery(groups=alternatives, negative=tuple(negative))


async def search_articles(db: Database, text: str, *, offset: int = 0, limit: int = 5) -> Page:
    """Full-text search (title and body), newest first across all pages.

    The newest SEARCH_DEPTH matches by article id (FTS5 walks its index in rowid order and stops there, so
    a word matching 100,000 of 1,000,000 articles stays cheap) are ordered by publication time, then cut
    into pages. Ordering every match by date first read and sorted all of them: 0.3-0.5 s at that size.
    """
    ids, params, id_col = db.dialect.fts_ids(parse_search(text))
    start = min(offset, SEARCH_DEPTH)
    try:
        async with db.reader.execute(
            f"SELECT a.* FROM articles a WHERE a.id IN ({ids}"
            f" ORDER BY {id_col} DESC LIMIT ?) ORDER BY {_ORDER} LIMIT ? OFFSET ?",
            (*params, SEARCH_DEPTH, min(limit + 1, SEARCH_DEPTH - start), start),
        ) as cursor:
            rows = list(await cursor.fetchall())
    except sqlite3.OperationalError as exc:  # a query FTS5 still cannot parse
        raise InputError(f"Pencarian tidak bisa diproses: {exc}") from None
    articles = [article_from_row(row) for row in rows]
    return Page(articles=articles[:limit], has_more=len(articles) > limit)


async def search_stories(db: Database, text: str, *, offset: int = 0, limit: int = 5) -> StoryPage:
    """Full-text search, one entry per story (its newest matching report), newest first.

    Same window as `search_articles` (the newest SEARCH_DEPTH matches, ordered by news time); only their
    ids and story ids are read to group them, then the page's articles.
    """
    ids, params, id_col = db.dialect.fts_ids(parse_search(text))
    try:
        async with db.conn.execute(
            f"SELECT a.id, a.story_id FROM articles a WHERE a.id IN ({ids}"
            f" ORDER BY {id_col} DESC LIMIT ?) ORDER BY {_ORDER}",
            (*params, SEARCH_DEPTH),
        ) as cursor:
            rows = list(await cursor.fetchall())
    except sqlite3.OperationalError as exc:  # a query FTS5 still cannot parse
        raise InputError(f"Pencarian tidak bisa diproses: {exc}") from None
    firsts: list[int] = []
    seen: set[int] = set()
    for article_id, story_id in rows:
        key = story_id if story_id is not None else -article_id
        if key not in seen:
            seen.add(key)
            firsts.append(article_id)
    wanted = firsts[offset : offset + limit]
    by_id: dict[int, Article] = {}
    if wanted:
        marks = ",".join("?" * len(wanted))
        async with db.conn.execute(f"SELECT * FROM articles WHERE id IN ({marks})", wanted) as cursor:
            by_id = {row["id"]: article_from_row(row) for row in await cursor.fetchall()}
    page = [by_id[i] for i in wanted if i in by_id]
    return StoryPage(hits=await _story_hits(db, page), has_more=len(firsts) > offset + limit)
