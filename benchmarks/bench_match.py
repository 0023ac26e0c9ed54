"""Scenario 5: 100,000 subscriptions across 20,000 chats; find every match for 1,000 new articles.

    python -m benchmarks.bench_match [--subs 100000] [--articles 1000]

Subscriptions are written straight into the product's tables (the same rows `add_subscription` writes).
Their mix: 60 % one to three Kab/Kota (half of them also one or two cases), 15 % a province and a case,
2 % any area with one case (national desks), 15 % a Kab/Kota with an include keyword, 8 % a Kab/Kota and
negative sentiment only. Articles get a Kab/Kota (sometimes a second one), zero to two cases and a sentiment.

Measured: (a) matching alone — the subscription index (checked once per 20 articles, as within one poll
transaction) + `filter_matches` for every article; also through `candidate_subscriptions` per article;
(b) the product path — `store_and_queue` for the 1,000 articles in 50 poll-sized batches of 20
(insert, FTS, match, one outbox row per chat × article).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import Table, article_text, city_names, emit, insert_sql, rusage_self
from benchmarks.prime import PAST

CASES = [
    "kecelakaan",
    "kebakaran",
    "banjir",
    "tanah_longsor",
    "gempa",
    "cuaca_ekstrem",
    "pembunuhan",
    "penganiayaan",
    "pencurian",
    "narkoba",
    "korupsi",
    "penipuan",
    "asusila",
    "judi",
    "unjuk_rasa",
    "orang_hilang",
    "bunuh_diri",
    "terorisme",
    "kesehatan_wabah",
    "ketenagakerjaan",
    "pemilu",
    "infrastruktur",
    "lingkungan",
]
KEYWORDS = ("jembatan", "pasar", "sekolah", "banjir rob", "bupati", "puskesmas", "harga beras", "pelabuhan")


def subscription_tables(subs: int, chats: int, seed: int = 3) -> list[Table]:
    """The rows of the mix above (one generator for both backends; PostgreSQL: benchmarks.bench_pg)."""
    rng = random.Random(seed)
    cities = [c for c, _ in city_names()]
    provinces = sorted({c.split(".")[0] for c in cities})
    chat_rows = [(-1000000 - i, "group", PAST, PAST) for i in range(chats)]
    rows, areas, cases = [], [], []
    for sid in range(1, subs + 1):
        chat = -1000000 - rng.randrange(chats)
        r = rng.random()
        a: list[str] = []
        k: list[str] = []
        sentiments, include = "", []
        if r < 0.60:
            a = rng.sample(cities, rng.randint(1, 3))
            if rng.random() < 0.5:
                k = rng.sample(CASES, rng.randint(1, 2))
        elif r < 0.75:
            a = [rng.choice(provinces)]
            k = [rng.choice(CASES)]
        elif r < 0.77:
            k = [rng.choice(CASES)]
        elif r < 0.92:
            a = [rng.choice(cities)]
            include = [rng.choice(KEYWORDS)]
        else:
            a = [rng.choice(cities)]
            sentiments = "negative"
        rows.append((sid, chat, int(not a), int(not k), sentiments, json.dumps(include), "[]", PAST))
        areas += [(sid, x) for x in a]
        cases += [(sid, x) for x in k]
    return [
        ("chats", ("id", "type", "created_at", "updated_at"), chat_rows),
        (
            "subscriptions",
            (
                "id",
                "chat_id",
                "any_area",
                "any_case",
                "sentiments",
                "include_keywords",
                "exclude_keywords",
                "created_at",
            ),
            rows,
        ),
        ("subscription_areas", ("subscription_id", "area_code"), areas),
        ("subscription_cases", ("subscription_id", "case_key"), cases),
        ("feeds", ("id", "url", "added_at", "next_check_at"), [(1, "http://127.0.0.2/f", PAST, PAST)]),
    ]


def build_subscriptions(path: Path, subs: int, chats: int, seed: int = 3) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for table, columns, rows in subscription_tables(subs, chats, seed):
        conn.executemany(insert_sql(table, columns), rows)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def make_articles(n: int, seed: int = 5):
    from bot.feeds.urls import dedup_key
    from bot.models import Classification, FeedItem, Place, Sentiment
    from storage.articles import NewArticle

    rng = random.Random(seed)
    names = dict(city_names())
    out = []
    for i in range(n):
        title, body, code = article_text(seed * 1_000_000 + i)
        place = Place(name=names[code], code=code, province="Provinsi")
        others = ()
        if rng.random() < 0.2:
            c2 = rng.choice(list(names))
            others = (Place(name=names[c2], code=c2, province="Provinsi"),)
        cls = Classification(
            city=place,
            other_cities=others,
            province="Provinsi",
            cases=tuple(rng.sample(CASES, rng.choice((0, 1, 1, 2)))),
            sentiment=rng.choice(list(Sentiment)),
            confidence=70,
        )
        link = f"https://match.example/{seed}/{i}"
        item = FeedItem(guid=link, link=link, title=title, summary=body, author=None, published=None)
        out.append(NewArticle(item=item, link=dedup_key(link), classification=cls, alert=True))
    return out


async def _run(args: argparse.Namespace) -> dict:
    from storage.db import open_database

    with tempfile.TemporaryDirectory(prefix="pantau-bench-") as tmp:
        path = Path(tmp) / "match.db"
        await (await open_database(path)).close()  # create and migrate
        t0 = time.perf_counter()
        build_subscriptions(path, args.subs, args.chats)
        build_s = time.perf_counter() - t0
        return await measure(path, args, build_s)


async def measure(path: Path | str, args: argparse.Namespace, build_s: float) -> dict:
    """(a) and (b) above on a database already holding the subscriptions: an SQLite path or a PostgreSQL URL."""
    from bot.ingest.store import store_and_queue
    from bot.models import Article
    from bot.subscriptions.matching import article_facts, filter_matches
    from storage.db import open_database
    from storage.feeds import get_feed
    from storage.subscriptions import candidate_subscriptions, subscription_index

    news = make_articles(args.articles)
    now = datetime.now(UTC).replace(microsecond=0)
    db = await open_database(path)
    feed = await get_feed(db, 1)
    # (a) matching alone, on Article values as store_and_queue builds them
    arts = [
        Article(
            id=i + 1,
            feed_id=1,
            link=n.link,
            title=n.item.title,
            body=n.item.summary,
            author=None,
            source="x",
            published_at=None,
            fetched_at=now,
            classification=n.classification,
        )
        for i, n in enumerate(news)
    ]
    t0 = time.perf_counter()
    await candidate_subscriptions(db.conn, ["00.00"], [])  # loads the subscription index once
    index_s = time.perf_counter() - t0
    # As one poll transaction would: the index checked once per batch of 20 articles (the write lock
    # held by the transaction means subscriptions cannot change within it), then per article
    # index.candidates + filter_matches with the article's facts computed once.
    before = rusage_self()
    t0 = time.perf_counter()
    matches = candidates = 0
    chats_hit = 0
    for start in range(0, len(arts), 20):
        index = await subscription_index(db.conn)
        for art in arts[start : start + 20]:
            facts = article_facts(art)  # areas, cases, folded text: once per article
            subs = index.candidates(facts.area_codes, facts.cases)
            candidates += len(subs)
            matched = [s for s in subs if filter_matches(s.filter, art, facts)]
            matches += len(matched)
            chats_hit += len({s.chat_id for s in matched})
    match_s = time.perf_counter() - t0
    match_cpu = rusage_self()["cpu_s"] - before["cpu_s"]
    # The same through candidate_subscriptions (one version read per article, as bot.ingest.store calls it).
    t0 = time.perf_counter()
    for art in arts:
        facts = article_facts(art)
        subs = await candidate_subscriptions(db.conn, facts.area_codes, facts.cases)
        [s for s in subs if filter_matches(s.filter, art, facts)]
    per_call_s = time.perf_counter() - t0
    # (b) the product path
    t0 = time.perf_counter()
    queued = stored = 0
    for start in range(0, len(news), 20):
        res = await store_and_queue(db, feed, news[start : start + 20], now=now)
        queued += res.queued
        stored += len(res.stored)
    store_s = time.perf_counter() - t0
    await db.close()
    return {
        "subscriptions": args.subs,
        "chats": args.chats,
        "articles": args.articles,
        "build_s": round(build_s, 1),
        "index_load_s": round(index_s, 3),
        "candidates": candidates,
        "matching_subscriptions": matches,
        "chat_article_pairs": chats_hit,
        "match_s": round(match_s, 3),
        "match_cpu_s": round(match_cpu, 3),
        "match_per_article_check_s": round(per_call_s, 3),
        "store_and_queue_s": round(store_s, 3),
        "stored": stored,
        "queued": queued,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subs", type=int, default=100_000)
    parser.add_argument("--chats", type=int, default=20_000)
    parser.add_argument("--articles", type=int, default=1000)
    emit(asyncio.run(_run(parser.parse_args())))


if __name__ == "__main__":
    main()
