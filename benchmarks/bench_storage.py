"""Scenario 7: SQLite at 1,000,000 articles — insert rate, file size, /search and /latest latency.

    python -m benchmarks.bench_storage [--articles 1000000] [--queries 200]

The schema is the product's (open_database runs the migrations: articles, article_cases, FTS5 with its
triggers). Articles are synthetic (benchmarks.common.article_text, ~60-word bodies) spread over a year.

- bulk insert: executemany in transactions of 10,000 rows (FTS triggers fire per row) — the rate a
  backfill/import can reach;
- product insert: `store_and_queue` in poll-sized batches of 20 on top of the full database (no
  subscriptions) — the rate the poller's write path reaches;
- /search: FTS5 MATCH of one or two words; newest first (ORDER BY rowid DESC) and by bm25 rank;
- /latest: the newest 5 for a Kab/Kota and a case (and for a case alone), through the indexes
  articles_city(city_code, fetched_at) and article_cases_key(case_key, article_id).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import article_text, city_names, emit, rusage_self

EVENT_CASE = {
    "kecelakaan": "kecelakaan",
    "tabrakan": "kecelakaan",
    "kebakaran": "kebakaran",
    "terbakar": "kebakaran",
    "banjir": "banjir",
    "longsor": "tanah_longsor",
    "gempa": "gempa",
    "korupsi": "korupsi",
    "tersangka": "korupsi",
    "narkoba": "narkoba",
    "sabu": "narkoba",
    "pencurian": "pencurian",
    "maling": "pencurian",
    "penipuan": "penipuan",
    "pembunuhan": "pembunuhan",
    "penganiayaan": "penganiayaan",
    "demo": "unjuk_rasa",
    "unjuk": "unjuk_rasa",
}
SEARCH_WORDS = (
    "banjir",
    "korupsi",
    "jembatan",
    "puskesmas",
    "bupati",
    "pelabuhan",
    "kebakaran pasar",
    "harga beras",
    "bantuan sosial",
    "festival budaya",
    "kecelakaan bus",
    "irigasi sawah",
)
START = datetime(2024, 1, 1, tzinfo=UTC)


def _cases_of(title: str, rng: random.Random) -> list[str]:
    first = EVENT_CASE.get(title.split()[0].lower().rstrip(","), "")
    cases = [first] if first else []
    if rng.random() < 0.2:
        extra = rng.choice(list(EVENT_CASE.values()))
        if extra not in cases:
            cases.append(extra)
    return cases


ARTICLE_COLUMNS = (
    "id", "link", "url", "title", "body", "source", "published_at", "fetched_at", "city_code", "cases", "sentiment",
    "confidence",
)  # fmt: skip
CASE_COLUMNS = ("article_id", "case_key", "rank")


def article_batches(n: int, batch: int = 10_000) -> Iterator[tuple[list[tuple], list[tuple]]]:
    """The year of synthetic articles in batches of (article rows, article_cases rows): the same data on
    both backends (SQLite: `bulk_insert`; PostgreSQL: benchmarks.bench_pg with COPY)."""
    rng = random.Random(11)
    step = 365 * 86400 / n
    for start in range(0, n, batch):
        arts, cases = [], []
        for i in range(start, min(n, start + batch)):
            title, body, city = article_text(i)
            when = (START + timedelta(seconds=i * step)).isoformat(timespec="seconds")
            cs = _cases_of(title, rng)
            link = f"https://arsip.example/{i}"
            arts.append((i + 1, link, link, title, body, "Arsip", when, when, city, json.dumps(cs), "neutral", 50))
            cases += [(i + 1, key, rank) for rank, key in enumerate(cs)]
        yield arts, cases


def bulk_insert(path: Path, n: int) -> tuple[float, dict[str, int]]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    city_count: dict[str, int] = {}
    t0 = time.perf_counter()
    for arts, cases in article_batches(n):
        for art in arts:
            city_count[art[8]] = city_count.get(art[8], 0) + 1
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}) VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))})",
            arts,
        )
        conn.executemany("INSERT INTO article_cases (article_id, case_key, rank) VALUES (?, ?, ?)", cases)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return elapsed, city_count


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def timed(conn: sqlite3.Connection, sql: str, params_list: list[tuple]) -> dict[str, float]:
    times = []
    for params in params_list:
        t0 = time.perf_counter()
        conn.execute(sql, params).fetchall()
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(_p(times, 0.95), 2),
        "max_ms": round(max(times), 2),
    }


SEARCH_NEWEST = (
    "SELECT a.id, a.title, a.url, a.fetched_at FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid"
    " WHERE articles_fts MATCH ? ORDER BY articles_fts.rowid DESC LIMIT 10"
)
# What storage.search.search_articles runs (the newest SEARCH_DEPTH = 1,000 matches cut in the FTS index,
# ordered by news time, one page of them), and what it ran before (every match sorted by publication date).
SEARCH_PRODUCT = (
    "SELECT a.* FROM articles a WHERE a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
    " ORDER BY rowid DESC LIMIT 1000) ORDER BY coalesce(a.published_at, a.fetched_at) DESC, a.id DESC"
    " LIMIT 6 OFFSET 0"
)
SEARCH_BY_DATE = (
    "SELECT a.* FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid WHERE articles_fts MATCH ?"
    " ORDER BY coalesce(a.published_at, a.fetched_at) DESC, a.id DESC LIMIT 6 OFFSET 0"
)
SEARCH_RANK = (
    "SELECT a.id, a.title, a.url, a.fetched_at FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid"
    " WHERE articles_fts MATCH ? ORDER BY rank LIMIT 10"
)
LATEST_CITY_CASE = (
    "SELECT a.* FROM articles a WHERE a.city_code = ? AND EXISTS (SELECT 1 FROM article_cases c"
    " WHERE c.article_id = a.id AND c.case_key = ?) ORDER BY a.fetched_at DESC LIMIT 5"
)
LATEST_CASE = (
    "SELECT a.* FROM article_cases c JOIN articles a ON a.id = c.article_id WHERE c.case_key = ?"
    " ORDER BY c.article_id DESC LIMIT 5"
)  # ids grow with fetched_at
LATEST_CITY = "SELECT a.* FROM articles a WHERE a.city_code = ? ORDER BY a.fetched_at DESC LIMIT 5"


def queries(path: Path, nq: int, cities: list[str]) -> dict[str, dict]:
    rng = random.Random(13)
    conn = sqlite3.connect(path)
    case_keys = sorted(set(EVENT_CASE.values()))
    words = [(rng.choice(SEARCH_WORDS),) for _ in range(nq)]
    # city names as search terms too (the dateline puts them in every body)
    names = dict(city_names())
    words += [(f'"{names[rng.choice(cities)].lower()}"',) for _ in range(nq // 2)]
    pairs = [(rng.choice(cities), rng.choice(case_keys)) for _ in range(nq)]
    out = {
        "search_newest": timed(conn, SEARCH_NEWEST, words),
        "search_product": timed(conn, SEARCH_PRODUCT, words),
        "search_by_date": timed(conn, SEARCH_BY_DATE, words[: max(20, nq // 5)]),
        "search_rank": timed(conn, SEARCH_RANK, words[: max(20, nq // 5)]),
        "latest_city_case": timed(conn, LATEST_CITY_CASE, pairs),
        "latest_case": timed(conn, LATEST_CASE, [(k,) for _, k in pairs]),
        "latest_city": timed(conn, LATEST_CITY, [(c,) for c, _ in pairs]),
    }
    out["plans"] = {
        name: [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
        for name, sql, params in (
            ("latest_city_case", LATEST_CITY_CASE, pairs[0]),
            ("latest_case", LATEST_CASE, (pairs[0][1],)),
            ("search_newest", SEARCH_NEWEST, words[0]),
            ("search_product", SEARCH_PRODUCT, words[0]),
        )
    }
    conn.close()
    return out


async def product_insert(path: Path, n: int, offset: int) -> float:
    from bot.feeds.urls import dedup_key
    from bot.ingest.store import store_and_queue
    from bot.models import Classification, FeedItem, Sentiment
    from storage.articles import NewArticle
    from storage.db import open_database

    db = await open_database(path)
    now = datetime.now(UTC).replace(microsecond=0)
    news = []
    for i in range(offset, offset + n):
        title, body, _ = article_text(i)
        link = f"https://baru.example/{i}"
        news.append(
            NewArticle(
                item=FeedItem(guid=link, link=link, title=title, summary=body, author=None, published=None),
                link=dedup_key(link),
                classification=Classification(None, (), None, ("banjir",), Sentiment.NEUTRAL, 50),
                alert=True,
            )
        )
    t0 = time.perf_counter()
    for start in range(0, n, 20):
        await store_and_queue(db, None, news[start : start + 20], now=now)
    elapsed = time.perf_counter() - t0
    await db.close()
    return n / elapsed


async def _create(path: Path) -> None:
    from storage.db import open_database

    await (await open_database(path)).close()


def run(n: int, nq: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="pantau-bench-") as tmp:
        path = Path(tmp) / "big.db"
        asyncio.run(_create(path))
        elapsed, city_count = bulk_insert(path, n)
        size = os.path.getsize(path)
        cities = sorted(city_count)
        q = queries(path, nq, cities)
        rate = asyncio.run(product_insert(path, 2000, n))
    return {
        "articles": n,
        "bulk_insert_s": round(elapsed, 1),
        "bulk_insert_per_s": round(n / elapsed),
        "file_mb": round(size / 2**20),
        "bytes_per_article": round(size / n),
        "product_insert_per_s": round(rate),
        **q,
        "peak_rss_mb": round(rusage_self()["maxrss_mb"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    emit(run(args.articles, args.queries))


if __name__ == "__main__":
    main()
