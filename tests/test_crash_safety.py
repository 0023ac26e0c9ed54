"""Crash safety of `pantau run`: SIGKILL at random moments while a burst of alerts is being delivered.

The fake Bot API runs in this process (it records every sendMessage); `pantau run` is a subprocess
polling a loopback feed server. 60 chats × 4 articles = 240 alerts; the process is killed four times
during delivery (after a seeded-random number of alerts arrived) and restarted each time. Then:

- every alert reached its chat at least once (nothing lost);
- an alert arrived twice only if its row was 'sending' when the process was killed (the send was in
  flight: Telegram may have it, we never learned) and at most once more per such kill;
- every row ended 'sent', and SQLite's integrity_check is ok.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from chat_fixtures import title_of
from fake_botapi import TOKEN, FakeBotAPIServer
from feed_server import FeedServer
from test_telegram_e2e import Pantau, wait_for

from bot.delivery.pacer import PacingPolicy
from bot.models import SubscriptionFilter
from storage import chats as chat_store
from storage import feeds as feed_store
from storage import subscriptions as sub_store
from storage.db import open_database
from tests.processes import service_environ

CHATS = list(range(1001, 1061))  # 60 private chats
ARTICLES = 4  # per chat: under the digest threshold, so each alert is one message
KILLS = 4
SEED = int(os.environ.get("PANTAU_CRASH_SEED", "20261124"))
LINK = re.compile(r"https://warta\.example/crash-\d+")


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def burst_feed(now: datetime) -> bytes:
    items = "".join(
        f"<item><guid>crash-{n}</guid><link>https://warta.example/crash-{n}</link>"
        # Distinct made-up words per item: each is an incident of its own (a story), alerted once.
        f"<title>Kecelakaan {title_of(n)} di Solo</title>"
        f"<description>SOLO - Kecelakaan {title_of(n)} di Kota Surakarta.</description>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=n))}</pubDate></item>"
        for n in range(1, ARTICLES + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Warta Solo</title>'
        f"{items}</channel></rss>"
    ).encode()


def sqlite_rows(path: Path, query: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)  # the writer is dead: this also replays its WAL
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


async def test_sigkill_during_a_burst_loses_nothing_and_duplicates_only_in_flight_sends(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    # Kill after this many alerts reached Telegram, plus up to 50 ms.
    thresholds = sorted(rng.sample(range(15, len(CHATS) * ARTICLES - 30), KILLS))
    db_path = tmp_path / "pantau.db"
    started = time.monotonic()
    with FeedServer() as feeds:
        feeds.route("/burst.xml", body=burst_feed(datetime.now(UTC)))
        db = await open_database(db_path)
        now = datetime.now(UTC)
        # Its links name warta.example: no article pages (they would be looked up outside the machine).
        await feed_store.add_feed(db, feeds.url("/burst.xml"), now=now, backfill=ARTICLES, full_text="never")
        for chat_id in CHATS:
            await chat_store.register_chat(db, chat_id, type="private", title=None, now=now)
            await sub_store.add_subscription(db, chat_id, SubscriptionFilter(), thread_id=None, now=now)
        await db.close()

        async with FakeBotAPIServer() as api:
            core = api.core
            core.delay = 0.03  # each send takes a moment, so kills find sends in flight
            env = service_environ(
                db_path,
                api_base_url=api.base_url,
                token=TOKEN,
                PANTAU_POLL_INTERVAL="1",
                PANTAU_SEND_RATE="200",
                PANTAU_LOG_LEVEL="INFO",
            )
            bot = Pantau(env, tmp_path / "pantau.log")
            in_flight_at_kill: list[set[tuple[int, str]]] = []
            await bot.start()
            try:
                for threshold in thresholds:
                    await wait_for(lambda t=threshold: len(core.sent()) >= t, 30, f"{threshold} alerts")
                    await asyncio.sleep(rng.uniform(0, 0.05))
                    assert bot.process is not None
                    bot.process.kill()
                    await bot.process.wait()
                    in_flight_at_kill.append(
                        {
                            (int(chat), str(link))
                            for chat, link in sqlite_rows(
                                db_path,
                                "SELECT d.chat_id, a.url FROM deliveries d JOIN articles a ON a.id = d.article_id"
                                " WHERE d.status = 'sending'",
                            )
                        }
                    )
                    await bot.start()
                expected = len(CHATS) * ARTICLES

                def drained() -> bool:
                    rows = sqlite_rows(db_path, "SELECT status, count(*) FROM deliveries GROUP BY status")
                    return dict(rows) == {"sent": expected}  # type: ignore[arg-type]

                await wait_for(drained, 30, "the outbox to drain")
            finally:
                code = await bot.stop()
            assert code == 0

    context = f"seed={SEED} kills after {thresholds} alerts; in flight at each kill: {in_flight_at_kill}"
    received: Counter[tuple[int, str]] = Counter()
    for params in core.sent():
        for link in set(LINK.findall(params["text"])):
            received[(params["chat_id"], link)] += 1
    wanted = {(chat, f"https://warta.example/crash-{n}") for chat in CHATS for n in range(1, ARTICLES + 1)}
    assert set(received) == wanted, f"lost: {sorted(wanted - set(received))[:10]}; {context}"
    for key, count in received.items():
        kills_in_flight = sum(key in flight for flight in in_flight_at_kill)
        assert count - 1 <= kills_in_flight, (
            f"{key} arrived {count}× but was in flight at {kills_in_flight} kills; {context}"
        )
    duplicates = sum(received.values()) - len(received)
    # One chat has at most one send in flight, so a kill duplicates at most one alert per chat.
    assert duplicates <= sum(len(flight) for flight in in_flight_at_kill), context
    assert sqlite_rows(db_path, "PRAGMA integrity_check") == [("ok",)]
    assert sqlite_rows(db_path, "SELECT count(*) FROM deliveries WHERE status IN ('sending', 'pending')") == [(0,)]
    log = (tmp_path / "pantau.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    assert time.monotonic() - started < 60, context
    print(f"crash test: {context}; duplicates={duplicates}; took {time.monotonic() - started:.1f}s")


async def test_a_bug_while_sending_does_not_leave_rows_stuck_in_sending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a kill: an unexpected exception in one send requeues its rows (they used to stay 'sending'
    until the next restart, invisible to the sender and to /stats)."""
    from chat_fixtures import NOW, SOLO, classification, new_article, publish
    from fake_botapi import FakeBotCore, FakeRequest
    from telegram import Bot

    import bot.delivery.sender as delivery
    from storage import deliveries as delivery_store

    db = await open_database(tmp_path / "p.db")
    await chat_store.register_chat(db, 1, type="private", title=None, now=NOW)
    await sub_store.add_subscription(db, 1, SubscriptionFilter(), thread_id=None, now=NOW)
    await publish(db, new_article(1, classification(SOLO)))
    real = delivery.render_alert_html
    calls = 0

    def broken_once(*args: object, **kwargs: object) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(delivery, "render_alert_html", broken_once)
    core = FakeBotCore()
    sender = delivery.Sender(db, Bot(TOKEN, request=FakeRequest(core)), policy=PacingPolicy(backoff_base=0.1))
    for _ in range(20):  # the failed send is retried after backoff(1) = 0.1 s
        await sender.drain()
        if core.texts(1):
            break
        await asyncio.sleep(0.05)
    [row] = await delivery_store.get_deliveries(db, [1])
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "RuntimeError: a bug")
    assert len(core.texts(1)) == 1
    await db.close()


async def test_a_bug_on_every_try_ends_failed_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chat_fixtures import NOW, SOLO, classification, new_article, publish
    from fake_botapi import FakeBotCore, FakeRequest
    from telegram import Bot

    import bot.delivery.sender as delivery
    from storage import deliveries as delivery_store

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("always")

    db = await open_database(tmp_path / "p.db")
    await chat_store.register_chat(db, 1, type="private", title=None, now=NOW)
    await sub_store.add_subscription(db, 1, SubscriptionFilter(), thread_id=None, now=NOW)
    await publish(db, new_article(1, classification(SOLO)))
    monkeypatch.setattr(delivery, "render_alert_html", broken)
    policy = PacingPolicy(backoff_base=0.05, max_attempts=2)
    sender = delivery.Sender(db, Bot(TOKEN, request=FakeRequest(FakeBotCore())), policy=policy)
    for _ in range(20):
        await sender.drain()
        if await delivery_store.next_attempt_at(db) is None:
            break
        await asyncio.sleep(0.05)
    [row] = await delivery_store.get_deliveries(db, [1])
    assert (row.status, row.attempts, row.last_error) == ("failed", 2, "RuntimeError: always (after 2 attempts)")
    assert sender.stats.failed == 1
    await db.close()
