"""Scenarios 1–3: a poll cycle at scale, Pantau vs a sequential feedparser loop, memory over many cycles.

Each heavy part runs in its own process (``python -m benchmarks.bench_poll cycle|naive …``) so CPU seconds
and peak RSS (getrusage) belong to that part alone; the feed farm is yet another process.

Steady state: the database is primed (every feed has its ETag and its 20 items stored, see prime.py);
before each measured cycle 10 % of the feeds publish 2 new items, the other 90 % answer 304. The measured
cycle is the product's `Poller.poll_due()` with the default `Fetcher` — fetch, parse, classify, dedup,
store, match and queue, all real. The poller reads article pages as `pantau run` does (`FullTextReader`);
with ``page_share`` > 0 (scenario 8) that share of the new items carries a teaser and links to a page on
the farm, so each cycle also fetches those pages (same caps, same 50 ms) and extracts their text.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.common import emit, parse_workers_usage, rss_mb, run_worker, rusage_self
from benchmarks.feed_farm import FarmProcess, stats

# ---------------------------------------------------------------- workers (run in their own process)


async def _cycles(args: argparse.Namespace) -> dict:
    import httpx

    from bot.classify import classify
    from bot.feeds.fetcher import Fetcher
    from bot.ingest.fulltext import FullTextReader
    from bot.ingest.poller import Poller
    from storage.db import open_database
    from storage.timeutil import utcnow

    classify("pemanasan", "memuat data")  # load the classifier's data before measuring, as `pantau run` does
    db = await open_database(args.db)
    base = utcnow()
    offset = [0.0]

    def clock():  # each cycle happens one interval (+1 s) after the previous one
        return base + timedelta(seconds=offset[0])

    rng = random.Random(args.seed)
    fetcher = Fetcher(max_concurrency=args.concurrency, max_per_host=args.per_host)
    reader = FullTextReader(fetcher)  # as `pantau run` wires it (PANTAU_PAGE_TIMEOUT 20 s, 2 extraction threads)
    poller = Poller(db, fetcher, interval=args.interval, clock=clock, full_text=reader)
    control = httpx.AsyncClient(timeout=30)
    cycles = []
    for c in range(args.cycles):
        offset[0] = c * (args.interval + 1)
        changed = rng.sample(range(args.feeds), round(args.feeds * args.changed))
        (await control.post(f"{args.control}/_advance", json={"feeds": changed})).raise_for_status()
        reader.stats.reset()
        before, before_workers = rusage_self(), parse_workers_usage()
        t0 = time.perf_counter()
        summary = await poller.poll_due()
        wall = time.perf_counter() - t0
        after, after_workers = rusage_self(), parse_workers_usage()
        pages = reader.stats
        cycles.append(
            {
                "pages_wanted": pages.wanted,
                "pages_fetched": pages.fetched,
                "pages_used": pages.used,
                "pages_failed": pages.failed,
                "pages_timed_out": pages.timed_out,
                "page_fetches_per_s": round(pages.fetched / wall, 1),
                "page_fetch_ms_mean": round(1000 * pages.fetch_seconds / pages.fetched, 1) if pages.fetched else None,
                "extract_ms_per_page": round(1000 * pages.extract_seconds / pages.fetched, 1)
                if pages.fetched
                else None,
                "extract_cpu_ms_per_page": round(1000 * pages.extract_cpu_seconds / pages.fetched, 1)
                if pages.fetched
                else None,
                "wall_s": round(wall, 3),
                # The poller's own CPU plus its parser workers' (parsing runs in worker processes).
                "cpu_s": round(after["cpu_s"] - before["cpu_s"] + after_workers["cpu_s"] - before_workers["cpu_s"], 3),
                "parse_workers_cpu_s": round(after_workers["cpu_s"] - before_workers["cpu_s"], 3),
                "rss_mb": round(rss_mb() + after_workers["rss_mb"], 1),
                "fetched": summary.fetched,
                "not_modified": summary.not_modified,
                "failed": summary.failed,
                "new_articles": summary.new_articles,
                "queued": summary.queued,
            }
        )
        if args.verbose:
            print(c, cycles[-1], file=sys.stderr, flush=True)
    await control.aclose()
    reader.close()
    await fetcher.aclose()
    await db.close()
    return {
        "cycles": cycles,
        # Peak of the poller process, plus the parser workers' RSS at the end (they live for the whole run).
        "peak_rss_mb": round(rusage_self()["maxrss_mb"] + parse_workers_usage()["rss_mb"], 1),
        "process_cpu_s": round(rusage_self()["cpu_s"] + parse_workers_usage()["cpu_s"], 2),
    }


def _naive(args: argparse.Namespace) -> dict:
    """What many small bots do: for url in feeds: feedparser.parse(url) — sequential, no ETag."""
    import feedparser

    from benchmarks.feed_farm import feed_url

    urls = [feed_url(n, args.port, args.hosts) for n in range(args.feeds)]
    before = rusage_self()
    t0 = time.perf_counter()
    entries = 0
    for url in urls:
        entries += len(feedparser.parse(url).entries)
    wall = time.perf_counter() - t0
    after = rusage_self()
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(after["cpu_s"] - before["cpu_s"], 3),
        "entries": entries,
        "peak_rss_mb": round(after["maxrss_mb"], 1),
    }


def worker_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cycle")
    c.add_argument("--db", type=Path, required=True)
    c.add_argument("--control", required=True)
    c.add_argument("--feeds", type=int, required=True)
    c.add_argument("--cycles", type=int, default=1)
    c.add_argument("--changed", type=float, default=0.10)
    c.add_argument("--interval", type=float, default=300)
    c.add_argument("--concurrency", type=int, default=64)
    c.add_argument("--per-host", type=int, default=4)
    c.add_argument("--seed", type=int, default=7)
    c.add_argument("--verbose", action="store_true")
    n = sub.add_parser("naive")
    n.add_argument("--port", type=int, required=True)
    n.add_argument("--hosts", type=int, default=50)
    n.add_argument("--feeds", type=int, required=True)
    args = parser.parse_args(argv)
    if args.cmd == "cycle":
        emit(asyncio.run(_cycles(args)))
    else:
        emit(_naive(args))


# ---------------------------------------------------------------- scenarios (run from run_all.py)


def _primed_farm(tmp: Path, feeds: int, chats: int = 0, page_share: float = 0.0, item_minutes: float = 1.0):
    from benchmarks.prime import prime, subscribe_sample

    farm = FarmProcess(feeds, page_share=page_share, item_minutes=item_minutes).__enter__()
    db = tmp / f"poll-{feeds}.db"
    t0 = time.perf_counter()
    prime(db, feeds=feeds, port=farm.port, hosts=farm.hosts)
    if chats:
        subscribe_sample(db, chats=chats)
    return farm, db, time.perf_counter() - t0


def scenario_cycle(feeds: int = 6000, *, concurrency: int = 64, per_host: int = 4, page_share: float = 0.0) -> dict:
    with tempfile.TemporaryDirectory(prefix="pantau-bench-") as tmp:
        farm, db, prime_s = _primed_farm(Path(tmp), feeds, chats=1000, page_share=page_share)
        try:
            stats(farm.control, reset=True)
            res = run_worker(
                "benchmarks.bench_poll",
                "cycle",
                "--db",
                str(db),
                "--control",
                farm.control,
                "--feeds",
                str(feeds),
                "--concurrency",
                str(concurrency),
                "--per-host",
                str(per_host),
            )
            res["farm"] = stats(farm.control)
        finally:
            farm.__exit__()
    cyc = res["cycles"][0]
    return {
        "feeds": feeds,
        "hosts": farm.hosts,
        "rtt_ms": farm.delay * 1000,
        "page_share": page_share,
        "prime_s": round(prime_s, 1),
        "concurrency": concurrency,
        "per_host": per_host,
        **cyc,
        "peak_rss_mb": res["peak_rss_mb"],
        "farm": res["farm"],
    }


def scenario_versus(feeds: int = 600) -> dict:
    with tempfile.TemporaryDirectory(prefix="pantau-bench-") as tmp:
        farm, db, _ = _primed_farm(Path(tmp), feeds, chats=100)
        try:
            pantau = run_worker(
                "benchmarks.bench_poll", "cycle", "--db", str(db), "--control", farm.control, "--feeds", str(feeds)
            )
            naive = run_worker(
                "benchmarks.bench_poll",
                "naive",
                "--port",
                str(farm.port),
                "--hosts",
                str(farm.hosts),
                "--feeds",
                str(feeds),
            )
        finally:
            farm.__exit__()
    p = pantau["cycles"][0]
    return {
        "feeds": feeds,
        "pantau_wall_s": p["wall_s"],
        "pantau_cpu_s": p["cpu_s"],
        "pantau_new_articles": p["new_articles"],
        "pantau_not_modified": p["not_modified"],
        "feedparser_wall_s": naive["wall_s"],
        "feedparser_cpu_s": naive["cpu_s"],
        "feedparser_entries": naive["entries"],
        "speedup": round(naive["wall_s"] / p["wall_s"], 1),
    }


def scenario_memory(feeds: int = 1000, cycles: int = 100, item_minutes: float = 720.0) -> dict:
    """RSS over many cycles. Pantau keeps one thing per recent article in memory: the 72-hour story window
    (bot.stories), which in service fills over three days and then stays at its size. So that it reaches
    that steady size within the run rather than growing through all of it, a feed's consecutive items are
    published `item_minutes` apart (12 h: a changed feed's two new items move its news a day on, so once
    the busiest feeds have changed three times — around cycle 10 — older reports leave the window as new
    ones arrive). Scenario 1 keeps items a minute apart."""
    with tempfile.TemporaryDirectory(prefix="pantau-bench-") as tmp:
        farm, db, _ = _primed_farm(Path(tmp), feeds, chats=200, item_minutes=item_minutes)
        try:
            res = run_worker(
                "benchmarks.bench_poll",
                "cycle",
                "--db",
                str(db),
                "--control",
                farm.control,
                "--feeds",
                str(feeds),
                "--cycles",
                str(cycles),
                timeout=1800,
            )
        finally:
            farm.__exit__()
    rss = [c["rss_mb"] for c in res["cycles"]]
    ref = rss[min(9, len(rss) - 1)]
    walls = sorted(c["wall_s"] for c in res["cycles"])
    return {
        "feeds": feeds,
        "cycles": cycles,
        "rss_after_cycle_10_mb": ref,
        "rss_last_mb": rss[-1],
        "rss_max_mb": max(rss),
        "growth_pct": round(100 * (rss[-1] - ref) / ref, 1),
        "peak_rss_mb": res["peak_rss_mb"],
        "median_cycle_wall_s": walls[len(walls) // 2],
        "new_articles_total": sum(c["new_articles"] for c in res["cycles"]),
        "failed_total": sum(c["failed"] for c in res["cycles"]),
        "rss_series_mb": rss,
    }


if __name__ == "__main__":
    worker_main(sys.argv[1:])
