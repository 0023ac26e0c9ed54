"""PrioritySlots (bot/feeds/slots.py) and the fetcher using it: caps kept, article pages served first."""

from __future__ import annotations

import asyncio

import pytest

from bot.feeds.fetcher import Fetcher
from bot.feeds.slots import PrioritySlots
from tests.feed_server import FeedServer


async def test_a_released_slot_goes_to_urgent_waiters_first_then_in_order() -> None:
    slots = PrioritySlots(2)
    order: list[str] = []
    inside = 0
    most = 0
    gate = asyncio.Event()

    async def job(name: str, urgent: bool) -> None:
        nonlocal inside, most
        async with slots.hold(urgent=urgent):
            inside += 1
            most = max(most, inside)
            order.append(name)
            await gate.wait()
            inside -= 1

    running = [asyncio.create_task(job("first", False)), asyncio.create_task(job("second", False))]
    await asyncio.sleep(0)
    queued = [asyncio.create_task(job(f"feed{n}", False)) for n in range(3)]
    await asyncio.sleep(0)
    queued += [asyncio.create_task(job("page", True))]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(*running, *queued)
    assert order == ["first", "second", "page", "feed0", "feed1", "feed2"]
    assert most == 2 and slots.free == 2


async def test_a_cancelled_waiter_gives_up_its_place_and_loses_no_slot() -> None:
    slots = PrioritySlots(1)
    release = asyncio.Event()

    async def holder() -> None:
        async with slots.hold():
            await release.wait()

    owner = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(slots._acquire(True))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await owner
    assert slots.free == 1
    async with asyncio.timeout(1), slots.hold():  # the slot is there to take
        assert slots.free == 0


def test_at_least_one_slot() -> None:
    with pytest.raises(ValueError):
        PrioritySlots(0)


async def test_fetcher_serves_an_urgent_page_before_queued_feeds_within_the_cap(feed_server: FeedServer) -> None:
    feed_server.route("/slow", body=b"<rss/>", delay=0.3)
    for n in range(4):
        feed_server.route(f"/feed{n}", body=b"<rss/>", delay=0.05)
    feed_server.route("/page", body=b"<html></html>", content_type="text/html", delay=0.05)
    async with Fetcher(max_concurrency=1, max_per_host=1, total_timeout=5) as fetcher:
        first = asyncio.create_task(fetcher.fetch(feed_server.url("/slow")))
        await asyncio.sleep(0.1)  # /slow holds the only slot
        feeds = [asyncio.create_task(fetcher.fetch(feed_server.url(f"/feed{n}"))) for n in range(4)]
        await asyncio.sleep(0.05)
        page = asyncio.create_task(fetcher.fetch(feed_server.url("/page"), urgent=True))
        await asyncio.gather(first, *feeds, page)
    paths = [r.path for r in feed_server.requests]
    assert paths == ["/slow", "/page", "/feed0", "/feed1", "/feed2", "/feed3"]
    assert feed_server.max_in_flight == 1
