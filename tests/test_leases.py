"""Leases (issue #15): feeds claimed by several pollers, and leader leases, on one database opened twice (two
Database objects, as two processes open it), on SQLite and on PostgreSQL (where the claim uses FOR UPDATE SKIP
LOCKED), against the loopback feed server."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.feeds.fetcher import Fetcher
from bot.ingest.loop import PollLoop
from bot.ingest.poller import Poller, PollSummary
from storage import feeds as feed_store
from storage import leases
from storage.db import Database
from tests.feed_server import FeedServer
from tests.test_poller import rss


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def until(condition: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def item(n: int) -> tuple[str, str, str, str]:
    return (f"g{n}", f"https://warta.example/berita-{n}", f"Berita nomor {n} dari Sragen", "Isi berita uji.")


async def add_feeds(db: Database, server: FeedServer, count: int, *, delay: float = 0.0) -> list[int]:
    ids = []
    for n in range(count):
        server.route(f"/f{n}.xml", body=rss(item(n)), delay=delay)
        feed = await feed_store.add_feed(db, server.url(f"/f{n}.xml"), now=now())
        ids.append(feed.id)
    return ids


async def claim(db: Database, owner: str, *, seconds: float, limit: int = 1000) -> list[int]:
    moment = now()
    async with db.transaction() as conn:
        feeds = await leases.claim_due_feeds(
            conn, owner, now=moment, until=moment + timedelta(seconds=seconds), limit=limit, dialect=db.dialect
        )
    return [f.id for f in feeds]


async def test_two_connections_claiming_at_once_never_get_the_same_feed(
    two_dbs: tuple[Database, Database], feed_server: FeedServer
) -> None:
    a, b = two_dbs
    ids = await add_feeds(a, feed_server, 60)
    got_a: list[int] = []
    got_b: list[int] = []
    for _ in range(12):
        first, second = await asyncio.gather(claim(a, "A", seconds=60, limit=3), claim(b, "B", seconds=60, limit=3))
        got_a += first
        got_b += second
    assert not set(got_a) & set(got_b)
    assert sorted(got_a + got_b) == ids  # 12 rounds × 2 × 3 = 72 ≥ 60: every feed claimed exactly once
    assert len(got_a) == len(set(got_a)) and len(got_b) == len(set(got_b))


async def test_a_lease_blocks_claims_until_it_runs_out_and_renewal_extends_it(
    two_dbs: tuple[Database, Database], feed_server: FeedServer
) -> None:
    a, b = two_dbs
    [feed_id] = await add_feeds(a, feed_server, 1)
    assert await claim(a, "A", seconds=2) == [feed_id]
    assert await claim(b, "B", seconds=60) == []
    async with a.transaction() as conn:
        # Stored times have whole seconds: "+4 s" ends 3 to 4 s from now.
        assert await leases.renew_feed_leases(conn, "A", [feed_id], until=now() + timedelta(seconds=4)) == 1
        # Another owner's renewal touches nothing.
        assert await leases.renew_feed_leases(conn, "B", [feed_id], until=now() + timedelta(seconds=60)) == 0
    await asyncio.sleep(2.2)
    assert await claim(b, "B", seconds=60) == []  # renewed: still A's
    await asyncio.sleep(2.0)
    assert await claim(b, "B", seconds=60) == [feed_id]  # ran out: taken over
    async with a.transaction() as conn:
        await leases.release_feeds(conn, "A", [feed_id])  # A's late release does not free B's lease
    assert await claim(a, "A", seconds=60) == []
    assert await leases.next_claimable_at(a) is not None


async def test_release_with_a_rest_keeps_a_still_due_feed_from_being_claimed(
    two_dbs: tuple[Database, Database], feed_server: FeedServer
) -> None:
    a, b = two_dbs
    [feed_id] = await add_feeds(a, feed_server, 1)
    assert await claim(a, "A", seconds=60) == [feed_id]
    rest_until = now() + timedelta(seconds=2)
    async with a.transaction() as conn:
        await leases.release_feeds(conn, "A", [feed_id], rest_until=rest_until)
    assert await claim(b, "B", seconds=60) == []
    assert await leases.next_claimable_at(b) == rest_until
    await asyncio.sleep(2.1)
    assert await claim(b, "B", seconds=60) == [feed_id]


def _loop(db: Database, fetcher: Fetcher, owner: str, seen: list[PollSummary], **kwargs: Any) -> PollLoop:
    return PollLoop(Poller(db, fetcher, interval=300), seen.append, tick=0.3, owner=owner, **kwargs)


async def _run(*loops: PollLoop) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(loop.run()) for loop in loops]


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_two_pollers_on_one_database_fetch_each_feed_once(
    two_dbs: tuple[Database, Database], feed_server: FeedServer
) -> None:
    a, b = two_dbs
    count = 40
    await add_feeds(a, feed_server, count, delay=0.05)
    seen_a: list[PollSummary] = []
    seen_b: list[PollSummary] = []
    async with Fetcher() as fetcher_a, Fetcher() as fetcher_b:
        tasks = await _run(
            _loop(a, fetcher_a, "A", seen_a, max_claimed=4), _loop(b, fetcher_b, "B", seen_b, max_claimed=4)
        )
        try:
            await until(lambda: len(seen_a) + len(seen_b) >= count, within=20)
            await asyncio.sleep(1.5)  # several more looks by both: nothing is fetched again
        finally:
            await _stop(tasks)
    hits = [len(feed_server.requests_to(f"/f{n}.xml")) for n in range(count)]
    assert hits == [1] * count
    assert len(seen_a) + len(seen_b) == count
    assert seen_a and seen_b  # the work was shared
    for feed in await feed_store.list_feeds(a):
        assert feed.last_success_at is not None
    # Both stopped cleanly: no lease left behind.
    async with a.reader.execute("SELECT count(*) FROM feeds WHERE lease_owner IS NOT NULL") as cursor:
        row = await cursor.fetchone()
    assert row is not None and row[0] == 0


async def test_a_dead_pollers_feeds_are_taken_over_after_its_lease(
    two_dbs: tuple[Database, Database], feed_server: FeedServer
) -> None:
    a, b = two_dbs
    ids = await add_feeds(a, feed_server, 6)
    # A poller that claimed three feeds, then died: nobody renews or releases them.
    dead = await claim(b, "dead", seconds=3, limit=3)
    assert dead == ids[:3]
    leased_at = time.monotonic()
    seen: list[PollSummary] = []
    async with Fetcher() as fetcher:
        [task] = await _run(_loop(a, fetcher, "A", seen))
        try:
            await until(lambda: len(seen) >= 3, within=5)
            # The live feeds are done; the dead poller's are untouched while its lease lasts.
            assert all(len(feed_server.requests_to(f"/f{n}.xml")) == 1 for n in range(3, 6))
            assert all(not feed_server.requests_to(f"/f{n}.xml") for n in range(3))
            await until(lambda: len(seen) >= 6, within=6)
            taken_over = time.monotonic() - leased_at
        finally:
            await _stop([task])
    assert 2.0 <= taken_over <= 5.0  # lease of 3 s (whole seconds stored) plus a look or two
    assert [len(feed_server.requests_to(f"/f{n}.xml")) for n in range(6)] == [1] * 6


async def test_a_long_fetch_keeps_its_lease_by_renewing_it(
    two_dbs: tuple[Database, Database], feed_server: FeedServer
) -> None:
    a, b = two_dbs
    await add_feeds(a, feed_server, 1, delay=4.5)  # longer than the 3-s lease
    seen_a: list[PollSummary] = []
    seen_b: list[PollSummary] = []
    async with Fetcher() as fetcher_a, Fetcher() as fetcher_b:
        tasks = await _run(_loop(a, fetcher_a, "A", seen_a, lease=3.0))
        await until(lambda: bool(feed_server.requests_to("/f0.xml")), within=3)
        tasks += await _run(_loop(b, fetcher_b, "B", seen_b, lease=3.0))
        try:
            await until(lambda: bool(seen_a), within=7)
            await asyncio.sleep(0.8)
        finally:
            await _stop(tasks)
    assert len(feed_server.requests_to("/f0.xml")) == 1
    assert not seen_b


async def test_leader_lease_is_exclusive_until_released_or_expired(two_dbs: tuple[Database, Database]) -> None:
    a, b = two_dbs
    t0 = now()

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    assert await leases.acquire_lease(a, "sender:1", "A", now=t0, until=t0 + timedelta(seconds=8))
    assert not await leases.acquire_lease(b, "sender:1", "B", now=t0, until=t0 + timedelta(seconds=8))
    assert await leases.acquire_lease(b, "sender:2", "B", now=t0, until=t0 + timedelta(seconds=8))  # other name
    # Renewal by the holder keeps acquired_at.
    assert await leases.acquire_lease(a, "sender:1", "A", now=at(2), until=at(10))
    holder = await leases.lease_holder(b, "sender:1")
    assert holder is not None and (holder.owner, holder.until, holder.acquired_at) == ("A", at(10), t0)
    # Still held at 9 s, free at 10 s.
    assert not await leases.acquire_lease(b, "sender:1", "B", now=at(9), until=at(17))
    later = t0 + timedelta(seconds=10)
    assert await leases.acquire_lease(b, "sender:1", "B", now=later, until=later + timedelta(seconds=8))
    holder = await leases.lease_holder(a, "sender:1")
    assert holder is not None and (holder.owner, holder.acquired_at) == ("B", later)
    assert not await leases.release_lease(a, "sender:1", "A")  # not A's any more
    assert await leases.release_lease(b, "sender:1", "B")
    assert await leases.acquire_lease(a, "sender:1", "A", now=later, until=later + timedelta(seconds=8))


async def test_a_clean_stop_does_not_hand_a_feed_fetched_mid_flight_to_another_poller(
    two_dbs: tuple[Database, Database], feed_server: FeedServer
) -> None:
    """Stopping a poller (SIGTERM, a rolling restart) cuts its polls in flight off; their requests may have
    reached the publisher. Released plainly, the feed still looked due and the other poller fetched it
    again at once (the PostgreSQL fault test saw 60 feeds fetched twice within a second). Their leases now
    rest until one interval after the claim; feeds whose polls ended are given back at once."""
    a, b = two_dbs
    await add_feeds(a, feed_server, 1, delay=30.0)  # answers long after the stop
    seen_a: list[PollSummary] = []
    seen_b: list[PollSummary] = []
    async with Fetcher() as fetcher_a, Fetcher() as fetcher_b:
        [task_a] = await _run(_loop(a, fetcher_a, "A", seen_a))
        await until(lambda: bool(feed_server.requests_to("/f0.xml")), within=3)
        await _stop([task_a])  # the request reached the server; the poll is cut off
        [task_b] = await _run(_loop(b, fetcher_b, "B", seen_b))
        try:
            await asyncio.sleep(1.5)  # B looks every 0.3 s
        finally:
            await _stop([task_b])
    assert len(feed_server.requests_to("/f0.xml")) == 1
    async with a.reader.execute("SELECT lease_owner, lease_until FROM feeds") as cursor:
        row = await cursor.fetchone()
    assert row is not None and row[0] is None  # given back, resting until an interval after the claim
    assert datetime.fromisoformat(row[1]) >= now() + timedelta(seconds=250)
