"""Several cooperating processes (issue #15): the sender as a leader with a standby, on one database opened
twice (two Database objects, as two processes have; SQLite and PostgreSQL), against the in-process fake Bot
API; and the roles `pantau run` refuses with SQLite."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from chat_fixtures import SOLO, classification, new_article, publish
from fake_botapi import TOKEN, FakeBotCore, FakeRequest
from telegram import Bot

from bot import cli
from bot.config import Secret, Settings
from bot.delivery.pacer import Pacer, PacingPolicy
from bot.errors import ConfigError
from bot.models import SubscriptionFilter
from bot.runtime.leader import LeaderLease, token_key
from bot.runtime.roles import Role, SenderRole, check_role
from storage import chats as chat_store
from storage import leases
from storage import subscriptions as sub_store
from storage.db import Database


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


CHATS = [1000 + i for i in range(20)]
LEASE_NAME = "sender:test"


async def until(condition: Any, within: float, step: float = 0.02) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(step)


async def subscribe_all(db: Database) -> None:
    now = datetime.now(UTC)
    for chat_id in CHATS:
        await chat_store.ensure_chat(db, chat_id, type="private", title=None, now=now)
        await sub_store.add_subscription(db, chat_id, SubscriptionFilter(), thread_id=None, now=now)


async def statuses(db: Database) -> Counter[str]:
    async with db.reader.execute("SELECT status, count(*) FROM deliveries GROUP BY status") as cursor:
        return Counter({row[0]: row[1] for row in await cursor.fetchall()})


def role(db: Database, core: FakeBotCore, owner: str, policy: PacingPolicy, **lease: float) -> SenderRole:
    bot = Bot(TOKEN, request=FakeRequest(core))
    return SenderRole(db, bot, LeaderLease(db, LEASE_NAME, owner, **lease), policy=policy, with_reports=False)


def check_pacing(core: FakeBotCore, policy: PacingPolicy) -> None:
    """Server-side arrival times: ≤ 1/s per private chat and ≤ overall_rate in any one second."""
    sends = [c for c in core.calls_of("sendMessage") if c.status == 200]
    per_chat: dict[int, list[float]] = defaultdict(list)
    for call in sends:
        per_chat[call.params["chat_id"]].append(call.at)
    for chat_id, moments in per_chat.items():
        gaps = [b - a for a, b in zip(moments, moments[1:], strict=False)]
        assert not gaps or min(gaps) >= policy.private_interval - 0.05, (chat_id, gaps)
    times = sorted(c.at for c in sends)
    for start in times:
        assert sum(1 for t in times if start <= t < start + 1.0) <= policy.overall_rate


async def test_a_standby_sender_takes_over_within_10_s_when_the_active_one_dies(
    two_dbs: tuple[Database, Database],
) -> None:
    a, b = two_dbs
    await subscribe_all(a)
    policy = PacingPolicy(overall_rate=25.0, digest_threshold=None)
    core = FakeBotCore(delay=0.15)  # sends take a while: some are in flight when the leader dies
    active, standby = role(a, core, "A", policy), role(b, core, "B", policy)  # default lease: 8 s
    await publish(a, *[new_article(n, classification(SOLO)) for n in range(1, 4)])  # 3 × 20 = 60 alerts
    task_a = asyncio.create_task(active.run())
    await until(lambda: active.sender is not None, within=3)
    task_b = asyncio.create_task(standby.run())
    try:
        await until(lambda: len(core.sent()) >= 15, within=10)
        assert standby.sender is None  # standing by
        task_a.cancel()  # the active sender dies: no release, sends in flight cut off
        await asyncio.gather(task_a, return_exceptions=True)
        died = time.monotonic()
        sent_before = len(core.sent())
        assert (await statuses(b))["sending"] >= 1  # left mid-send, as a killed process leaves them
        # Alerts queued after the death are delivered by the new leader too.
        await publish(b, *[new_article(n, classification(SOLO)) for n in range(4, 6)])
        await until(lambda: len(core.sent()) > sent_before, within=12, step=0.05)
        took_over = min(c.at for c in core.calls_of("sendMessage") if c.at > died) - died
        await until(lambda: len(core.sent()) >= 100, within=20, step=0.1)
        await asyncio.sleep(0.5)
    finally:
        await standby.stop()
        await asyncio.gather(task_b, return_exceptions=True)
    assert took_over <= 10.0, took_over
    assert standby.terms == 1
    counts = await statuses(b)
    assert counts == Counter({"sent": 100}), counts  # no alert lost, none left 'sending'
    # Every chat got each of its five alerts; a row cut off mid-send may reach Telegram twice.
    per_chat = Counter(p["chat_id"] for p in core.sent())
    assert set(per_chat) == set(CHATS)
    assert all(5 <= n <= 6 for n in per_chat.values()), per_chat
    assert sum(per_chat.values()) - 100 <= len(CHATS)  # at most one duplicate per chat
    check_pacing(core, policy)
    holder = await leases.lease_holder(a, LEASE_NAME)
    assert holder is None  # the standby stopped cleanly and released it


async def test_a_clean_stop_hands_over_at_once_and_pacing_carries_across(two_dbs: tuple[Database, Database]) -> None:
    a, b = two_dbs
    await subscribe_all(a)
    policy = PacingPolicy(overall_rate=25.0, digest_threshold=None)
    core = FakeBotCore()
    active, standby = role(a, core, "A", policy), role(b, core, "B", policy, retry=0.2)
    await publish(a, *[new_article(n, classification(SOLO)) for n in range(1, 4)])
    task_a = asyncio.create_task(active.run())
    await until(lambda: active.sender is not None, within=3)
    task_b = asyncio.create_task(standby.run())
    try:
        await until(lambda: len(core.sent()) >= 25, within=10)
        await active.stop()
        await asyncio.gather(task_a)
        stopped = time.monotonic()
        sent_before = len(core.sent())
        await until(lambda: len(core.sent()) > sent_before, within=3)
        gap = min(c.at for c in core.calls_of("sendMessage") if c.at > stopped) - stopped
        await until(lambda: len(core.sent()) >= 60, within=10)
    finally:
        await standby.stop()
        await asyncio.gather(task_b, return_exceptions=True)
    assert gap < 2.0  # released: no waiting for the lease to run out
    assert (await statuses(a)) == Counter({"sent": 60})
    assert len(core.sent()) == 60  # a clean stop leaves nothing to send twice
    check_pacing(core, policy)  # the new leader paced after the old one's last sends


async def test_a_fenced_leader_stops_planning_before_its_lease_can_be_taken(
    two_dbs: tuple[Database, Database],
) -> None:
    a, b = two_dbs
    now = [1000.0]
    lease = LeaderLease(a, LEASE_NAME, "A", lease=8.0, renew_every=2.0, fence=3.0, monotonic=lambda: now[0])
    assert await lease.acquire() and lease.held
    now[0] += 4.9
    assert lease.held
    now[0] += 0.2  # 5.1 s after its last renewal: 3 s before the row can be taken, it stops counting itself
    assert not lease.held
    other = LeaderLease(b, LEASE_NAME, "B")
    assert not await other.acquire()  # the row itself is still A's until 8 s
    assert await lease.renew() and lease.held  # still ours in the database: renewed


def test_a_sender_taking_over_paces_after_the_previous_ones_last_sends() -> None:
    policy = PacingPolicy(overall_rate=25.0)
    pacer = Pacer(policy)
    # Chat 7 (private) got a message 0.4 s ago, group -9 one 1 s ago, chat 8 long enough ago.
    pacer.resume([(7, "private", 0.4), (-9, "supergroup", 1.0), (8, "private", 2.5)], now=100.0)
    assert pacer.chat_ready[7] == pytest.approx(100.6)
    assert pacer.chat_ready[-9] == pytest.approx(102.0)
    assert pacer.chat_ready[8] <= 100.0
    assert pacer.next_global == pytest.approx(101.0)  # a send under a second old: one full window first
    quiet = Pacer(policy)
    quiet.resume([(8, "private", 2.5)], now=100.0)
    assert quiet.next_global == 0.0


@pytest.mark.parametrize("name", [Role.BOT, Role.POLLER, Role.SENDER])
def test_split_roles_are_refused_on_a_sqlite_file(tmp_path: Path, name: Role) -> None:
    settings = Settings(db_path=tmp_path / "pantau.db")
    with pytest.raises(ConfigError, match="PANTAU_DB=postgresql://"):
        check_role(name, settings)
    check_role(Role.ALL, settings)
    shared = Settings(db_url="postgresql://pantau@db.example:5432/pantau", telegram_token=Secret(TOKEN))
    check_role(name, shared)  # a shared PostgreSQL database takes every role
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        check_role(Role.SENDER, Settings(db_url="postgresql://pantau@db.example:5432/pantau"))


def test_pantau_run_with_a_split_role_on_sqlite_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PANTAU_DB", str(tmp_path / "pantau.db"))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    assert cli.main(["run", "--role", "poller"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--role poller" in err[0] and "SQLite" in err[0]
    assert not (tmp_path / "pantau.db").exists()  # refused before anything was created


async def test_only_one_long_polling_bot_per_token_on_a_shared_database(
    tmp_path: Path, two_dbs: tuple[Database, Database]
) -> None:
    from chat_fixtures import settings as make_settings

    from bot.runtime.telegram_app import build_application
    from handlers.context import BotServices

    a, b = two_dbs
    cfg = make_settings(tmp_path)
    core = FakeBotCore()
    apps = [
        build_application(
            cfg, request=FakeRequest(core), services=BotServices(settings=cfg, db=db), role=Role.BOT, shared=True
        )
        for db in (a, b)
    ]
    first, second = apps
    await first.initialize()
    await second.initialize()
    try:
        assert first.post_init is not None and first.post_stop is not None and second.post_init is not None
        await asyncio.wait_for(first.post_init(first), timeout=5)  # free: it leads at once
        standby = asyncio.create_task(second.post_init(second))
        await asyncio.sleep(1.5)
        assert not standby.done()  # stands by while the first one polls
        holder = await leases.lease_holder(a, f"bot:{token_key(TOKEN)}")
        assert holder is not None and holder.owner.startswith("bot@")
        await first.post_stop(first)  # a clean stop releases the lease…
        await asyncio.wait_for(standby, timeout=3)  # …and the standby takes over at its next try
        assert second.post_stop is not None
        await second.post_stop(second)
    finally:
        await first.shutdown()
        await second.shutdown()
