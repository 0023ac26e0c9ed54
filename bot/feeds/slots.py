"""A concurrency cap whose urgent waiters go first: the fetcher's overall and per-host slots.

An article page is fetched while an alert waits for it (bot/ingest/fulltext.py, 20 s at most); in a large
poll cycle thousands of feed requests are already queued for the same slots. Letting the page take the
next free slot keeps the caps exactly as they are (never more requests at once, overall or per host) and
only changes who waits: the page, not the alert.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class PrioritySlots:
    """A counting semaphore with two FIFO queues; a released slot goes to an urgent waiter first."""

    def __init__(self, value: int) -> None:
        if value < 1:
            raise ValueError("at least one slot")
        self._free = value
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        return self._free

    @asynccontextmanager
    async def hold(self, *, urgent: bool = False) -> AsyncIterator[None]:
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        if self._free > 0 and not self._urgent and not self._normal:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._normal
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed to us just as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):  # already dropped by _release
                    queue.remove(waiter)
            raise

    def _release(self) -> None:
        # Hand the slot straight to the next live waiter, so no newcomer can take it in between.
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._free += 1
