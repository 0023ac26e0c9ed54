"""Run every benchmark, print one table, write benchmarks/results.json.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only 1,2,5]

Not part of the test suite. Every scenario starts its own loopback servers and temporary databases; each
heavy part runs in a separate process so its CPU seconds and peak RSS are its own. Full size takes about
twenty minutes on 2 cores (scenario 11, PostgreSQL, half of it); --quick shrinks every scenario (figures then
do not answer the targets).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import PYTHON, ROOT, Row, run_worker, table  # noqa: E402


def machine() -> dict:
    mem = ""
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    cpu = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import sqlite3

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": platform.platform(),
    }


def classify_bench() -> dict:
    out = ROOT / "benchmarks" / ".classify.json"
    subprocess.run(
        [PYTHON, str(ROOT / "benchmarks" / "bench_classify.py"), "--json", str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    data = json.loads(out.read_text())
    out.unlink()
    return data


def stories_bench(stories: int) -> dict:
    out = ROOT / "benchmarks" / ".stories.json"
    subprocess.run(
        [PYTHON, str(ROOT / "benchmarks" / "bench_stories.py"), "--stories", str(stories), "--json", str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=1800,
    )
    data = json.loads(out.read_text())
    out.unlink()
    return data


def pg_rows(r: dict) -> list[Row]:
    """Scenario 11's rows: the PostgreSQL figures beside scenarios 1, 5, 7 and 6."""
    rows: list[Row] = []
    c = r.get("cycle", {})
    if "error" in c:
        rows.append(Row("11 PostgreSQL cycle", "ERROR", c["error"][:80]))
    else:
        for i, run in enumerate(c["runs"]):
            rows.append(
                Row(
                    "11 PostgreSQL" if i == 0 else "",
                    f"{c['feeds']:,}-feed cycle, {run['pollers']} poller process(es): wall / pollers' CPU / server CPU",
                    f"{run['wall_s']:.1f} s / {run['pollers_cpu_s']:.1f} s / {run['server_cpu_s']:.1f} s",
                )
            )
            rows.append(Row("", "  feeds fetched twice", str(run["fetched_twice"]), "0", run["fetched_twice"] == 0))
    m = r.get("match", {})
    if "error" in m:
        rows.append(Row("", "matching: ERROR", m["error"][:80]))
    else:
        rows.append(
            Row(
                "",
                f"{m['subscriptions']:,} subs, {m['articles']:,} articles: all matches / index load from PG",
                f"{m['match_s']:.2f} s / {m['index_load_s']:.2f} s",
                "≤ 1 s",
                m["match_s"] <= 1,
            )
        )
        rows.append(Row("", "  store_and_queue incl. outbox rows", f"{m['store_and_queue_s']:.1f} s"))
    s = r.get("search", {})
    if "error" in s:
        rows.append(Row("", "search: ERROR", s["error"][:80]))
    else:
        rows.append(
            Row("", f"{s['articles']:,} articles: COPY rate / size", f"{s['copy_per_s']:,} /s / {s['size_mb']:,} MB")
        )
        rows.append(
            Row(
                "",
                "/search as storage.search runs it (search_articles): p95",
                f"{s['search_articles']['p95_ms']:.1f} ms",
                "≤ 50 ms",
                s["search_articles"]["p95_ms"] <= 50,
            )
        )
        rows.append(Row("", "  search_stories (what /cari calls): p95", f"{s['search_stories']['p95_ms']:.1f} ms"))
        rows.append(
            Row(
                "",
                "/latest Kab/Kota + case (latest_stories): p95",
                f"{s['latest_city_case']['p95_ms']:.1f} ms",
                "≤ 20 ms",
                s["latest_city_case"]["p95_ms"] <= 20,
            )
        )
    d = r.get("delivery", {})
    if "error" in d:
        rows.append(Row("", "delivery: ERROR", d["error"][:80]))
    else:
        rows.append(
            Row(
                "",
                f"delivery, {d['messages']:,} alerts, limit {d['overall_rate']:.0f}/s: rate / 429s",
                f"{d['achieved_rate']:.1f} /s ({d['rate_pct']:.0f} %) / {d['answers_429']}",
                "≥ 90 % / 0",
                d["rate_pct"] >= 90 and d["answers_429"] == 0,
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8,9,10,11")
    parser.add_argument("--feeds", type=int, help="feeds of scenarios 1 and 9 (default 6,000; 600 with --quick)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--reuse", type=Path, help="results.json whose figures stand for scenarios not in --only")
    args = parser.parse_args()
    previous = json.loads(args.reuse.read_text()) if args.reuse else {}
    only = {int(x) for x in args.only.split(",")}
    q = args.quick
    from benchmarks import bench_pg, bench_poll

    results: dict = {"machine": machine(), "quick": q, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    rows: list[Row] = []

    def step(n: int, name: str, fn):
        if n not in only:
            if name in previous:
                results[name] = previous[name]
            return previous.get(name)
        print(f"[{n}] {name} …", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            res = fn()
        except Exception as exc:  # keep going: one broken scenario should not hide the others
            res = {"error": f"{type(exc).__name__}: {exc}"}
        res["scenario_wall_s"] = round(time.perf_counter() - t0, 1)
        results[name] = res
        print(f"    done in {res['scenario_wall_s']} s", file=sys.stderr, flush=True)
        return res

    cycle_feeds = args.feeds or (600 if q else 6000)
    r = step(1, "poll_cycle", lambda: bench_poll.scenario_cycle(cycle_feeds))
    if r and "error" not in r:
        rows += [
            Row(
                "1 poll cycle",
                f"{r['feeds']} feeds, {r['hosts']} hosts, {r['rtt_ms']:.0f} ms RTT: wall",
                f"{r['wall_s']:.1f} s",
                "≤ 30 s",
                r["wall_s"] <= 30,
            ),
            Row("", "CPU (user+sys)", f"{r['cpu_s']:.1f} s", "≤ 30 s", r["cpu_s"] <= 30),
            Row("", "peak RSS", f"{r['peak_rss_mb']:.0f} MB", "≤ 200 MB", r["peak_rss_mb"] <= 200),
            Row(
                "",
                "304 / fetched / new articles / queued",
                f"{r['not_modified']} / {r['fetched']} / {r['new_articles']} / {r['queued']}",
            ),
        ]
    r = step(2, "versus_feedparser", lambda: bench_poll.scenario_versus(600))
    if r and "error" not in r:
        rows += [
            Row("2 vs feedparser loop", f"{r['feeds']} feeds: Pantau cycle wall", f"{r['pantau_wall_s']:.2f} s"),
            Row("", "sequential feedparser.parse(url) wall", f"{r['feedparser_wall_s']:.1f} s"),
            Row("", "speed-up (wall)", f"{r['speedup']:.0f}×", "≥ 10×", r["speedup"] >= 10),
            Row("", "CPU: Pantau / feedparser loop", f"{r['pantau_cpu_s']:.1f} s / {r['feedparser_cpu_s']:.1f} s"),
        ]
    r = step(3, "memory", lambda: bench_poll.scenario_memory(1000, 20 if q else 100))
    if r and "error" not in r:
        rows += [
            Row(
                "3 memory",
                f"{r['feeds']} feeds × {r['cycles']} cycles: RSS after cycle 10 → last",
                f"{r['rss_after_cycle_10_mb']:.0f} → {r['rss_last_mb']:.0f} MB",
            ),
            Row("", "growth after cycle 10", f"{r['growth_pct']:+.1f} %", "≤ 10 %", r["growth_pct"] <= 10),
            Row("", "median cycle wall", f"{r['median_cycle_wall_s']:.2f} s"),
        ]
    r = step(4, "classify", classify_bench)
    if r and "error" not in r:
        rows.append(
            Row(
                "4 classification",
                f"dev set ({r['n']} articles, {r['body_chars']}-char bodies)"
                + (", incl. story assignment" if r.get("includes_story_assignment") else ""),
                f"{r['articles_per_s']:.0f} /s",
                "≥ 500 /s",
                r["articles_per_s"] >= 500,
            )
        )
    r = step(
        5,
        "matching",
        lambda: run_worker("benchmarks.bench_match", *(["--subs", "20000", "--chats", "4000"] if q else [])),
    )
    if r and "error" not in r:
        rows += [
            Row(
                "5 matching",
                f"{r['subscriptions']:,} subs / {r['chats']:,} chats, {r['articles']:,} articles: find all",
                f"{r['match_s']:.2f} s",
                "≤ 1 s",
                r["match_s"] <= 1,
            ),
            Row(
                "",
                "matches (subscription / chat×article)",
                f"{r['matching_subscriptions']:,} / {r['chat_article_pairs']:,}",
            ),
            Row(
                "",
                "same via candidate_subscriptions (version read per article)",
                f"{r['match_per_article_check_s']:.2f} s",
            ),
            Row("", "index load (once per subscription change)", f"{r['index_load_s']:.2f} s"),
            Row("", "store_and_queue incl. outbox rows", f"{r['store_and_queue_s']:.1f} s"),
        ]
    r = step(6, "delivery", lambda: run_worker("benchmarks.bench_delivery", *(["--chats", "300"] if q else [])))
    if r and "error" not in r:
        b, e = r["burst"], r["latency"]
        rows += [
            Row(
                "6 delivery",
                f"{b['messages']:,} alerts to {b['chats']:,} chats, limit {b['overall_rate']:.0f}/s (×10): rate",
                f"{b['achieved_rate']:.1f} /s ({b['rate_pct']:.0f} %)",
                "≥ 90 %",
                b["rate_pct"] >= 90,
            ),
            Row("", "429 answers from the rate-enforcing fake", f"{b['answers_429']}", "0", b["answers_429"] == 0),
            Row(
                "",
                "min gap per private / group chat (limit)",
                f"{b['min_gap_private_s']:.3f} s / {b['min_gap_group_s']:.3f} s "
                f"({b['private_interval']:.1f} / {b['group_interval']:.1f})",
                "kept",
                b["pacing_kept"],
            ),
            Row(
                "",
                f"feed item → sendMessage, poll every {e['poll_interval_s']:.0f} s: p95",
                f"{e['p95_s']:.2f} s (n={e['n']})",
                f"≤ {e['poll_interval_s'] + 2:.0f} s",
                e["p95_s"] <= e["poll_interval_s"] + 2,
            ),
        ]
    r = step(
        7,
        "storage",
        lambda: run_worker("benchmarks.bench_storage", *(["--articles", "100000"] if q else []), timeout=1800),
    )
    if r and "error" not in r:
        rows += [
            Row("7 storage", f"{r['articles']:,} articles: bulk insert", f"{r['bulk_insert_per_s']:,} /s"),
            Row("", "insert via store_and_queue (batches of 20)", f"{r['product_insert_per_s']:,} /s"),
            Row("", "file size", f"{r['file_mb']:,} MB ({r['bytes_per_article']} B/article)"),
            Row(
                "",
                "/search as storage.search runs it (newest first): p95",
                f"{r['search_product']['p95_ms']:.1f} ms",
                "≤ 50 ms",
                r["search_product"]["p95_ms"] <= 50,
            ),
            Row("", "/search FTS rowid order, bare: p95", f"{r['search_newest']['p95_ms']:.1f} ms"),
            Row(
                "",
                "(not used) all matches by date / bm25: p95",
                f"{r['search_by_date']['p95_ms']:.0f} / {r['search_rank']['p95_ms']:.0f} ms",
            ),
            Row(
                "",
                "/latest Kab/Kota + case: p95",
                f"{r['latest_city_case']['p95_ms']:.2f} ms",
                "≤ 20 ms",
                r["latest_city_case"]["p95_ms"] <= 20,
            ),
            Row(
                "",
                "/latest case only: p95",
                f"{r['latest_case']['p95_ms']:.2f} ms",
                "≤ 20 ms",
                r["latest_case"]["p95_ms"] <= 20,
            ),
        ]
    r = step(8, "stories", lambda: stories_bench(10_000 if q else 100_000))
    if r and "error" not in r:
        rows += [
            Row(
                "8 story assignment",
                f"{r['stories']:,} stories in the 72 h window, {r['articles']:,} reports: mean",
                f"{r['mean_ms']:.2f} ms",
                "≤ 2 ms",
                r["mean_ms"] <= 2,
            ),
            Row("", "p95 / max", f"{r['p95_ms']:.2f} / {r['max_ms']:.1f} ms"),
            Row("", "peak RSS of the window", f"{r.get('peak_rss_mb', 0):.0f} MB"),
        ]
    r = step(9, "poll_cycle_pages", lambda: bench_poll.scenario_cycle(cycle_feeds, page_share=0.10))
    if r and "error" not in r:
        rows += [
            Row(
                "9 poll cycle + pages",
                f"{r['feeds']} feeds, {r['page_share']:.0%} of new items need a page: wall",
                f"{r['wall_s']:.1f} s",
                "≤ 30 s",
                r["wall_s"] <= 30,
            ),
            Row("", "CPU (user+sys)", f"{r['cpu_s']:.1f} s", "≤ 30 s", r["cpu_s"] <= 30),
            Row("", "peak RSS", f"{r['peak_rss_mb']:.0f} MB", "≤ 200 MB", r["peak_rss_mb"] <= 200),
            Row(
                "",
                "pages wanted / fetched / used / failed / timed out",
                f"{r['pages_wanted']} / {r['pages_fetched']} / {r['pages_used']} / {r['pages_failed']}"
                f" / {r['pages_timed_out']}",
            ),
            Row(
                "",
                "page fetches/s over the cycle; fetch ms per page (50 ms RTT)",
                f"{r['page_fetches_per_s']:.1f} /s; {r['page_fetch_ms_mean'] or 0:.0f} ms",
            ),
            Row(
                "",
                "extraction per page: wall incl. queue / CPU",
                f"{r['extract_ms_per_page'] or 0:.1f} ms / {r['extract_cpu_ms_per_page'] or 0:.1f} ms",
            ),
        ]
    r = step(
        10,
        "reports",
        lambda: run_worker("benchmarks.bench_reports", *(["--articles", "100000"] if q else []), timeout=1800),
    )
    if r and "error" not in r:
        rows += [
            Row(
                "10 reports",
                f"/ringkasan 30 hari at {r['articles']:,} articles, chart included (slowest scope)",
                f"{r['ringkasan_30d_s']:.2f} s",
                "≤ 2 s",
                r["ringkasan_30d_s"] <= 2,
            ),
            Row(
                "",
                f"/ekspor 30 hari, {r['export_30d_rows']:,} rows to CSV + XLSX: time / peak RSS growth",
                f"{r['export_30d_s']:.1f} s / {r['export_peak_rss_growth_mb']:.0f} MB",
                "streams",
                r["export_peak_rss_growth_mb"] <= 50,
            ),
            Row(
                "",
                "spike check, every Kab/Kota × kasus: one cycle",
                f"{r['spike_check_s'] * 1000:.0f} ms",
                "≤ 1 s",
                r["spike_check_s"] <= 1,
            ),
        ]
    r = step(11, "postgresql", lambda: bench_pg.run_all_parts(q, args.feeds))
    if r and "error" not in r:
        rows += pg_rows(r)
    for name in (
        "poll_cycle",
        "versus_feedparser",
        "memory",
        "classify",
        "matching",
        "delivery",
        "storage",
        "stories",
        "poll_cycle_pages",
        "reports",
        "postgresql",
    ):
        if name in results and "error" in results[name]:
            rows.append(Row(name, "ERROR", results[name]["error"][:80]))
    m = results["machine"]
    print(f"\nMachine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, SQLite {m['sqlite']}")
    print(table(rows))
    results["table"] = table(rows)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
