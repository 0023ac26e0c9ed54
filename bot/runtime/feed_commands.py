"""`pantau feeds …`: add, list, remove, import and export the feeds to poll."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from bot.config import Settings
from bot.errors import InputError
from bot.feeds.opml import OpmlFeed, export_opml
from bot.feeds.urls import feed_url_problem, has_secrets, mask_url, mask_urls_in_text
from bot.formatting import format_wib
from bot.ingest.feedlist import clean_name, import_opml, resolve_city_code
from bot.models import Feed
from bot.runtime.runlock import open_command_database
from storage import feeds as feed_store
from storage.timeutil import utcnow


async def dispatch(settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO | None = None) -> int:
    err = err or sys.stderr
    db = await open_command_database(settings.database)
    try:
        action = args.feeds_command
        if action == "add":
            problem = feed_url_problem(args.url)
            if problem is not None:
                raise InputError(f"cannot add {mask_url(args.url)!r}: {problem}")
            if args.backfill < 0:
                raise InputError("--backfill must be 0 or more")
            city = resolve_city_code(args.city) if args.city else None
            name = clean_name(args.name) if args.name else None
            feed = await feed_store.add_feed(
                db,
                args.url,
                now=utcnow(),
                name=name or None,
                default_city_code=city,
                backfill=args.backfill,
                full_text=args.full_text,
            )
            out.write(f"added feed {feed.id}: {mask_url(feed.url)} (full text: {feed.full_text})\n")
        elif action == "set":
            feed = await feed_store.set_full_text(db, args.feed, args.full_text)
            out.write(f"feed {feed.id}: full text {feed.full_text}\n")
        elif action == "list":
            feeds = await feed_store.list_feeds(db)
            if not feeds:
                out.write("no feeds; add one with: pantau feeds add URL\n")
            else:
                out.write(feed_table(feeds) + "\n")
        elif action == "remove":
            feed = await feed_store.remove_feed(db, args.feed)
            out.write(f"removed feed {feed.id}: {mask_url(feed.url)}\n")
        elif action == "import":
            try:
                data = args.file.read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read {args.file}: {exc.strerror}") from None
            added, skipped = await import_opml(db, data)
            out.write(f"imported {added} feeds ({skipped} already present)\n")
        elif action == "export":
            feeds = await feed_store.list_feeds(db)
            # Credentials in feed URLs stay out of an export (files get shared) unless asked for.
            shown = (lambda url: url) if args.with_secrets else mask_url
            masked = 0 if args.with_secrets else sum(has_secrets(f.url) for f in feeds)
            out.write(
                export_opml(
                    [
                        OpmlFeed(
                            url=shown(f.url), title=f.name or f.title, city=f.default_city_code, full_text=f.full_text
                        )
                        for f in feeds
                    ],
                    title="Pantau feeds",
                )
            )
            if masked:
                err.write(
                    f"pantau: {masked} feed URL(s) carry credentials or keys, written masked (***); "
                    "use --with-secrets to export them as they are\n"
                )
        return 0
    finally:
        await db.close()


def feed_table(feeds: list[Feed]) -> str:
    """`pantau feeds list`: one row per feed, then its URL and last error indented below it."""
    from bot.classify import place_by_code

    header = ("ID", "NAME", "STATUS", "ERRORS", "LAST POLL", "NEXT POLL", "KAB/KOTA", "FULL TEXT")
    rows: list[tuple[str, ...]] = []
    details: list[list[str]] = []
    for feed in feeds:
        if feed.last_checked_at is None:
            status = "never polled"
        elif feed.error_count:
            status = "failing"
        elif feed.slow_polls:
            status = "slow"
        else:
            status = "ok"
        place = place_by_code(feed.default_city_code) if feed.default_city_code else None
        rows.append(
            (
                str(feed.id),
                mask_urls_in_text(feed.name or feed.title or "-")[:36],
                status,
                str(feed.error_count),
                format_wib(feed.last_checked_at) if feed.last_checked_at else "-",
                format_wib(feed.next_check_at),
                place.name if place else (feed.default_city_code or "-"),
                feed.full_text,
            )
        )
        extra = [mask_url(feed.url)]
        if feed.error_count and feed.last_error:
            extra.append(f"last error: {mask_urls_in_text(feed.last_error)}")
        elif feed.slow_polls and feed.last_fetch_seconds is not None:
            times = "once" if feed.slow_polls == 1 else f"{feed.slow_polls} times in a row"
            extra.append(
                f"slow: answered in {feed.last_fetch_seconds:.1f} s ({times}, over half the fetch time limit);"
                " polled less often until it answers quickly"
            )
        details.append(extra)
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip()]
    for row, extra in zip(rows, details, strict=True):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        lines.extend(f"    {line}" for line in extra)
    return "\n".join(lines)
