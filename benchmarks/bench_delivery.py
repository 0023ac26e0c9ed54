"""Scenario 6: delivery through a fake Bot API that enforces Telegram's limits (scaled ×10).

    python -m benchmarks.bench_delivery [--chats 2000] [--per-chat 2] [--scale 10] [--items 30]

(a) burst: the product's `bot.delivery.sender.Sender` with PTB's real `Bot` + HTTPXRequest against
    tests/fake_botapi.py's HTTP server on 127.0.0.1, whose core here also *enforces* the limits: more than
    `overall` sendMessage arrivals in any 1-second window, or two to one chat closer than the chat's
    interval, answer 429 retry_after. Limits ×10: 250/s overall, 10/s per private chat, 200/min per group.
    Reported: achieved rate (arrivals over the burst), 429 count, smallest per-chat gap seen.
(b) end to end: one feed on a loopback HTTP server, the product's poll loop (bot.ingest.loop.PollLoop, wake the
    sender, sleep until the next feed is due, 1 s ≤ sleep ≤ min(5 s, interval) — as bot/runtime/telegram_app.py runs it)
    with a 2 s poll interval and `Sender.run`;
    items appear at random moments; latency = item published on the server → its sendMessage arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import Table, emit, write_tables
from benchmarks.prime import PAST


def _rate_core(overall: float, private_interval: float, group_interval: float):
    from tests.fake_botapi import FakeBotCore

    class RateLimitedCore(FakeBotCore):
        """FakeBotCore that answers 429 when Telegram's (scaled) limits are exceeded."""

        def __post_init__(self) -> None:
            super().__post_init__()
            self.window: deque[float] = deque()
            self.last: dict[Any, float] = {}
            self.min_gap: dict[str, float] = {"private": float("inf"), "group": float("inf")}
            self.answers_429 = 0
            self.arrivals: list[float] = []

        async def handle(
            self, method: str, params: dict[str, Any], files: dict[str, tuple[str, bytes]] | None = None
        ) -> tuple[int, dict[str, Any]]:
            if method == "sendMessage":
                now = time.monotonic()
                chat = params.get("chat_id")
                kind = "private" if isinstance(chat, int) and chat > 0 else "group"
                while self.window and self.window[0] <= now - 1.0:
                    self.window.popleft()
                gap = now - self.last.get(chat, -1e9)
                self.min_gap[kind] = min(self.min_gap[kind], gap)
                limit_gap = private_interval if kind == "private" else group_interval
                if len(self.window) >= overall or gap < limit_gap:
                    self.answers_429 += 1
                    return self._error(429, "Too Many Requests: retry after 1", retry_after=1)
                self.window.append(now)
                self.last[chat] = now
                self.arrivals.append(now)
            return await super().handle(method, params, files)

    return RateLimitedCore(chat_types={})


async def _bot(base_url: str):
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from tests.fake_botapi import TOKEN

    bot = Bot(TOKEN, base_url=base_url, request=HTTPXRequest(connection_pool_size=32))
    await bot.initialize()
    return bot


def _made_up(i: int) -> str:
    syllables = ("ka", "lo", "mi", "pu", "re", "sa", "tu", "wi", "go", "de", "ni", "ba", "ro", "ke", "ja", "hu")
    out, i = "", i + 300
    while i:
        out += syllables[i % 16]
        i //= 16
    return out.title()


def burst_tables(args: argparse.Namespace) -> list[Table]:
    """The burst's outbox: `per_chat` alerts to each of `chats` chats (half private, half groups), due now."""
    chats = [(i + 1 if i % 2 == 0 else -1000000 - i) for i in range(args.chats)]
    articles = range(args.per_chat)
    return [
        (
            "chats",
            ("id", "type", "created_at", "updated_at"),
            [(c, "private" if c > 0 else "supergroup", PAST, PAST) for c in chats],
        ),
        # Each article is a story of its own, as an alert's article is: the sender reads the story's
        # reports for "Juga diberitakan" when it sends the alert.
        (
            "stories",
            ("id", "title", "first_at", "last_at", "reports", "outlets", "created_at", "updated_at"),
            [(a + 1, f"Judul berita {a}", PAST, PAST, 1, '["Bench"]', PAST, PAST) for a in articles],
        ),
        (
            "articles",
            (
                "id",
                "link",
                "url",
                "title",
                "body",
                "source",
                "fetched_at",
                "cases",
                "sentiment",
                "confidence",
                "story_id",
            ),
            [
                (
                    a + 1,
                    f"https://b.example/{a}",
                    f"https://b.example/{a}",
                    f"Judul berita {a}",
                    "Isi berita singkat.",
                    "Bench",
                    PAST,
                    "[]",
                    "neutral",
                    50,
                    a + 1,
                )
                for a in articles
            ],
        ),
        (
            "deliveries",
            ("chat_id", "article_id", "next_attempt_at", "created_at", "story_id"),
            [(c, a + 1, PAST, PAST, a + 1) for a in articles for c in chats],
        ),
    ]


async def burst(args: argparse.Namespace, path: Path | str) -> dict:
    """The burst on an SQLite file (a path) or a PostgreSQL database (a URL: benchmarks.bench_pg)."""
    from bot.delivery.pacer import PacingPolicy
    from bot.delivery.sender import Sender
    from storage.db import open_database
    from tests.fake_botapi import FakeBotAPIServer

    overall, private_iv, group_iv = 25.0 * args.scale, 1.0 / args.scale, 3.0 / args.scale
    await (await open_database(path)).close()
    write_tables(path, burst_tables(args))
    core = _rate_core(overall, private_iv, group_iv)
    policy = PacingPolicy(overall_rate=overall, private_interval=private_iv, group_interval=group_iv)
    async with FakeBotAPIServer(core) as server:
        bot = await _bot(server.base_url)
        db = await open_database(path)
        sender = Sender(db, bot, policy=policy)
        t0 = time.perf_counter()
        await sender.drain(within=600)
        wall = time.perf_counter() - t0
        await db.close()
        await bot.shutdown()
    arr = core.arrivals
    rate = (len(arr) - 1) / (arr[-1] - arr[0]) if len(arr) > 1 else 0.0
    return {
        "chats": args.chats,
        "messages": len(arr),
        "queued": args.chats * args.per_chat,
        "overall_rate": overall,
        "private_interval": private_iv,
        "group_interval": group_iv,
        "achieved_rate": round(rate, 1),
        "rate_pct": round(100 * rate / overall, 1),
        "wall_s": round(wall, 2),
        "answers_429": core.answers_429,
        "sent": sender.stats.messages,
        "failed": sender.stats.failed,
        "min_gap_private_s": round(core.min_gap["private"], 4),
        "min_gap_group_s": round(core.min_gap["group"], 4),
        "pacing_kept": core.min_gap["private"] >= private_iv and core.min_gap["group"] >= group_iv,
    }


async def latency(args: argparse.Namespace, path: Path) -> dict:
    from aiohttp import web

    from bot.delivery.pacer import PacingPolicy
    from bot.delivery.sender import Sender
    from bot.feeds.fetcher import Fetcher
    from bot.ingest.loop import DEFAULT_TICK, PollLoop
    from bot.ingest.poller import Poller, PollSummary
    from bot.models import SubscriptionFilter
    from storage import chats as chat_store
    from storage import feeds as feed_store
    from storage import subscriptions as sub_store
    from storage.db import open_database
    from tests.fake_botapi import FakeBotAPIServer, FakeBotCore

    items: list[tuple[str, str]] = [("0", "Berita awal")]
    appeared: dict[str, float] = {}

    async def feed(_: web.Request) -> web.Response:
        body = "".join(
            f"<item><title>{t}</title><link>https://lat.example/{g}</link><guid>{g}</guid>"
            f"<description>{t}</description></item>"
            for g, t in reversed(items[-20:])
        )
        xml = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Lat</title>{body}</channel></rss>'
        return web.Response(text=xml, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed", feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    interval = args.interval
    db = await open_database(path)
    now = datetime.now(UTC)
    f = await feed_store.add_feed(db, f"http://127.0.0.1:{port}/feed", now=now, name="Lat")
    await chat_store.ensure_chat(db, 77, type="private", title=None, now=now)
    await sub_store.add_subscription(db, 77, SubscriptionFilter(), thread_id=None, now=now)
    core = FakeBotCore()
    async with FakeBotAPIServer(core) as server, Fetcher() as fetcher:
        bot = await _bot(server.base_url)
        poller = Poller(db, fetcher, interval=interval)
        sender = Sender(db, bot, policy=PacingPolicy())
        await poller.poll_due()  # first poll: alerts nobody (the feed's existing items)
        assert (await feed_store.get_feed(db, f.id)).initial_polled
        send_task = asyncio.create_task(sender.run())

        def wake(summary: PollSummary) -> None:  # as bot/runtime/telegram_app.py's _poll_loop
            if summary.queued:
                sender.wake()

        poll_task = asyncio.create_task(PollLoop(poller, wake, tick=min(DEFAULT_TICK, float(interval))).run())
        rng = random.Random(17)
        for i in range(1, args.items + 1):
            await asyncio.sleep(rng.uniform(0.3, interval * 1.5))
            guid = f"g{i}"
            # A different incident each time (made-up words): near-identical items would be one story,
            # alerted once and then only edited.
            word = _made_up(i)
            items.append((guid, f"Kebakaran {word} {_made_up(i + 1000)} di Sukoharjo"))
            appeared[f"Kebakaran {word} "] = time.monotonic()
        deadline = time.monotonic() + 3 * interval + 10
        while time.monotonic() < deadline and len(core.calls_of("sendMessage")) < args.items:  # noqa: ASYNC110 (polls the fake server's call log)
            await asyncio.sleep(0.1)
        poll_task.cancel()
        await sender.stop()
        send_task.cancel()
        for t in (poll_task, send_task):
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await bot.shutdown()
    await runner.cleanup()
    await db.close()
    lat = []
    for call in core.calls_of("sendMessage"):
        text = str(call.params.get("text", ""))
        for key, at in appeared.items():
            if key in text:
                lat.append(call.at - at)
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(round(q * (len(lat) - 1))))] if lat else float("nan")  # noqa: E731
    return {
        "poll_interval_s": interval,
        "items": args.items,
        "n": len(lat),
        "p50_s": round(p(0.5), 2),
        "p95_s": round(p(0.95), 2),
        "max_s": round(max(lat), 2) if lat else None,
        "missing": args.items - len(lat),
    }


async def _run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="pantau-bench-") as tmp:
        b = await burst(args, Path(tmp) / "burst.db")
        e = await latency(args, Path(tmp) / "lat.db")
    return {"burst": b, "latency": e}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=2000)
    parser.add_argument("--per-chat", type=int, default=2)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--items", type=int, default=30)
    emit(asyncio.run(_run(parser.parse_args())))


if __name__ == "__main__":
    main()
