"""Bring a database to the farm's steady state without polling: the priming step of the poll benchmarks.

Every feed gets its ETag and its 20 generation-0 items stored (articles, feed_items, FTS), exactly as a
poll would have stored them, except that the items carry a placeholder classification — classifying
120,000 priming items would only measure the classifier, which scenario 4 does. The *measured* cycles
then run the real pipeline: fetch → parse → classify → store → match.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from benchmarks.common import Table, article_text, insert_sql
from benchmarks.feed_farm import etag_of, feed_url, item_guid, item_ks, item_link, item_seed
from bot.feeds.urls import dedup_key
from storage.db import open_database

PAST = "2000-01-01T00:00:00+00:00"


def create_schema(path: Path) -> None:
    async def _go() -> None:
        db = await open_database(path)
        await db.close()

    asyncio.run(_go())


FEED_COLUMNS = (
    "id",
    "url",
    "title",
    "etag",
    "added_at",
    "added_by",
    "last_checked_at",
    "last_success_at",
    "next_check_at",
    "initial_polled",
)
ARTICLE_COLUMNS = (
    "id",
    "link",
    "url",
    "feed_id",
    "title",
    "body",
    "source",
    "published_at",
    "fetched_at",
    "city_code",
    "sentiment",
    "confidence",
)
ITEM_COLUMNS = ("feed_id", "guid", "article_id", "seen_at")


def prime_tables(*, feeds: int, port: int, hosts: int) -> Iterator[Table]:
    """The steady state's rows in batches: every feed with its generation-0 ETag, its 20 items stored.

    One generator for both backends (SQLite: `prime`; PostgreSQL: benchmarks.bench_pg with COPY)."""
    yield (
        "feeds",
        FEED_COLUMNS,
        [
            (n + 1, feed_url(n, port, hosts), f"Portal Berita {n}", etag_of(n, 0), PAST, "cli", PAST, PAST, PAST, 1)
            for n in range(feeds)
        ],
    )
    article_id = 0
    articles, items = [], []
    for n in range(feeds):
        for k in item_ks(0):
            article_id += 1
            title, body, city = article_text(item_seed(n, k))
            link = item_link(n, k)
            source = f"Portal Berita {n}"
            articles.append(
                (article_id, dedup_key(link), link, n + 1, title, body, source, PAST, PAST, city, "neutral", 50)
            )
            items.append((n + 1, item_guid(n, k), article_id, PAST))
        if len(articles) >= 20_000 or n == feeds - 1:
            yield "articles", ARTICLE_COLUMNS, articles
            yield "feed_items", ITEM_COLUMNS, items
            articles, items = [], []


def prime(path: Path, *, feeds: int, port: int, hosts: int) -> None:
    create_schema(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    for table, columns, rows in prime_tables(feeds=feeds, port=port, hosts=hosts):
        conn.executemany(insert_sql(table, columns), rows)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def sample_tables(*, chats: int, seed: int = 1) -> list[Table]:
    """A modest realistic audience for the poll benchmarks: each chat follows 3 Kab/Kota (any case)."""
    import random

    from benchmarks.common import city_names

    rng = random.Random(seed)
    cities = [c for c, _ in city_names()]
    chat_rows, subs, areas = [], [], []
    sub_id = 0
    for chat in range(1, chats + 1):
        chat_rows.append((chat, "group", PAST, PAST))
        for code in rng.sample(cities, 3):
            sub_id += 1
            subs.append((sub_id, chat, 0, 1, json.dumps([]), json.dumps([]), PAST))
            areas.append((sub_id, code))
    return [
        ("chats", ("id", "type", "created_at", "updated_at"), chat_rows),
        (
            "subscriptions",
            ("id", "chat_id", "any_area", "any_case", "include_keywords", "exclude_keywords", "created_at"),
            subs,
        ),
        ("subscription_areas", ("subscription_id", "area_code"), areas),
    ]


def subscribe_sample(path: Path, *, chats: int, seed: int = 1) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for table, columns, rows in sample_tables(chats=chats, seed=seed):
        conn.executemany(insert_sql(table, columns), rows)
    conn.execute("COMMIT")
    conn.close()
