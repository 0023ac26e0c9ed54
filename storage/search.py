"""Reading stored articles back for chats: the newest that match a filter (/latest) and full-text search."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import InputError
from bot.models import Article, SubscriptionFilter
from storage.articles import article_from_row
from storage.db import Database

# Rows read per round when the exact filter (keywords, other cities) has to run in Python.
_BATCH = 200
# Never read more than this many rows for one page: a filter matching almost nothing stays cheap.
_SCAN_LIMIT = 5000
_ORDER = "coalesce(a.published_at, a.fetched_at) DESC, a.id DESC"


@dataclass(frozen=True, slots=True)
class Page:
    articles: list[Article]
    has_more: bool


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
    matching place is among its other cities is still considered); bot.subscriptions.matching decides.
    """
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
        where.append("(" + " OR ".join(parts) + ")")
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    wanted = offset + limit + 1
    found: list[Article] = []
    scanned = 0
    while len(found) < wanted and scanned < _SCAN_LIMIT:
        async with db.reader.execute(
            f"SELECT a.* FROM articles a {clause} ORDER BY {_ORDER} LIMIT ? OFFSET ?", (*args, _BATCH, scanned)
        ) as cursor:
            rows = list(await cursor.fetchall())
        scanned += len(rows)
        for row in rows:
            article = article_from_row(row)
            if accept(article):
                found.append(article)
        if len(rows) < _BATCH:
            break
    return Page(articles=found[offset : offset + limit], has_more=len(found) > offset + limit)


_TERM_RE = re.compile(r'(-?)(?:"([^"]+)"|(\S+))')
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'"})


def fts_query(text: str) -> str:
    """User words → a safe FTS5 query: every word or "quoted phrase" must appear, -word must not.

    Every term is quoted, so FTS5 operators typed by the user (AND, NEAR, *, :) are plain words. Words of
    four letters or more match as prefixes ("banjir" finds "banjirnya").
    """
    positive: list[str] = []
    negative: list[str] = []
    for minus, phrase, word in _TERM_RE.findall(text.translate(_QUOTES)):
        term = (phrase or word).strip().replace('"', "")
        # Punctuation-only words ("-", "...") would make an empty FTS term.
        if not re.search(r"\w", term):
            continue
        quoted = '"' + term + '"'
        if not phrase and len(term) >= 4 and " " not in term:
            quoted += "*"
        (negative if minus else positive).append(quoted)
    if not positive:
        raise InputError("Tulis minimal satu kata yang dicari, mis. /cari banjir bandang")
    query = " AND ".join(positive)
    for term in negative:
        query = f"({query}) NOT {term}"
    return query


async def search_articles(db: Database, text: str, *, offset: int = 0, limit: int = 5) -> Page:
    """Full-text search (title and body), newest first.

    Pages are cut by article id, newest stored first — FTS5 walks its index in rowid order and stops
    after the page, so a word matching 100,000 of 1,000,000 articles costs well under a millisecond.
    Ordering every match by publication date (or by bm25 rank) first read and sorted all of them:
    0.3-0.5 s at that size. Within a page the articles are shown by publication date.
    """
    query = fts_query(text)
    try:
        async with db.reader.execute(
            "SELECT a.* FROM articles a WHERE a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
            " ORDER BY rowid DESC LIMIT ? OFFSET ?) ORDER BY a.id DESC",
            (query, limit + 1, offset),
        ) as cursor:
            rows = list(await cursor.fetchall())
    except sqlite3.OperationalError as exc:  # a query FTS5 still cannot parse
        raise InputError(f"Pencarian tidak bisa diproses: {exc}") from None
    articles = [article_from_row(row) for row in rows]
    page = sorted(articles[:limit], key=lambda a: (a.published_at or a.fetched_at, a.id), reverse=True)
    return Page(articles=page, has_more=len(articles) > limit)
