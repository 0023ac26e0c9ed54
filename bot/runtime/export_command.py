"""`pantau export`: the stored articles of a period, filtered like /langganan, as CSV, XLSX or JSON lines.

Rows stream from an SQLite cursor to the file (storage.reports.export_rows → bot.reports.export), so the
size of the database does not matter. Bad input is one line on stderr and exit code 2; nothing is written.
"""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import TextIO

from bot.config import Settings
from bot.errors import InputError
from bot.models import SubscriptionFilter
from bot.reports.export import open_writer, write_all
from bot.runtime.runlock import open_command_database
from bot.subscriptions.query import parse_query
from storage import reports as report_store
from storage.timeutil import utcnow

_SINCE_RE = re.compile(r"^\s*(\d{1,4})\s*(d|h|hari|jam)\s*$", re.I)
MAX_SINCE = timedelta(days=3660)


def parse_since(text: str) -> timedelta:
    found = _SINCE_RE.match(text)
    if not found:
        raise InputError(f"--since {text!r}: write a number of days or hours, e.g. 7d, 30d or 24h")
    amount, unit = int(found.group(1)), found.group(2).lower()
    span = timedelta(days=amount) if unit in {"d", "hari"} else timedelta(hours=amount)
    if not timedelta(0) < span <= MAX_SINCE:
        raise InputError(f"--since {text!r}: between 1h and {MAX_SINCE.days}d")
    return span


def _term(value: str) -> str:
    # Each value is one term: "Kota Surakarta" stays one place however the query parser splits words.
    return value.strip()


def export_filter(cities: list[str], cases: list[str]) -> list[SubscriptionFilter]:
    """--city/--case values → one filter (cities OR-ed, cases OR-ed, both AND-ed); none → everything."""
    words = " ".join(_term(w) for w in [*cities, *cases])
    if not words.strip():
        return []
    return [parse_query(words).filter]


async def export_command(settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        span = parse_since(args.since)
        filters = export_filter(args.city, args.case)
    except InputError as exc:
        print(f"pantau: {exc}", file=err)
        return 2
    if args.format == "xlsx" and args.output is None:
        print("pantau: --format xlsx needs -o FILE", file=err)
        return 2
    if args.output is not None and not args.output.parent.is_dir():
        print(f"pantau: cannot write {args.output}: folder {args.output.parent} does not exist", file=err)
        return 2
    db = await open_command_database(settings.database)
    try:
        now = utcnow()
        target = args.output if args.output is not None else out
        # A file is written next to its final name and renamed at the end: a failed export leaves no half file.
        partial = args.output.with_name(args.output.name + ".part") if args.output is not None else None
        writer = open_writer(args.format, partial if partial is not None else target, args.zone)
        try:
            count = await write_all(report_store.export_rows(db, filters, start=now - span, end=now), [writer])
        except BaseException:
            if partial is not None:
                partial.unlink(missing_ok=True)
            raise
        if partial is not None and args.output is not None:
            partial.replace(args.output)
            print(f"{count} articles written to {args.output}", file=err)
    finally:
        await db.close()
    return 0
