"""Shared helpers for the benchmarks: synthetic Indonesian-ish text, resource figures, worker processes.

Nothing here is product code; every benchmark imports it as ``benchmarks.common``.
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PYTHON = sys.executable

# Ordinary news vocabulary (written for the benchmark), plus event words the classifier reacts to.
_WORDS = [
    "warga",
    "pemerintah",
    "kabupaten",
    "kota",
    "desa",
    "kecamatan",
    "jalan",
    "pasar",
    "sekolah",
    "rumah",
    "sakit",
    "polisi",
    "petugas",
    "bupati",
    "wali",
    "gubernur",
    "dinas",
    "kepala",
    "anggota",
    "dewan",
    "rakyat",
    "daerah",
    "program",
    "bantuan",
    "sosial",
    "anggaran",
    "tahun",
    "bulan",
    "minggu",
    "pagi",
    "siang",
    "sore",
    "malam",
    "kemarin",
    "hari",
    "ini",
    "lokasi",
    "kejadian",
    "menurut",
    "keterangan",
    "saksi",
    "mengatakan",
    "menjelaskan",
    "menambahkan",
    "upaya",
    "penanganan",
    "masyarakat",
    "lingkungan",
    "kegiatan",
    "acara",
    "festival",
    "budaya",
    "pembangunan",
    "jembatan",
    "irigasi",
    "sawah",
    "petani",
    "nelayan",
    "pedagang",
    "harga",
    "beras",
    "cabai",
    "minyak",
    "listrik",
    "air",
    "bersih",
    "layanan",
    "kesehatan",
    "puskesmas",
    "vaksin",
    "siswa",
    "guru",
    "ujian",
    "wisata",
    "pantai",
    "gunung",
    "taman",
    "alun-alun",
    "kantor",
    "balai",
    "musyawarah",
    "rapat",
    "paripurna",
    "peraturan",
    "daerah",
    "perizinan",
    "investasi",
    "pabrik",
    "buruh",
    "gaji",
    "upah",
    "minimum",
    "koperasi",
    "usaha",
    "kecil",
    "menengah",
    "pelatihan",
    "bantuan",
    "langsung",
    "tunai",
    "kendaraan",
    "motor",
    "mobil",
    "truk",
    "bus",
    "kereta",
    "stasiun",
    "terminal",
    "pelabuhan",
    "bandara",
    "penerbangan",
    "hujan",
    "deras",
    "angin",
    "kencang",
    "cuaca",
]
_EVENTS = [
    "kecelakaan",
    "tabrakan",
    "kebakaran",
    "terbakar",
    "banjir",
    "longsor",
    "gempa",
    "korupsi",
    "tersangka",
    "narkoba",
    "sabu",
    "pencurian",
    "maling",
    "penipuan",
    "pembunuhan",
    "penganiayaan",
    "demo",
    "unjuk",
    "rasa",
    "tewas",
    "luka",
]


@cache
def city_names() -> list[tuple[str, str]]:
    """(code, short name) of every Kab/Kota in the bundled region file."""
    path = ROOT / "bot" / "classify" / "data" / "regions.csv"
    with path.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(line for line in fh if not line.startswith("#"))]
    return [(r["code"], r["short_name"]) for r in rows if r["type"] in ("kabupaten", "kota")]


def article_text(seed: int, body_words: int = 60) -> tuple[str, str, str]:
    """Deterministic (title, body, city_code) for a synthetic article; about 7 chars per word."""
    rng = random.Random(seed)
    cities = city_names()
    code, city = cities[rng.randrange(len(cities))]
    event = rng.choice(_EVENTS)
    words = rng.choices(_WORDS, k=8)
    title = f"{event.capitalize()} di {city}, " + " ".join(words[:5])
    body_list = rng.choices(_WORDS, k=body_words)
    body_list[rng.randrange(len(body_list))] = event
    body = f"{city.upper()} — " + " ".join(body_list) + "."
    return title, body, code


def rusage_self() -> dict[str, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_mb": ru.ru_maxrss / 1024}


def parse_workers_usage() -> dict[str, float]:
    """CPU seconds and current RSS of the feed parser's worker processes (bot/feeds/parsepool.py).

    They are children of a fork server, not of the measured process, so getrusage does not see them;
    the poll benchmarks add these figures to the poller's own.
    """
    from bot.feeds.parsepool import default_pool

    cpu = rss = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in default_pool().worker_pids():
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            with open(f"/proc/{pid}/status", encoding="ascii") as fh:
                rss += next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    return {"cpu_s": cpu, "rss_mb": rss}


def rss_mb() -> float:
    """Current resident set size of this process, from /proc/self/status."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def emit(result: dict) -> None:
    """A worker's answer: one JSON line prefixed so log noise on stdout cannot be mistaken for it."""
    print("RESULT " + json.dumps(result), flush=True)


def run_worker(module: str, *args: str, timeout: float = 900) -> dict:
    """Run `python -m module args…` in a fresh process; return the dict it emitted."""
    cmd = [PYTHON, "-m", module, *args]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise RuntimeError(f"worker {module} {' '.join(args)} failed (exit {proc.returncode})")
    result = json.loads(lines[-1][len("RESULT ") :])
    result.setdefault("process_wall_s", round(time.perf_counter() - started, 2))
    return result


Table = tuple[str, tuple[str, ...], list[tuple]]  # (table, columns, rows): one batch for a bulk writer
# Tables whose `id` is an identity column on PostgreSQL: after rows with explicit ids, its sequence is moved
# past them, so the product's own inserts (ids from the sequence) do not collide.
IDENTITY_TABLES = ("feeds", "stories", "articles", "subscriptions", "deliveries")


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def is_postgres(target: Path | str) -> bool:
    return isinstance(target, str) and target.startswith("postgresql://")


def write_tables(target: Path | str, tables: Iterable[Table]) -> None:
    """Bulk-write rows into a migrated database in one transaction: an SQLite file (executemany) or a
    PostgreSQL URL (COPY, then the identity sequences moved past the ids written)."""
    if not is_postgres(target):
        import sqlite3

        conn = sqlite3.connect(target, isolation_level=None)
        conn.execute("BEGIN")
        for table, columns, rows in tables:
            conn.executemany(insert_sql(table, columns), rows)
        conn.execute("COMMIT")
        conn.close()
        return
    import psycopg

    with psycopg.connect(str(target)) as pg:  # one transaction, committed on leaving the block
        written: set[str] = set()
        for table, columns, rows in tables:
            if table not in written:
                # The subscription tables' row triggers bump one counter row per row written; within one
                # transaction each bump walks the row's growing chain of versions, so 100,000 rows take
                # minutes (quadratic). A bulk load switches them off and bumps the counter once below.
                pg.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER".encode())
            with pg.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN".encode()) as copy:
                for row in rows:
                    copy.write_row(row)
            written.add(table)
        for table in sorted(written):
            pg.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER".encode())
        pg.execute(b"UPDATE subscription_state SET version = version + 1")
        for table in sorted(written & set(IDENTITY_TABLES)):
            pg.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false)"
                f" FROM {table}".encode()
            )


@dataclass
class Row:
    """One line of the printed table."""

    scenario: str
    metric: str
    value: str
    target: str = ""
    ok: bool | None = None

    def cells(self) -> list[str]:
        verdict = "" if self.ok is None else ("yes" if self.ok else "NO")
        return [self.scenario, self.metric, self.value, self.target, verdict]


def table(rows: list[Row]) -> str:
    header = ["scenario", "metric", "value", "target", "met"]
    cells = [header] + [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells[1:]:
        out.append("| " + " | ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)) + " |")
    return "\n".join(out)
