"""Scenario 10: the analyst's reports at 1,000,000 articles — /ringkasan 30 hari with its chart, /ekspor
30 hari streamed to CSV + XLSX, and one spike check over every Kab/Kota × kasus.

    python -m benchmarks.bench_reports [--articles 1000000] [--repeat 3]

The schema is the product's (open_database runs the migrations). Articles are synthetic
(benchmarks.common.article_text) spread evenly over the year before END, grouped three to a story
(articles.story_id, so counts are of stories as in production), with random sentiments and 40 outlets.
Timed as the product runs them: `compose_summary` (SQL aggregation + matplotlib PNG, as /ringkasan and the
daily brief), `export_rows` into the CSV and XLSX writers (as /ekspor), `ReportScheduler.check_spikes`.

- /ringkasan: three scopes — everything (the worst case: every article of the 30 days), a province
  subscription (Jawa Tengah), a Kab/Kota + case — median of `--repeat` runs each, the slowest scope reported;
- /ekspor: rows written and the growth of peak RSS while streaming (the rows are never all in memory);
- spikes: median of `--repeat` checks at END.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.bench_storage import _cases_of
from benchmarks.common import article_text, emit, rss_mb, rusage_self

END = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
OUTLETS = [f"Media {i}" for i in range(40)]
SENTIMENTS = ("negative", "neutral", "positive")


def bulk_insert(path: Path, n: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    rng = random.Random(13)
    step = 365 * 86400 / n
    start = END - timedelta(days=365)
    t0 = time.perf_counter()
    for first in range(0, n, 10_000):
        arts, cases, stories = [], [], []
        for i in range(first, min(n, first + 10_000)):
            title, body, city = article_text(i, body_words=30)
            when = (start + timedelta(seconds=i * step)).isoformat(timespec="seconds")
            cs = _cases_of(title, rng)
            story = i // 3 + 1
            if i % 3 == 0:
                stories.append((story, title, i + 1, when, when, when, when))
            arts.append(
                (
                    i + 1,
                    f"https://arsip.example/{i}",
                    f"https://arsip.example/{i}",
                    title,
                    body,
                    OUTLETS[rng.randrange(len(OUTLETS))],
                    when,
                    when,
                    city,
                    f"Kab/Kota {city}",
                    json.dumps(cs),
                    rng.choices(SENTIMENTS, weights=(4, 5, 2))[0],
                    story,
                )
            )
            cases += [(i + 1, key, rank) for rank, key in enumerate(cs)]
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO stories (id, title, representative_id, first_at, last_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            stories,
        )
        conn.executemany(
            "INSERT INTO articles (id, link, url, title, body, source, published_at, fetched_at, city_code,"
            " city_name, cases, sentiment, confidence, story_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 60, ?)",
            arts,
        )
        conn.executemany("INSERT INTO article_cases (article_id, case_key, rank) VALUES (?, ?, ?)", cases)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return elapsed


def _sizes(folder: Path) -> dict[str, int]:
    return {p.suffix: p.stat().st_size for p in folder.iterdir()}


async def measure(path: Path, repeat: int) -> dict[str, object]:
    from bot.delivery.documents import compose_summary
    from bot.models import SubscriptionFilter
    from bot.reports.export import open_writer, write_all
    from bot.reports.periods import make_period
    from bot.runtime.reports import ReportScheduler
    from storage import reports as report_store
    from storage.db import open_database

    db = await open_database(path)
    period = make_period("30hari", END, "WIB")
    scopes = {
        "everything": [],
        "province Jawa Tengah": [SubscriptionFilter(area_codes=frozenset({"33"}))],
        "Kab/Kota + case": [SubscriptionFilter(area_codes=frozenset({"33.72"}), cases=frozenset({"kebakaran"}))],
    }
    await compose_summary(db, [], make_period("24jam", END, "WIB"), "warm-up", "WIB")  # imports, fonts
    summary: dict[str, dict[str, float]] = {}
    for name, filters in scopes.items():
        times = []
        total = 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            composed = await compose_summary(db, filters, period, name, "WIB")
            times.append(time.perf_counter() - t0)
            total = composed.data.total if composed.data else 0
        summary[name] = {"median_s": round(statistics.median(times), 3), "units": total}

    rss_before = rss_mb()
    peak_before = rusage_self()["maxrss_mb"]
    with tempfile.TemporaryDirectory() as folder:
        writers = [open_writer("csv", Path(folder) / "x.csv"), open_writer("xlsx", Path(folder) / "x.xlsx")]
        t0 = time.perf_counter()
        rows = await write_all(
            report_store.export_rows(db, [], start=period.window.start, end=period.window.end), writers
        )
        export_s = time.perf_counter() - t0
        sizes = _sizes(Path(folder))
    peak_after = rusage_self()["maxrss_mb"]

    clock_now = END
    scheduler = ReportScheduler(db, clock=lambda: clock_now)
    spike_times = []
    spikes_found = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        spikes_found += len(await scheduler.check_spikes())
        spike_times.append(time.perf_counter() - t0)
    await db.close()
    worst = max(summary.values(), key=lambda v: v["median_s"])
    return {
        "ringkasan_30d_s": worst["median_s"],
        "ringkasan_by_scope": summary,
        "export_30d_rows": rows,
        "export_30d_s": round(export_s, 2),
        "export_files_mb": {k: round(v / 1e6, 1) for k, v in sizes.items()},
        "export_peak_rss_growth_mb": round(max(0.0, peak_after - peak_before), 1),
        "rss_before_export_mb": round(rss_before, 1),
        "spike_check_s": round(statistics.median(spike_times), 3),
        "spikes_found": spikes_found,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", type=Path, help="keep the generated database here and reuse it if it exists")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "reports.db"
        insert_s = 0.0
        if not path.exists():

            async def migrate() -> None:
                from storage.db import open_database

                db = await open_database(path)
                await db.close()

            asyncio.run(migrate())
            insert_s = bulk_insert(path, args.articles)
        result = asyncio.run(measure(path, args.repeat))
        result.update(
            {"articles": args.articles, "insert_s": round(insert_s, 1), "db_mb": round(path.stat().st_size / 1e6)}
        )
    emit(result)


if __name__ == "__main__":
    main()
