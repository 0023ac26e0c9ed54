"""Every Telegram fault the sender handles, against the fake Bot API over real HTTP on 127.0.0.1 and
PTB's real HTTPXRequest stack (tests/test_delivery.py covers the same mapping in-process, in
simulated time). Timings are scaled down: flood waits of 1 s, backoff from 0.2 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from chat_fixtures import NOW, SOLO, classification, new_article, publish, title_of
from fake_botapi import TOKEN, FakeBotAPIServer, FakeBotCore
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.delivery.pacer import PacingPolicy
from bot.delivery.sender import SHORT_TEXT_MAX, Sender, telegram_length
from bot.models import SubscriptionFilter
from storage import chats as chat_store
from storage import deliveries as delivery_store
from storage import subscriptions as sub_store
from storage.db import Database, open_database
from storage.timeutil import utcnow


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@dataclass
class Live:
    core: FakeBotCore
    db: Database
    sender: Sender

    async def settle(self, within: float = 10.0) -> None:
        """Send, and wait out retries, until nothing is queued; bounded by `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            await self.sender.drain(within=within)
            due = await delivery_store.next_attempt_at(self.db)
            if due is None:
                return
            wait = max((due - utcnow()).total_seconds(), 0.01)
            assert time.monotonic() + wait < deadline, "outbox did not settle in time"
            await asyncio.sleep(wait)

    async def rows(self, chat_id: int) -> list[tuple[str, str | None]]:
        async with self.db.conn.execute(
            "SELECT status, last_error FROM deliveries WHERE chat_id = ? ORDER BY id", (chat_id,)
        ) as cursor:
            return [(r[0], r[1]) for r in await cursor.fetchall()]

    def sends(self, chat_id: int) -> list[tuple[int | None, float]]:
        return [(c.status, c.at) for c in self.core.calls_of("sendMessage") if c.params.get("chat_id") == chat_id]


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with FakeBotAPIServer() as server:
        db = await open_database(tmp_path / "p.db")
        # A short read timeout so the "timeout" fault (a 1.5 s hang) is a TimedOut, as on a bad network.
        bot = Bot(TOKEN, base_url=server.base_url, request=HTTPXRequest(read_timeout=0.5, connect_timeout=2.0))
        await bot.initialize()
        policy = PacingPolicy(
            private_interval=0.2, group_interval=0.2, backoff_base=0.2, backoff_jitter=0.0, max_attempts=3
        )
        yield Live(server.core, db, Sender(db, bot, policy=policy))
        await bot.shutdown()
        await db.close()


async def subscribe(db: Database, chat_id: int, *, cases: frozenset[str] = frozenset()) -> None:
    kind = "private" if chat_id > 0 else "supergroup"
    await chat_store.register_chat(db, chat_id, type=kind, title=None, now=NOW)
    await sub_store.add_subscription(db, chat_id, SubscriptionFilter(cases=cases), thread_id=None, now=NOW)


async def test_429_pauses_only_that_chat_for_the_time_telegram_asked(live: Live) -> None:
    await subscribe(live.db, 1)
    await subscribe(live.db, 2)
    live.core.fail_next("retry_after", chat_id=1, retry_after=1)
    await publish(live.db, new_article(1, classification(SOLO)))
    await live.settle()
    (first, flood_at), (second, retried_at) = live.sends(1)
    [(other, other_at)] = live.sends(2)
    assert (first, second, other) == (429, 200, 200)
    assert retried_at - flood_at >= 1.0  # waited as long as Telegram asked …
    assert other_at - flood_at < 0.5  # … while chat 2 did not wait at all
    assert await live.rows(1) == [("sent", "flood control: retry after 1s")]


@pytest.mark.parametrize(
    ("chat_id", "kind", "description"),
    [
        (1, "forbidden", "Forbidden: bot was blocked by the user"),
        (-5, "forbidden", "Forbidden: bot was kicked from the supergroup chat"),
        (1, "chat_not_found", None),
    ],
)
async def test_blocked_removed_or_missing_chat_is_deactivated_and_start_reactivates_it(
    live: Live, chat_id: int, kind: str, description: str | None
) -> None:
    await subscribe(live.db, chat_id)
    await subscribe(live.db, 2)
    live.core.fail_next(kind, chat_id=chat_id, description=description)
    await publish(live.db, new_article(1, classification(SOLO)), new_article(2, classification(SOLO)))
    await live.settle()
    assert [s for s, _ in live.sends(chat_id)] == [403 if kind == "forbidden" else 400]  # not tried again
    assert len(live.core.texts(2)) == 2
    chat = await chat_store.get_chat(live.db, chat_id)
    assert chat is not None and not chat.active and chat.inactive_reason
    assert len(await sub_store.list_subscriptions(live.db, chat_id)) == 1  # kept
    rows = await live.rows(chat_id)
    assert [s for s, _ in rows] == ["failed", "failed"] and all(e and "chat inactive" in e for _, e in rows)
    [(reason, count)] = await delivery_store.failure_reasons(live.db)  # what /stats shows
    assert count == 2 and any(word in reason.lower() for word in ("blocked", "kicked", "chat not found"))
    # /start registers the chat again: it is active and gets the next alert.
    await chat_store.register_chat(
        live.db, chat_id, type="private" if chat_id > 0 else "supergroup", title=None, now=NOW
    )
    await publish(live.db, new_article(3, classification(SOLO)))
    await live.settle()
    assert len(live.core.texts(chat_id)) == 1


async def test_migrated_group_moves_its_subscriptions_and_gets_the_alert_at_the_new_id(live: Live) -> None:
    await subscribe(live.db, -10)
    await subscribe(live.db, -10, cases=frozenset({"banjir"}))
    live.core.fail_next("migrate", chat_id=-10, migrate_to=-100010)
    await publish(live.db, new_article(1, classification(SOLO, ["banjir"])))
    await live.settle()
    assert len(live.core.texts(-100010)) == 1 and live.core.texts(-10) == []
    assert len(await sub_store.list_subscriptions(live.db, -100010)) == 2
    assert await sub_store.list_subscriptions(live.db, -10) == []
    assert await chat_store.get_chat(live.db, -10) is None
    assert await live.rows(-100010) == [("sent", None)]


async def test_html_refused_is_resent_as_plain_text(live: Live) -> None:
    await subscribe(live.db, 1)
    live.core.fail_next("parse_entities", chat_id=1)
    await publish(live.db, new_article(1, classification(SOLO), title="Harga <naik> & turun"))
    await live.settle()
    assert [s for s, _ in live.sends(1)] == [400, 200]
    [params] = live.core.sent(1)
    assert "parse_mode" not in params
    assert params["text"].startswith("Harga <naik> & turun\nhttps://berita.example/1")


async def test_too_long_by_telegrams_count_is_resent_shortened_once(live: Live) -> None:
    await subscribe(live.db, 1)
    live.core.fail_next("too_long", chat_id=1)  # e.g. longer than 4,096 once entities are parsed
    await publish(live.db, new_article(1, classification(SOLO), body="Isi berita. " * 400))
    await live.settle()
    assert [s for s, _ in live.sends(1)] == [400, 200]
    [params] = live.core.sent(1)
    assert "parse_mode" not in params and telegram_length(params["text"]) <= SHORT_TEXT_MAX
    assert params["text"].startswith(f"{title_of(1)}\nhttps://berita.example/1")
    assert await live.rows(1) == [("sent", None)]


async def test_too_long_even_shortened_fails_with_the_reason_instead_of_retrying(live: Live) -> None:
    await subscribe(live.db, 1)
    live.core.max_text_length = 50  # nothing we can send fits
    await publish(live.db, new_article(1, classification(SOLO)))
    await live.settle()
    assert [s for s, _ in live.sends(1)] == [400, 400]
    [(status, error)] = await live.rows(1)
    assert status == "failed" and error is not None and "too long" in error
    assert live.sender.stats.failed == 1


async def test_an_alert_never_exceeds_4096_characters(live: Live) -> None:
    await subscribe(live.db, 1)
    # Escaping makes "&" five characters and "😀" counts twice: the HTML would be far too long.
    title = "&😀" * 3000
    await publish(live.db, new_article(1, classification(SOLO), title=title, body="x" * 10_000))
    await live.settle()
    assert [s for s, _ in live.sends(1)] == [200]  # right the first time
    [text] = live.core.texts(1)
    assert telegram_length(text) <= 4096


@pytest.mark.parametrize("kind", ["server_error", "timeout"])
async def test_502_or_timeout_is_retried_with_backoff(live: Live, kind: str) -> None:
    await subscribe(live.db, 1)
    live.core.fail_next(kind, chat_id=1, hang=1.5)
    await publish(live.db, new_article(1, classification(SOLO)), now=utcnow())
    await live.settle()
    (first, first_at), (second, second_at) = live.sends(1)
    assert second == 200 and first in (502, None, 504)  # a timed-out call is answered after we gave up
    assert second_at - first_at >= 0.2  # backoff_base
    assert len(live.core.texts(1)) == 1
    [(status, error)] = await live.rows(1)
    assert status == "sent" and error is not None and ("Bad Gateway" in error or "Timed" in error)


async def test_502_every_time_is_retried_until_the_maximum_age_then_expired(live: Live) -> None:
    """A 5xx is never final by count (it used to fail after max_attempts): retried with exponential backoff
    until the alert is max_age old, then 'expired' with the reason."""
    live.sender = Sender(live.db, live.sender.bot, policy=replace(live.sender.policy, max_age=2.0))
    await subscribe(live.db, 1)
    live.core.fail_next("server_error", chat_id=1, times=100)
    queued = time.monotonic()
    await publish(live.db, new_article(1, classification(SOLO)), now=utcnow())
    await live.settle()
    calls = live.sends(1)
    assert len(calls) > 3 and {s for s, _ in calls} == {502}  # more than max_attempts
    gaps = [b - a for (_, a), (_, b) in zip(calls, calls[1:], strict=False)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8  # exponential from backoff_base
    # The last try at the maximum age, counted from queueing (stored to the second: up to 1 s earlier).
    assert calls[-1][1] - queued >= 2.0 - 1.0
    [(status, error)] = await live.rows(1)
    assert status == "expired" and error is not None and "Bad Gateway" in error and "undeliverable" in error
    assert (await delivery_store.count_by_status(live.db)) == {"expired": 1}
    assert live.sender.stats.expired == 1


async def test_an_outage_longer_than_every_backoff_loses_no_alert_and_resumes_in_order(live: Live) -> None:
    """Issue #12.1, scaled down: 20 chats, the Bot API answers 502 for longer than max_attempts backoffs
    last (which used to fail every row for good); when it is back every alert arrives, in order."""
    policy = replace(
        live.sender.policy, overall_rate=200.0, backoff_base=0.05, backoff_max=0.2, max_attempts=3, max_age=30.0
    )
    live.sender = Sender(live.db, live.sender.bot, policy=policy)
    chats = list(range(1, 21))
    for chat_id in chats:
        await subscribe(live.db, chat_id)
    live.core.fail_next("server_error", times=10_000)  # every chat, until cleared
    now = utcnow()
    await publish(live.db, new_article(1, classification(SOLO)), new_article(2, classification(SOLO)), now=now)
    task = asyncio.create_task(live.sender.run())
    # The outage lasts until every chat has been refused more often than max_attempts (which used to be final).
    deadline = time.monotonic() + 15
    while not all(len(live.sends(chat_id)) > policy.max_attempts for chat_id in chats):
        assert time.monotonic() < deadline, [len(live.sends(chat_id)) for chat_id in chats]
        await asyncio.sleep(0.05)
    assert set(await delivery_store.count_by_status(live.db)) <= {"pending", "sending"}  # none given up
    live.core.failures.clear()  # the Bot API is back
    try:
        deadline = time.monotonic() + 10
        while (await delivery_store.count_by_status(live.db)) != {"sent": 40}:
            assert time.monotonic() < deadline, await delivery_store.count_by_status(live.db)
            await asyncio.sleep(0.05)
    finally:
        await live.sender.stop()
        task.cancel()
    for chat_id in chats:
        # Two messages or, after the retries, one digest; either way each alert once, oldest first.
        joined = "\n".join(live.core.texts(chat_id))
        assert joined.count(f">{title_of(1)}<") == joined.count(f">{title_of(2)}<") == 1, chat_id
        assert joined.index(f">{title_of(1)}<") < joined.index(f">{title_of(2)}<"), chat_id
