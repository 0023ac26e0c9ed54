"""Scenario 11: the PostgreSQL figures of issue #15, beside the SQLite ones (scenarios 1, 5, 6, 7).

    python -m benchmarks.bench_pg cycle|match|search|delivery [--quick]   (each prints one RESULT line)

The server: PANTAU_BENCH_POSTGRES, else PANTAU_TEST_POSTGRES, else postgresql://postgres@127.0.0.1:5432/test.
Every part makes a schema of its own (``pantau_bench_<random>``), reaches it through the URL's search_path,
lets the product's migrations create the tables, and drops the schema afterwards. Rows are written with
COPY from the same generators the SQLite scenarios use, so both backends hold the same data.

(a) cycle: scenario 1's steady state (6,000 feeds on the farm, 20 items each stored, 1,000 chats following
    3 Kab/Kota each; 10 % of the feeds publish 2 new items) polled by 1, 2 and 4 poller *processes*, each
    the role's code path — `PollLoop` claiming due feeds with leases (storage/leases.py, FOR UPDATE SKIP
    LOCKED) and the product's `Poller` — all on one database. Measured per run: wall from "go" until every
    feed has been polled once (its last_checked_at is in this cycle), the pollers' CPU (each process with its
    parse workers), the PostgreSQL server's CPU over the same time (every `postgres` process on the
    machine: other users of the server count too), and feeds fetched twice (farm requests − feeds; must be 0).
(b) match: scenario 5's 100,000 subscriptions, the subscription index loaded from PostgreSQL.
(c) search: scenario 7's 1,000,000 articles loaded with COPY (the GIN index maintained as rows arrive),
    then `/cari` and `/terbaru` as the product runs them: storage.search.search_articles (the statement
    scenario 7 times on SQLite), search_stories (what the handler calls) and latest_stories.
(d) delivery: scenario 6's burst (4,000 alerts to 2,000 chats, limits ×10) with the outbox on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from benchmarks.common import PYTHON, ROOT, emit, parse_workers_usage, run_worker, rusage_self, write_tables

DSN = os.environ.get(
    "PANTAU_BENCH_POSTGRES", os.environ.get("PANTAU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
)


@contextlib.contextmanager
def pg_schema(dsn: str = DSN) -> Iterator[str]:
    """A fresh schema, migrated by the product; yields a URL whose connections use it; drops it after."""
    import psycopg

    schema = f"pantau_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    url = f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{schema}"
    try:
        asyncio.run(_migrate(url))
        yield url
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())


async def _migrate(url: str) -> None:
    from storage.db import open_database

    await (await open_database(url)).close()


def _sql(url: str, *statements: str) -> list[tuple]:
    """Run statements in autocommit (VACUUM needs it); the last one's rows."""
    import psycopg

    rows: list[tuple] = []
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            cur = conn.execute(statement.encode())
            rows = cur.fetchall() if cur.description else []
    return rows


def vacuum_analyze(url: str) -> None:
    """VACUUM ANALYZE the tables of the URL's schema only (a bare VACUUM would walk every schema in the
    database, other users' too)."""
    tables = _sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    _sql(url, *(f"VACUUM ANALYZE {name}" for (name,) in tables))


def server_cpu_s() -> float:
    """CPU seconds of every `postgres` process (the postmaster's cutime/cstime hold its exited backends')."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
                head, tail = fh.read().rsplit(")", 1)
        except OSError:
            continue
        if not head.endswith("(postgres"):
            continue
        f = tail.split()
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return total / tick


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


# ---------------------------------------------------------------- (a) pollers


async def _poller(args: argparse.Namespace) -> dict:
    """One poller process: wait for "go" on stdin, run the role's poll loop until "stop", report."""
    from bot.classify import classify
    from bot.feeds.fetcher import Fetcher
    from bot.ingest.fulltext import FullTextReader
    from bot.ingest.loop import PollLoop, owner_id
    from bot.ingest.poller import Poller, PollSummary
    from storage.db import open_database

    classify("pemanasan", "memuat data")  # load the classifier's data before measuring, as `pantau run` does
    db = await open_database(args.url)
    total = PollSummary()
    loop_ = asyncio.get_running_loop()
    async with Fetcher() as fetcher:
        reader = FullTextReader(fetcher)
        poller = Poller(db, fetcher, interval=args.interval, full_text=reader)
        # As bot/runtime/roles.py's run_poller: tick = min(DEFAULT_TICK, interval), its own owner id.
        poll_loop = PollLoop(poller, total.add, owner=owner_id("poller"))
        print("READY", flush=True)
        await loop_.run_in_executor(None, sys.stdin.readline)  # "go"
        before, before_workers = rusage_self(), parse_workers_usage()
        task = asyncio.create_task(poll_loop.run())
        await loop_.run_in_executor(None, sys.stdin.readline)  # "stop"
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        after, after_workers = rusage_self(), parse_workers_usage()
        reader.close()
    await db.close()
    return {
        "cpu_s": round(after["cpu_s"] - before["cpu_s"] + after_workers["cpu_s"] - before_workers["cpu_s"], 2),
        "polled": total.fetched + total.not_modified + total.failed,
        "fetched": total.fetched,
        "not_modified": total.not_modified,
        "failed": total.failed,
        "new_articles": total.new_articles,
        "queued": total.queued,
        "peak_rss_mb": round(rusage_self()["maxrss_mb"] + after_workers["rss_mb"], 1),
    }


def _cycle(url: str, farm, feeds: int, pollers: int, seed: int) -> dict:
    import httpx

    from benchmarks.feed_farm import stats
    from benchmarks.prime import PAST
    from storage.timeutil import to_db

    # A fresh cycle: every feed due and unleased (the previous run's polls moved next_check_at on).
    _sql(
        url,
        f"UPDATE feeds SET next_check_at = '{PAST}', lease_owner = NULL, lease_until = NULL",
        "VACUUM ANALYZE feeds",
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [PYTHON, "-m", "benchmarks.bench_pg", "poller", "--url", url],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(pollers)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            while (line := proc.stdout.readline()) and not line.startswith("READY"):
                pass
            if not line:
                raise RuntimeError("a poller process died before it was ready")
        rng = random.Random(seed)
        changed = rng.sample(range(feeds), round(feeds * 0.10))
        httpx.post(f"{farm.control}/_advance", json={"feeds": changed}, timeout=30).raise_for_status()
        stats(farm.control, reset=True)
        start = to_db(datetime.now(UTC).replace(microsecond=0))
        server_before = server_cpu_s()
        t0 = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        left = feeds
        while left:
            time.sleep(0.1)
            left = _sql(url, f"SELECT count(*) FROM feeds WHERE last_checked_at < '{start}'")[0][0]
            if time.perf_counter() - t0 > 600:
                raise RuntimeError(f"cycle not done after 600 s ({left} feeds left)")
        wall = time.perf_counter() - t0
        server = server_cpu_s() - server_before
        time.sleep(1.0)  # a poll counted done has stored its outcome; let the loops release their leases
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("stop\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=120)
            lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"poller exit {proc.returncode}")
            results.append(json.loads(lines[-1][len("RESULT ") :]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    farm_stats = stats(farm.control)
    polled = sum(r["polled"] for r in results)
    return {
        "pollers": pollers,
        "wall_s": round(wall, 2),
        "pollers_cpu_s": round(sum(r["cpu_s"] for r in results), 2),
        "per_poller_cpu_s": [r["cpu_s"] for r in results],
        "server_cpu_s": round(server, 2),
        "polled": polled,
        "per_poller_polled": [r["polled"] for r in results],
        "fetched": sum(r["fetched"] for r in results),
        "not_modified": sum(r["not_modified"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "new_articles": sum(r["new_articles"] for r in results),
        "queued": sum(r["queued"] for r in results),
        "farm_requests": farm_stats["requests"],
        "fetched_twice": farm_stats["requests"] - feeds,
        "peak_rss_mb_max": max(r["peak_rss_mb"] for r in results),
    }


def scenario_cycle(feeds: int = 6000, pollers: tuple[int, ...] = (1, 2, 4)) -> dict:
    from benchmarks.feed_farm import FarmProcess
    from benchmarks.prime import prime_tables, sample_tables

    with pg_schema() as url:
        farm = FarmProcess(feeds).__enter__()
        try:
            t0 = time.perf_counter()
            write_tables(
                url, [*prime_tables(feeds=feeds, port=farm.port, hosts=farm.hosts), *sample_tables(chats=1000)]
            )
            vacuum_analyze(url)
            prime_s = time.perf_counter() - t0
            runs = [_cycle(url, farm, feeds, n, seed=7 + n) for n in pollers]
        finally:
            farm.__exit__()
    return {
        "feeds": feeds,
        "hosts": farm.hosts,
        "rtt_ms": farm.delay * 1000,
        "changed_pct": 10,
        "prime_s": round(prime_s, 1),
        "runs": runs,
    }


# ---------------------------------------------------------------- (b) matching


def scenario_match(subs: int, chats: int) -> dict:
    from benchmarks.bench_match import measure, subscription_tables

    with pg_schema() as url:
        t0 = time.perf_counter()
        write_tables(url, subscription_tables(subs, chats))
        vacuum_analyze(url)
        build_s = time.perf_counter() - t0
        return asyncio.run(measure(url, argparse.Namespace(subs=subs, chats=chats, articles=1000), build_s))


# ---------------------------------------------------------------- (c) search


def _load_articles(url: str, n: int) -> tuple[float, list[str]]:
    import psycopg

    from benchmarks.bench_storage import ARTICLE_COLUMNS, CASE_COLUMNS, article_batches

    cities: set[str] = set()
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for arts, cases in article_batches(n, batch=50_000):
            cities.update(a[8] for a in arts)
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(f"COPY articles ({', '.join(ARTICLE_COLUMNS)}) FROM STDIN".encode()) as copy:
                    for row in arts:
                        copy.write_row(row)
                with cur.copy(f"COPY article_cases ({', '.join(CASE_COLUMNS)}) FROM STDIN".encode()) as copy:
                    for row in cases:
                        copy.write_row(row)
        conn.execute(b"SELECT setval(pg_get_serial_sequence('articles', 'id'), max(id) + 1, false) FROM articles")
    return time.perf_counter() - t0, sorted(cities)


async def _queries(url: str, nq: int, cities: list[str]) -> dict:
    from benchmarks.bench_storage import EVENT_CASE, SEARCH_WORDS
    from benchmarks.common import city_names
    from bot.models import SubscriptionFilter
    from bot.subscriptions.matching import filter_matches
    from storage.db import open_database
    from storage.search import _ORDER, SEARCH_DEPTH, latest_stories, parse_search, search_articles, search_stories

    rng = random.Random(13)  # the same draws as scenario 7
    case_keys = sorted(set(EVENT_CASE.values()))
    words = [rng.choice(SEARCH_WORDS) for _ in range(nq)]
    names = dict(city_names())
    words += [f'"{names[rng.choice(cities)].lower()}"' for _ in range(nq // 2)]
    pairs = [(rng.choice(cities), rng.choice(case_keys)) for _ in range(nq)]
    db = await open_database(url)

    async def timed(calls) -> dict:
        times = []
        for call in calls:
            t0 = time.perf_counter()
            await call()
            times.append((time.perf_counter() - t0) * 1000)
        return {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(_p(times, 0.95), 2),
            "max_ms": round(max(times), 2),
        }

    def latest(city: str, case: str):
        flt = SubscriptionFilter(area_codes=frozenset({city}), cases=frozenset({case}))
        return lambda: latest_stories(db, flt, lambda a: filter_matches(flt, a), limit=5)

    out = {
        "search_articles": await timed([lambda w=w: search_articles(db, w, limit=5) for w in words]),
        "search_stories": await timed([lambda w=w: search_stories(db, w, limit=5) for w in words]),
        "latest_city_case": await timed([latest(c, k) for c, k in pairs]),
    }
    out["plans"] = {}
    for text in (words[0], words[nq]):  # a common word, a Kab/Kota name (rarer)
        ids, params, id_col = db.dialect.fts_ids(parse_search(text))
        sql = (
            f"EXPLAIN (ANALYZE, COSTS OFF) SELECT a.* FROM articles a WHERE a.id IN ({ids}"
            f" ORDER BY {id_col} DESC LIMIT ?) ORDER BY {_ORDER} LIMIT ? OFFSET ?"
        )
        async with db.reader.execute(sql, (*params, SEARCH_DEPTH, 6, 0)) as cursor:
            out["plans"][text] = [row[0] for row in await cursor.fetchall()]
    await db.close()
    return out


def scenario_search(n: int, nq: int) -> dict:
    with pg_schema() as url:
        load_s, cities = _load_articles(url, n)
        t0 = time.perf_counter()
        _sql(url, "VACUUM ANALYZE articles", "VACUUM ANALYZE article_cases")
        vacuum_s = time.perf_counter() - t0
        size = _sql(url, "SELECT pg_total_relation_size('articles') + pg_total_relation_size('article_cases')")[0][0]
        fts = _sql(url, "SELECT pg_relation_size('articles_fts')")[0][0]
        q = asyncio.run(_queries(url, nq, cities))
    return {
        "articles": n,
        "copy_s": round(load_s, 1),
        "copy_per_s": round(n / load_s),
        "vacuum_analyze_s": round(vacuum_s, 1),
        "size_mb": round(size / 2**20),
        "fts_index_mb": round(fts / 2**20),
        **q,
    }


# ---------------------------------------------------------------- (d) delivery


def scenario_delivery(chats: int) -> dict:
    from benchmarks.bench_delivery import burst

    with pg_schema() as url:
        args = argparse.Namespace(chats=chats, per_chat=2, scale=10.0)
        return asyncio.run(burst(args, url))


# ---------------------------------------------------------------- entry points


def worker_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("poller", "cycle", "match", "search", "delivery"))
    parser.add_argument("--url")
    parser.add_argument("--interval", type=float, default=300)
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run, not the issue's figures")
    parser.add_argument("--feeds", type=int)
    parser.add_argument("--articles", type=int)
    args = parser.parse_args(argv)
    q = args.quick
    if args.part == "poller":
        emit(asyncio.run(_poller(args)))
    elif args.part == "cycle":
        emit(scenario_cycle(args.feeds or (600 if q else 6000)))
    elif args.part == "match":
        emit(scenario_match(20_000 if q else 100_000, 4_000 if q else 20_000))
    elif args.part == "search":
        emit(scenario_search(args.articles or (50_000 if q else 1_000_000), 200))
    else:
        emit(scenario_delivery(300 if q else 2000))


def run_all_parts(quick: bool, feeds: int | None = None) -> dict:
    """Scenario 11 for run_all.py: each part in its own process, a failed part reported, not fatal."""
    import psycopg

    try:
        psycopg.connect(DSN, connect_timeout=3).close()
    except psycopg.Error as exc:
        raise RuntimeError(f"no PostgreSQL at {DSN.split('@')[-1]} (set PANTAU_BENCH_POSTGRES): {exc}") from None
    extra = ["--quick"] if quick else []
    out: dict = {"dsn": DSN.split("@")[-1]}
    for part in ("cycle", "match", "search", "delivery"):
        args = [*extra, *(["--feeds", str(feeds)] if feeds and part == "cycle" else [])]
        print(f"    PostgreSQL {part} …", file=sys.stderr, flush=True)
        try:
            load = os.getloadavg()[0]  # the machine's load says how far the walls are from an idle machine's
            out[part] = run_worker("benchmarks.bench_pg", part, *args, timeout=3600)
            out[part]["load_1min_before_after"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            print("    " + json.dumps(out[part])[:2000], file=sys.stderr, flush=True)
        except Exception as exc:  # keep going: one broken part should not hide the others
            out[part] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


if __name__ == "__main__":
    worker_main(sys.argv[1:])
