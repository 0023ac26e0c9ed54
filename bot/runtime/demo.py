"""`pantau demo`: the whole path offline — bundled feeds served on loopback, polled into a fresh temporary
database, classified, matched against a few sample subscriptions, and every alert printed."""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TextIO

from bot.feeds.fetcher import Fetcher
from bot.formatting import also_reported, render_alert_text
from bot.ingest.poller import Poller
from bot.models import Sentiment, SubscriptionFilter
from storage import chats as chat_store
from storage import deliveries as delivery_store
from storage import feeds as feed_store
from storage import stories as story_store
from storage import subscriptions as subscription_store
from storage.db import open_database
from storage.timeutil import utcnow

DEMO_FEEDS = ("warta-solo-raya.xml", "kabar-jateng.xml", "nusantara-daring.xml")


@dataclass(frozen=True)
class SampleSubscriber:
    chat_id: int
    name: str
    wants: str  # the filter in plain words, as the bot would restate it
    filter: SubscriptionFilter


SAMPLE_SUBSCRIBERS = (
    SampleSubscriber(
        -1001,
        "Humas Pemkot Surakarta",
        "Kota Surakarta, semua kasus",
        SubscriptionFilter(area_codes=frozenset({"33.72"})),
    ),
    SampleSubscriber(
        -1002,
        "Desk Bencana Jawa Tengah",
        "Provinsi Jawa Tengah · banjir, tanah_longsor, kebakaran, cuaca_ekstrem, gempa",
        SubscriptionFilter(
            area_codes=frozenset({"33"}),
            cases=frozenset({"banjir", "tanah_longsor", "kebakaran", "cuaca_ekstrem", "gempa"}),
        ),
    ),
    SampleSubscriber(
        -1003,
        "Redaksi Kriminal",
        "di mana saja · pembunuhan, penganiayaan, pencurian, narkoba · negatif",
        SubscriptionFilter(
            cases=frozenset({"pembunuhan", "penganiayaan", "pencurian", "narkoba"}),
            sentiments=frozenset({Sentiment.NEGATIVE}),
        ),
    ),
    SampleSubscriber(
        -1004,
        "Pemantau Antikorupsi",
        "di mana saja · korupsi, penipuan, tanpa kata “hoaks”",
        SubscriptionFilter(cases=frozenset({"korupsi", "penipuan"}), exclude_keywords=("hoaks",)),
    ),
)


class _DemoFeedHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        if name not in DEMO_FEEDS:
            self.send_error(404)
            return
        body = resources.files("bot.runtime").joinpath("demo_data", name).read_bytes()
        # An ETag, so the demo's second poll shows conditional GET at work (304, nothing parsed).
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep the demo's output clean
        pass


@contextmanager
def serve_demo_feeds() -> Iterator[str]:
    """A loopback HTTP server for the bundled feeds; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DemoFeedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def run_demo(out: TextIO) -> int:
    with tempfile.TemporaryDirectory(prefix="pantau-demo-") as tmp, serve_demo_feeds() as base_url:
        db = await open_database(Path(tmp) / "demo.db")
        try:
            now = utcnow()
            for sub in SAMPLE_SUBSCRIBERS:
                await chat_store.register_chat(db, sub.chat_id, type="group", title=sub.name, now=now)
                await subscription_store.add_subscription(db, sub.chat_id, sub.filter, thread_id=None, now=now)
            for name in DEMO_FEEDS:
                # backfill: a real first poll alerts nobody; the demo wants to show every alert.
                await feed_store.add_feed(db, f"{base_url}/{name}", now=now, backfill=10_000)

            out.write("Pantau demo — offline: bundled feeds on a loopback server, fresh temporary database\n")
            out.write("Sample subscribers:\n")
            for sub in SAMPLE_SUBSCRIBERS:
                out.write(f"  [{sub.name}] {sub.wants}\n")
            out.write("\n")

            async with Fetcher() as fetcher:
                poller = Poller(db, fetcher, interval=300)
                summary = await poller.poll_feeds(await feed_store.list_feeds(db))
                names = {sub.chat_id: sub.name for sub in SAMPLE_SUBSCRIBERS}
                per_chat = {sub.chat_id: 0 for sub in SAMPLE_SUBSCRIBERS}
                articles = sorted((a for a, _ in summary.stored), key=lambda a: (a.published_at or a.fetched_at, a.id))
                # Story id → (alert number, chats alerted): later reports of one incident are named in
                # its alert ("Juga diberitakan") rather than sent again.
                alerted: dict[int, tuple[int, set[int]]] = {}
                for number, article in enumerate(articles, 1):
                    matched = await delivery_store.recipients_of(db, article.id)
                    story = article.story_id
                    reports = await story_store.story_articles(db, story) if story is not None else []
                    first, chats = alerted.get(story, (0, set())) if story is not None else (0, set())
                    out.write(f"── Alert {number}/{len(articles)} " + "─" * 40 + "\n")
                    out.write(render_alert_text(article, None, also_reported(article, reports)) + "\n")
                    for chat_id, reason in matched:
                        per_chat[chat_id] += 1
                        chats.add(chat_id)
                        out.write(f"  → dikirim ke [{names[chat_id]}] ({reason})\n")
                    named = sorted(chats - {chat_id for chat_id, _ in matched})
                    if first and named:
                        listed = ", ".join(f"[{names[c]}]" for c in named)
                        out.write(
                            f"  → berita yang sama dengan Alert {first}: disebut di “Juga diberitakan” untuk {listed}\n"
                        )
                    elif not matched:
                        out.write("  → tidak cocok dengan langganan contoh mana pun\n")
                    if story is not None and story not in alerted and matched:
                        alerted[story] = (number, chats)
                    out.write("\n")
                out.write(f"First poll: {summary.line()}\n")
                for chat_id, count in per_chat.items():
                    out.write(f"  [{names[chat_id]}] {count} alerts\n")
                again = await poller.poll_feeds(await feed_store.list_feeds(db))
                out.write(f"Second poll (conditional GET; nothing new, nothing sent twice): {again.line()}\n")
        finally:
            await db.close()
    return 0
