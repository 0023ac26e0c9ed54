"""`pantau feeds …`: add, list, remove, import and export the feeds to poll."""

from __future__ import annotations

import argparse
from typing import TextIO

from bot.config import Settings
from bot.errors import InputError
from bot.feedlist import import_opml, resolve_city_code
from bot.feeds.opml import OpmlFeed, export_opml
from bot.feeds.urls import is_http_url
from bot.formatting import format_wib
from storage import feeds as feed_store
from storage.db import open_database
from storage.timeutil import utcnow


async def dispatch(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    db = await open_database(settings.db_path)
    try:
        action = args.feeds_command
        if action == "add":
            if not is_http_url(args.url):
                raise InputError(f"not an http(s) URL: {args.url!r}")
            if args.backfill < 0:
                raise InputError("--backfill must be 0 or more")
            city = resolve_city_code(args.city) if args.city else None
            feed = await feed_store.add_feed(
                db, args.url, now=utcnow(), name=args.name, default_city_code=city, backfill=args.backfill
            )
            out.write(f"added feed {feed.id}: {feed.url}\n")
        elif action == "list":
            feeds = await feed_store.list_feeds(db)
            if not feeds:
                out.write("no feeds; add one with: pantau feeds add URL\n")
            for feed in feeds:
                status = "ok" if feed.error_count == 0 else f"failing ({feed.error_count}×: {feed.last_error})"
                if feed.last_checked_at is None:
                    status = "never polled"
                last = format_wib(feed.last_checked_at) if feed.last_checked_at else "-"
                out.write(
                    f"{feed.id:>4}  {feed.display_name[:40]:<40}  {status}\n"
                    f"      {feed.url}\n      last poll: {last}  next poll: {format_wib(feed.next_check_at)}"
                    + (f"  city: {feed.default_city_code}" if feed.default_city_code else "")
                    + "\n"
                )
        elif action == "remove":
            feed = await feed_store.remove_feed(db, args.feed)
            out.write(f"removed feed {feed.id}: {feed.url}\n")
        elif action == "import":
            try:
                data = args.file.read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read {args.file}: {exc.strerror}") from None
            added, skipped = await import_opml(db, data)
            out.write(f"imported {added} feeds ({skipped} already present)\n")
        elif action == "export":
            feeds = await feed_store.list_feeds(db)
            out.write(
                export_opml(
                    [OpmlFeed(url=f.url, title=f.display_name, city=f.default_city_code) for f in feeds],
                    title="Pantau feeds",
                )
            )
        return 0
    finally:
        await db.close()
