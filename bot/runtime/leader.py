"""Leader election through the database: exactly one active process per role and bot token (issue #15).

`LeaderLease` wraps one named row of the `leases` table (storage.leases): `acquire` takes it when it is
free, expired or already ours (so it also renews), `release` gives it up at a clean stop, `held` says
whether this process may still act as the leader. A standby calls `wait_acquired` (one try per `retry`
seconds); the leader calls `keep` (a renewal every `renew_every` seconds) and stops acting when it returns.

Timing (defaults): lease 8 s, renewal every 2 s, standby tries every second. A leader dies at D; its last
renewal was at most 2 s before, so the row is free by D + 8 and a standby holds it by D + 9: within 10 s.
The leader fences itself: it counts itself the leader only until `lease - fence` seconds (5 s) after the
start of its last successful renewal, on its own monotonic clock. A leader cut off from the database (or
paused) therefore stops sending at least `fence` seconds (3 s) before a standby can take over — that gap
also absorbs stored times' whole seconds and a small clock skew between machines.

On PostgreSQL the lead may swap the row for an advisory lock (`pg_try_advisory_lock` on a session held by
the leader); this interface (acquire / renew / release / held) stays.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from storage import leases
from storage.db import Database
from storage.timeutil import utcnow

logger = logging.getLogger(__name__)

DEFAULT_LEASE = 8.0  # seconds a leader lease lasts without a renewal
DEFAULT_RENEW_EVERY = 2.0
DEFAULT_FENCE = 3.0  # the leader stops counting itself leader this long before its lease can be taken
DEFAULT_RETRY = 1.0  # seconds between a standby's tries


def token_key(token: str) -> str:
    """A stable name part per bot token that does not reveal it (the leases table is readable by ops)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class LeaderLease:
    def __init__(
        self,
        db: Database,
        name: str,
        owner: str,
        *,
        lease: float = DEFAULT_LEASE,
        renew_every: float = DEFAULT_RENEW_EVERY,
        fence: float = DEFAULT_FENCE,
        retry: float = DEFAULT_RETRY,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < fence < lease or renew_every >= lease - fence:
            raise ValueError("need 0 < fence < lease and renew_every < lease - fence")
        self.db = db
        self.name = name
        self.owner = owner
        self.lease = lease
        self.renew_every = renew_every
        self.fence = fence
        self.retry = retry
        self.clock = clock
        self.monotonic = monotonic
        self._valid_until = -1.0  # monotonic time until which we count ourselves the leader

    @property
    def held(self) -> bool:
        """Whether this process may act as the leader now (fenced: see the module docstring)."""
        return self.monotonic() < self._valid_until

    async def acquire(self) -> bool:
        """One try: take (or renew) the lease; True when held. A database error counts as not held."""
        started = self.monotonic()  # before the write: the fence counts from the earliest moment
        now = self.clock()
        try:
            got = await leases.acquire_lease(
                self.db, self.name, self.owner, now=now, until=now + timedelta(seconds=self.lease)
            )
        except Exception as exc:  # a busy or unreachable database: not held (the fence runs on)
            logger.warning("lease %s: could not reach the database: %s", self.name, exc)
            return False
        # Not got: another owner holds it, so stop acting as the leader at once.
        self._valid_until = started + self.lease - self.fence if got else -1.0
        return got

    async def renew(self) -> bool:
        """Renew a held lease; False once it is lost (taken by another owner, or fenced out)."""
        return await self.acquire() and self.held

    async def release(self) -> None:
        """Give the lease up now (a clean stop), so a standby takes over at its next try."""
        self._valid_until = -1.0
        try:
            await leases.release_lease(self.db, self.name, self.owner)
        except Exception as exc:  # it runs out by itself
            logger.warning("lease %s: could not release it: %s", self.name, exc)

    async def wait_acquired(self) -> None:
        """Return once this process holds the lease (a standby loops here)."""
        announced = False
        while not await self.acquire():
            if not announced:
                holder = await _holder(self.db, self.name)
                logger.info("lease %s is held by %s: standing by", self.name, holder or "another process")
                announced = True
            await asyncio.sleep(self.retry)

    async def keep(self) -> None:
        """Renew every `renew_every` seconds while held; return when the lease is lost or fenced out."""
        while True:
            await asyncio.sleep(max(0.0, min(self.renew_every, self._valid_until - self.monotonic())))
            if not await self.renew() and not self.held:
                logger.warning("lease %s lost: no longer the active process", self.name)
                return


async def _holder(db: Database, name: str) -> str | None:
    try:
        holder = await leases.lease_holder(db, name)
    except Exception:
        return None
    return holder.owner if holder else None
