"""The sender: pacing policy (pure, fake clock) and failure handling against the in-process fake Bot API."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chat_fixtures import NOW, SOLO, Clock, classification, new_article, publish, title_of
from fake_botapi import TOKEN, FakeBotCore, FakeRequest
from telegram import Bot

from bot.delivery.pacer import Batch, Pacer, PacingPolicy
from bot.delivery.sender import Sender
from bot.delivery.telegram_errors import Action, classify_send_error
from bot.models import SubscriptionFilter
from storage import chats as chat_store
from storage import deliveries as delivery_store
from storage import subscriptions as sub_store
from storage.db import Database, open_database
from storage.deliveries import Delivery


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


class Mono:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def row(i: int, chat_id: int, *, chat_type: str = "private", thread_id: int | None = None) -> Delivery:
    return Delivery(
        id=i,
        chat_id=chat_id,
        article_id=i,
        thread_id=thread_id,
        reason="",
        status="pending",
        attempts=0,
        next_attempt_at=NOW,
        last_error=None,
        chat_type=chat_type,
    )


# ---- the pure policy -------------------------------------------------------------------------------
def simulate(pacer: Pacer, rows: list[Delivery], *, latency: float = 0.05) -> list[tuple[float, Batch]]:
    """Drive the pacer in simulated time until every row is handed out; returns (send time, batch)."""
    now = 0.0
    pending = list(rows)
    sent: list[tuple[float, Batch]] = []
    in_flight: list[tuple[float, Batch]] = []
    for _ in range(100_000):
        for done_at, batch in [f for f in in_flight if f[0] <= now]:
            pacer.done(batch, done_at)
            in_flight.remove((done_at, batch))
        plan = pacer.plan(pending, now)
        for batch in plan.batches:
            sent.append((now, batch))
            in_flight.append((now + latency, batch))
            pending = [r for r in pending if r.id not in batch.ids]
        if not pending and not in_flight:
            return sent
        moments = [t for t, _ in in_flight] + ([plan.wake_at] if plan.wake_at is not None else [])
        now = max(now + 1e-6, min(moments))
    raise AssertionError("simulation did not finish")


def test_burst_of_100_alerts_to_10_chats_respects_every_limit_with_default_policy() -> None:
    policy = PacingPolicy(digest_threshold=None)  # measure pacing alone: every alert is its own message
    chats = [(100 + i, "private") for i in range(5)] + [(-100 - i, "supergroup") for i in range(5)]
    rows = [row(n, chats[n % 10][0], chat_type=chats[n % 10][1]) for n in range(100)]
    sent = simulate(Pacer(policy), rows)
    assert sorted(r.id for _, b in sent for r in b.rows) == list(range(100))
    times = [t for t, _ in sent]
    # Overall: no one-second window holds more than overall_rate messages.
    for start in times:
        assert sum(1 for t in times if start <= t < start + 1.0) <= policy.overall_rate
    per_chat: dict[int, list[float]] = defaultdict(list)
    for t, batch in sent:
        per_chat[batch.chat_id].append(t)
    for chat_id, moments in per_chat.items():
        gaps = [b - a for a, b in zip(moments, moments[1:], strict=False)]
        assert min(gaps) >= (1.0 if chat_id > 0 else 3.0) - 1e-9
        if chat_id < 0:  # 20 per minute per group
            for start in moments:
                assert sum(1 for t in moments if start <= t < start + 60.0) <= 20
    # And order: each chat gets its alerts oldest first.
    for chat_id in per_chat:
        ids = [b.rows[0].id for _, b in sent if b.chat_id == chat_id]
        assert ids == sorted(ids)


def test_overall_rate_binds_when_many_chats_are_ready() -> None:
    policy = PacingPolicy(overall_rate=25.0, digest_threshold=None)
    rows = [row(n, 1000 + n) for n in range(200)]  # 200 different private chats, one alert each
    sent = simulate(Pacer(policy), rows, latency=0.3)
    times = [t for t, _ in sent]
    for start in times:
        assert sum(1 for t in times if start <= t < start + 1.0) <= 25
    # …and it does not go slower than needed: evenly spaced at the rate less the jitter allowance (3 %).
    assert times[-1] == pytest.approx(199 * policy.spacing)
    assert times[-1] <= 199 / 25.0 * 1.031


def test_more_than_five_due_for_one_chat_become_one_digest() -> None:
    pacer = Pacer(PacingPolicy())
    rows = [row(n, 7) for n in range(1, 9)] + [row(20, 8)]
    [first] = pacer.plan(rows, 0.0).batches
    assert first.chat_id == 7 and first.digest and first.ids == list(range(1, 9))
    plan = pacer.plan(rows, 0.01)
    assert plan.batches == [] and plan.wake_at == pytest.approx(1.03 / 25)  # overall spacing: 1/25 s + 3 %
    [second] = pacer.plan(rows, plan.wake_at).batches
    assert second.chat_id == 8 and not second.digest


def test_five_or_fewer_go_one_by_one() -> None:
    sent = simulate(Pacer(PacingPolicy()), [row(n, 7) for n in range(1, 6)])
    assert [b.ids for _, b in sent] == [[1], [2], [3], [4], [5]]


def test_alerts_within_a_minute_of_earlier_ones_join_a_digest() -> None:
    pacer = Pacer(PacingPolicy())
    for n in range(1, 5):  # four alerts sent one by one, two seconds apart
        [batch] = pacer.plan([row(n, 7)], 2.0 * n).batches
        pacer.done(batch, 2.0 * n + 0.1)
    plan = pacer.plan([row(10, 7), row(11, 7), row(12, 7)], 10.0)  # 4 recent + 3 due > 5
    assert plan.batches[0].ids == [10, 11, 12]
    pacer.done(plan.batches[0], 10.1)
    [later] = pacer.plan([row(13, 7), row(14, 7), row(15, 7)], 200.0).batches  # the window has passed
    assert later.ids == [13]


def test_a_digest_of_two_would_save_one_message_so_they_go_singly() -> None:
    pacer = Pacer(PacingPolicy())
    for n in range(1, 5):
        [batch] = pacer.plan([row(n, 7)], 2.0 * n).batches
        pacer.done(batch, 2.0 * n + 0.1)
    [single] = pacer.plan([row(10, 7), row(11, 7)], 10.0).batches  # 4 recent + 2 due > 5, but only two
    assert single.ids == [10]


def test_digest_only_joins_one_topic() -> None:
    pacer = Pacer(PacingPolicy())
    rows = [row(n, -5, chat_type="supergroup", thread_id=1 if n % 2 else 2) for n in range(1, 9)]
    [batch] = pacer.plan(rows, 0.0).batches
    assert batch.thread_id == 1 and batch.ids == [1, 3, 5, 7]


def test_pause_holds_only_that_chat() -> None:
    pacer = Pacer(PacingPolicy())
    pacer.pause(7, 30.0)
    plan = pacer.plan([row(1, 7), row(2, 8)], 0.0)
    assert [b.chat_id for b in plan.batches] == [8]
    assert plan.wake_at == 30.0


def test_a_chat_with_a_send_in_flight_waits_for_it() -> None:
    pacer = Pacer(PacingPolicy())
    [first] = pacer.plan([row(1, 7)], 0.0).batches
    assert pacer.plan([row(2, 7)], 5.0).batches == []  # still in flight after 5 s (slow server)
    pacer.done(first, 5.0)
    assert pacer.plan([row(2, 7)], 5.5).batches == []  # next slot counts from completion
    assert [b.ids for b in pacer.plan([row(2, 7)], 6.0).batches] == [[2]]


@pytest.mark.parametrize(
    ("error", "action"),
    [
        ("forbidden", Action.DEACTIVATE),
        ("chat_not_found", Action.DEACTIVATE),
        ("retry_after", Action.WAIT),
        ("migrate", Action.MIGRATE),
        ("parse_entities", Action.PLAIN_TEXT),
        ("server_error", Action.OUTAGE),
    ],
)
async def test_error_mapping_from_real_ptb_exceptions(error: str, action: Action) -> None:
    core = FakeBotCore()
    core.fail_next(error, retry_after=3, migrate_to=-100200)
    bot = Bot(TOKEN, request=FakeRequest(core))
    with pytest.raises(Exception) as caught:
        await bot.send_message(5, "x")
    failure = classify_send_error(caught.value)
    assert failure.action is action
    if action is Action.WAIT:
        assert failure.delay == 3
    if action is Action.MIGRATE:
        assert failure.new_chat_id == -100200


# ---- the sender against the fake Bot API ---------------------------------------------------------
class Rig:
    def __init__(self, db: Database, core: FakeBotCore, sender: Sender, mono: Mono, wall: Clock) -> None:
        self.db, self.core, self.sender, self.mono, self.wall = db, core, sender, mono, wall

    async def run(self, max_rounds: int = 1000) -> None:
        """Step the sender in simulated time until nothing is due now or later."""
        for _ in range(max_rounds):
            delay = await self.sender.step()
            if self.sender._tasks:
                await asyncio.wait(set(self.sender._tasks))
                continue
            if await delivery_store.next_attempt_at(self.db) is None:
                return
            step = max(delay, 0.01)
            self.mono.t += step
            self.wall.advance(step)
        raise AssertionError("sender did not settle")

    async def status(self) -> dict[str, int]:
        return await delivery_store.count_by_status(self.db)


@pytest.fixture
async def rig(tmp_path: Path) -> Rig:
    db = await open_database(tmp_path / "p.db")
    core = FakeBotCore()
    mono, wall = Mono(), Clock()
    bot = Bot(TOKEN, request=FakeRequest(core))
    await bot.initialize()
    sender = Sender(db, bot, clock=mono, wall_clock=wall, policy=PacingPolicy(backoff_base=2.0, max_attempts=3))
    yield Rig(db, core, sender, mono, wall)
    await bot.shutdown()
    await db.close()


async def subscribe(
    db: Database, chat_id: int, flt: SubscriptionFilter | None = None, *, thread_id: int | None = None
) -> None:
    kind = "private" if chat_id > 0 else "supergroup"
    await chat_store.register_chat(db, chat_id, type=kind, title=None, now=NOW)
    await sub_store.add_subscription(db, chat_id, flt or SubscriptionFilter(), thread_id=thread_id, now=NOW)


async def test_each_alert_is_sent_once_in_order(rig: Rig) -> None:
    await subscribe(rig.db, 1, SubscriptionFilter(area_codes=frozenset({"33.72"})))
    await subscribe(rig.db, 1, SubscriptionFilter(cases=frozenset({"kebakaran"})))  # also matches
    await publish(rig.db, *[new_article(n, classification(SOLO, ["kebakaran"])) for n in range(1, 4)])
    await rig.run()
    texts = rig.core.texts(1)
    assert len(texts) == 3
    assert [t.split("</a>")[0].rsplit(">", 1)[1] for t in texts] == [title_of(1), title_of(2), title_of(3)]
    assert await rig.status() == {"sent": 3}
    # A fresh sender (a restart) finds nothing to send.
    again = Sender(rig.db, rig.sender.bot, clock=rig.mono, wall_clock=rig.wall)
    await again.drain()
    assert len(rig.core.texts(1)) == 3


async def test_burst_for_one_chat_becomes_a_digest(rig: Rig) -> None:
    await subscribe(rig.db, 1)
    await publish(rig.db, *[new_article(n, classification(SOLO, ["banjir"])) for n in range(1, 9)])
    await rig.run()
    [digest] = rig.core.texts(1)
    assert "8 berita baru" in digest
    for n in range(1, 9):
        assert f'<a href="https://berita.example/{n}">{title_of(n)}</a>' in digest
    assert "Kota Surakarta · Banjir" in digest
    async with rig.db.conn.execute("SELECT DISTINCT digest, message_id FROM deliveries") as cur:
        assert len(list(await cur.fetchall())) == 1


async def test_retry_after_pauses_only_that_chat(rig: Rig) -> None:
    await subscribe(rig.db, 1)
    await subscribe(rig.db, 2)
    rig.core.fail_next("retry_after", chat_id=1, retry_after=7)
    await publish(rig.db, new_article(1, classification(SOLO)))
    start = rig.mono.t
    await rig.run()
    calls = [(c.params["chat_id"], c.status) for c in rig.core.calls_of("sendMessage")]
    assert calls == [(1, 429), (2, 200), (1, 200)]  # chat 2 did not wait for chat 1's flood pause
    assert rig.mono.t - start >= 7.0  # chat 1 waited as long as Telegram asked
    async with rig.db.conn.execute("SELECT attempts FROM deliveries WHERE chat_id = 1") as cur:
        assert (await cur.fetchone())[0] == 1  # a flood wait is not a failed attempt


@pytest.mark.parametrize("kind", ["forbidden", "chat_not_found"])
async def test_blocked_or_missing_chat_is_deactivated(rig: Rig, kind: str) -> None:
    await subscribe(rig.db, 1)
    await subscribe(rig.db, 2)
    rig.core.fail_next(kind, chat_id=1)
    await publish(rig.db, new_article(1, classification(SOLO)), new_article(2, classification(SOLO)))
    await rig.run()
    chat = await chat_store.get_chat(rig.db, 1)
    assert chat is not None and not chat.active
    assert len(await sub_store.list_subscriptions(rig.db, 1)) == 1  # kept for /start
    assert len(rig.core.texts(2)) == 2
    async with rig.db.conn.execute("SELECT status, last_error FROM deliveries WHERE chat_id = 1") as cur:
        rows = list(await cur.fetchall())
    assert {r[0] for r in rows} == {"failed"} and all(r[1] for r in rows)
    # Nothing new is queued for the inactive chat.
    assert (await publish(rig.db, new_article(3, classification(SOLO)))).queued == 1


async def test_migrated_group_gets_the_alert_at_its_new_id(rig: Rig) -> None:
    await subscribe(rig.db, -10)
    rig.core.fail_next("migrate", chat_id=-10, migrate_to=-100010)
    await publish(rig.db, new_article(1, classification(SOLO)))
    await rig.run()
    assert len(rig.core.texts(-100010)) == 1
    assert [s.chat_id for s in await sub_store.list_subscriptions(rig.db, -100010)] == [-100010]
    assert await rig.status() == {"sent": 1}


async def test_html_refused_is_resent_as_plain_text(rig: Rig) -> None:
    await subscribe(rig.db, 1)
    rig.core.fail_next("parse_entities", chat_id=1)
    await publish(rig.db, new_article(1, classification(SOLO), title="A <b> & co"))
    await rig.run()
    [params] = rig.core.sent(1)
    assert "parse_mode" not in params and params["text"].startswith("A <b> & co\nhttps://berita.example/1")


async def test_deleted_topic_falls_back_to_the_chat(rig: Rig) -> None:
    await subscribe(rig.db, -20, thread_id=5)
    rig.core.fail_next("bad_request", chat_id=-20, description="Bad Request: message thread not found")
    await publish(rig.db, new_article(1, classification(SOLO)))
    await rig.run()
    [params] = rig.core.sent(-20)
    assert "message_thread_id" not in params


async def test_network_errors_are_retried_until_the_maximum_age_then_expired(rig: Rig) -> None:
    policy = PacingPolicy(backoff_base=2.0, backoff_jitter=0.0, max_age=60.0)
    rig.sender = Sender(rig.db, rig.sender.bot, clock=rig.mono, wall_clock=rig.wall, policy=policy)
    await subscribe(rig.db, 1)
    rig.core.fail_next("server_error", chat_id=1, times=100)
    await publish(rig.db, new_article(1, classification(SOLO)))
    start = rig.mono.t
    await rig.run()
    calls = [c.at for c in rig.core.calls_of("sendMessage")]
    # Backoff 2, 4, 8, 16, then the last try exactly at the maximum age (30 s left, not 32).
    assert len(calls) == 6
    assert rig.mono.t - start >= 60.0
    async with rig.db.conn.execute("SELECT status, last_error FROM deliveries") as cur:
        status, error = await cur.fetchone()
    assert status == "expired" and "Bad Gateway" in error and "undeliverable for 1 min" in error
    assert rig.sender.stats.expired == 1 and rig.sender.stats.failed == 0


async def test_an_unexpected_error_is_retried_a_bounded_number_of_times(rig: Rig) -> None:
    """Only the Bot API being down is retried until max_age; an error we cannot name ends failed."""
    await subscribe(rig.db, 1)
    rig.core.fail_next("bad_request", chat_id=1, description="Bad Request: something new", times=10)
    await publish(rig.db, new_article(1, classification(SOLO)))
    await rig.run()
    assert len(rig.core.calls_of("sendMessage")) == 1  # a BadRequest is Telegram's definite refusal
    assert await rig.status() == {"failed": 1}


async def test_transient_error_then_success(rig: Rig) -> None:
    await subscribe(rig.db, 1)
    rig.core.fail_next("server_error", chat_id=1, times=1)
    await publish(rig.db, new_article(1, classification(SOLO)))
    await rig.run()
    assert len(rig.core.texts(1)) == 1 and await rig.status() == {"sent": 1}


async def test_slow_chat_does_not_hold_up_the_others(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "p.db")
    core = FakeBotCore(slow_chats={1: 1.0})
    bot = Bot(TOKEN, request=FakeRequest(core))
    for chat in (1, 2, 3):
        await subscribe(db, chat)
    await publish(db, new_article(1, classification(SOLO)))
    sender = Sender(db, bot)
    task = asyncio.create_task(sender.drain())
    await asyncio.sleep(0.3)
    assert {p["chat_id"] for p in core.sent()} == {2, 3}  # sent while chat 1's request hangs
    await task
    assert len(core.sent()) == 3
    await db.close()


async def test_interrupted_send_is_recovered_on_start(rig: Rig) -> None:
    await subscribe(rig.db, 1)
    await publish(rig.db, new_article(1, classification(SOLO)))
    [due] = await delivery_store.due_deliveries(rig.db, rig.wall())
    await delivery_store.mark_sending(rig.db, [due.id])  # the process died here
    assert await delivery_store.due_deliveries(rig.db, rig.wall()) == []
    task = asyncio.create_task(rig.sender.run())
    for _ in range(100):
        await asyncio.sleep(0.01)
        if rig.core.texts(1):
            break
    await rig.sender.stop()
    task.cancel()
    assert len(rig.core.texts(1)) == 1
    assert await rig.status() == {"sent": 1}


async def test_stop_waits_for_sends_in_flight(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "p.db")
    core = FakeBotCore(delay=0.3)
    bot = Bot(TOKEN, request=FakeRequest(core))
    await subscribe(db, 1)
    await publish(db, new_article(1, classification(SOLO)))
    sender = Sender(db, bot)
    task = asyncio.create_task(sender.run())
    await asyncio.sleep(0.1)
    await sender.stop()
    await task
    assert await delivery_store.count_by_status(db) == {"sent": 1}
    await db.close()


async def test_paused_chat_holds_its_queue_until_resumed(rig: Rig) -> None:
    await subscribe(rig.db, 1)
    await publish(rig.db, new_article(1, classification(SOLO)))
    await chat_store.set_paused(rig.db, 1, True, now=NOW)
    await rig.run()
    assert rig.core.texts(1) == [] and await rig.status() == {"pending": 1}
    await chat_store.set_paused(rig.db, 1, False, now=NOW)
    await rig.run()
    assert len(rig.core.texts(1)) == 1


def test_now_is_utc() -> None:
    assert NOW.tzinfo is UTC and isinstance(NOW, datetime)


async def test_one_chats_backlog_does_not_starve_the_others(rig: Rig) -> None:
    await subscribe(rig.db, -1)  # a group: one message per 3 s
    await publish(rig.db, *[new_article(n, classification(SOLO)) for n in range(1, 601)])
    await subscribe(rig.db, 2)
    await publish(rig.db, new_article(1000, classification(SOLO)))
    due = await delivery_store.due_deliveries(rig.db, rig.wall(), limit=60)
    assert {d.chat_id for d in due} == {-1, 2}  # capped per chat, so chat 2 is visible
    assert sum(d.chat_id == -1 for d in due) == 50


async def test_retry_after_holds_the_chats_whole_queue(rig: Rig) -> None:
    await subscribe(rig.db, 1)
    rig.core.fail_next("retry_after", chat_id=1, retry_after=30)
    await publish(rig.db, *[new_article(n, classification(SOLO)) for n in range(1, 4)])
    await rig.sender.step()
    await asyncio.wait(set(rig.sender._tasks))
    assert await delivery_store.due_deliveries(rig.db, rig.wall()) == []
    rig.wall.advance(31)
    assert len(await delivery_store.due_deliveries(rig.db, rig.wall())) == 3
