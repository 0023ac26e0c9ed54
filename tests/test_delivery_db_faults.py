"""Issue #12.2: a database write that fails (another process holding the write lock, a full disk) must not
stall delivery. Reproduced in simulated time against the in-process fake Bot API: a real lock held by a
second connection, and a storage layer whose writes fail for a while (the tmpfs-free full disk)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from chat_fixtures import NOW, SOLO, Clock, classification, new_article, publish
from fake_botapi import TOKEN, FakeBotCore, FakeRequest
from telegram import Bot
from test_delivery import Mono, Rig

from bot.delivery.pacer import PacingPolicy
from bot.delivery.sender import Sender
from bot.models import SubscriptionFilter
from storage import chats as chat_store
from storage import deliveries as delivery_store
from storage import subscriptions as sub_store
from storage.db import Database, open_database

CHATS = list(range(1, 21))  # more than PacingPolicy.max_in_flight (16)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    db = await open_database(tmp_path / "p.db")
    core = FakeBotCore()
    mono, wall = Mono(), Clock()
    bot = Bot(TOKEN, request=FakeRequest(core))
    await bot.initialize()
    policy = PacingPolicy(backoff_base=2.0, backoff_jitter=0.0, digest_threshold=None)
    sender = Sender(db, bot, clock=mono, wall_clock=wall, policy=policy)
    for chat_id in CHATS:
        await chat_store.register_chat(db, chat_id, type="private", title=None, now=NOW)
        await sub_store.add_subscription(db, chat_id, SubscriptionFilter(), thread_id=None, now=NOW)
    yield Rig(db, core, sender, mono, wall)
    await bot.shutdown()
    await db.close()


def failing(times: int, real: Callable[..., Any]) -> Callable[..., Any]:
    """`real`, except that its first `times` calls raise as a full disk would."""
    left = [times]

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if left[0] > 0:
            left[0] -= 1
            raise sqlite3.OperationalError("database or disk is full")
        return await real(*args, **kwargs)

    return wrapper


def each_chat_got_one_alert(core: FakeBotCore) -> bool:
    return all(len(core.texts(chat_id)) == 1 for chat_id in CHATS)


async def test_a_write_lock_held_by_another_process_does_not_leak_pacer_reservations(rig: Rig, db_path: Any) -> None:
    await publish(rig.db, new_article(1, classification(SOLO)))
    await rig.db.conn.execute("PRAGMA busy_timeout = 20")  # fail fast instead of after 5 s
    other = sqlite3.connect(db_path(rig.db), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        for _ in range(20):  # more failed claims than max_in_flight
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await rig.sender.step()
            rig.mono.t += 5.0  # the run loop waits idle_check after a failed step
        assert rig.sender.pacer.in_flight == set()  # every reservation was released
    finally:
        other.execute("COMMIT")
        other.close()
    await rig.run()
    assert each_chat_got_one_alert(rig.core)
    assert await rig.status() == {"sent": len(CHATS)}


async def test_sent_marks_that_cannot_be_written_are_written_later_never_resent(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery_store, "mark_sent_many", failing(3, delivery_store.mark_sent_many))
    await publish(rig.db, new_article(1, classification(SOLO)))
    for _ in range(5):  # a failed step is retried, as the run loop does
        with contextlib.suppress(sqlite3.OperationalError):
            await rig.run()
            await rig.sender.step()  # the marks kept in memory are written by a later step
    assert each_chat_got_one_alert(rig.core)  # nothing was sent twice
    assert await rig.status() == {"sent": len(CHATS)}


async def test_rows_left_sending_after_failed_writes_are_requeued_by_the_running_sender(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 502, then the outcome cannot be written (reschedule and the fallback requeue both fail): the row
    used to stay 'sending' until a restart."""
    rig.core.fail_next("server_error", chat_id=1)
    monkeypatch.setattr(delivery_store, "reschedule", failing(1, delivery_store.reschedule))
    monkeypatch.setattr(delivery_store, "requeue_sending", failing(1, delivery_store.requeue_sending))
    await publish(rig.db, new_article(1, classification(SOLO)))
    await rig.run()
    status = await rig.status()
    if status.get("sending"):  # settled by the next step, not by a restart
        await rig.run()
    assert each_chat_got_one_alert(rig.core)
    assert await rig.status() == {"sent": len(CHATS)}
    [row] = [r for r in await delivery_store.get_deliveries(rig.db, range(1, 100)) if r.chat_id == 1]
    assert row.attempts == 2 and row.last_error is not None and "not recorded" in row.last_error


async def test_a_sender_step_that_fails_keeps_the_loop_alive(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery_store, "claim_due", failing(30, delivery_store.claim_due))
    await publish(rig.db, new_article(1, classification(SOLO)))
    for _ in range(30):
        with pytest.raises(sqlite3.OperationalError):
            await rig.sender.step()
        rig.mono.t += 5.0
    await rig.run()
    assert each_chat_got_one_alert(rig.core)


@pytest.fixture
def db_path() -> Callable[[Database], str]:
    return lambda db: str(db.path)
