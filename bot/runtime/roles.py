"""`pantau run --role all|bot|poller|sender`: one service, or its parts as cooperating processes (issue #15).

- `all` (the default): today's single process — bot, poll loop, sender and report scheduler together.
- `poller`: the poll loop only (bot.ingest.loop); any number, on any machines: feeds are claimed with
  leases (storage.leases), so each due feed is fetched by one of them.
- `sender`: the outbox sender and the report scheduler, as the leader of its bot token (`SenderRole`):
  one active, any others stand by and take over within 10 s of its death (bot.runtime.leader).
- `bot`: chat commands and buttons only. Long polling: one active instance per token (same lease rule);
  webhook mode (PANTAU_WEBHOOK_URL): any number behind a load balancer.

Several processes need a shared database: PostgreSQL. With SQLite the run lock (bot.runtime.runlock)
allows one `pantau run` per database file, so only `--role all` runs there; the others are refused with
one line (`check_role`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from enum import StrEnum

from telegram import Bot

from bot.config import Settings
from bot.delivery.pacer import PacingPolicy
from bot.delivery.sender import Sender
from bot.errors import ConfigError
from bot.runtime.leader import LeaderLease
from bot.runtime.reports import ReportScheduler
from storage.db import Database, open_database

logger = logging.getLogger(__name__)

# A sender in its own process learns of new outbox rows by looking (a poller elsewhere cannot wake it):
# one cheap indexed read a second, so an alert waits at most a second longer than in one process.
SPLIT_IDLE_CHECK = 1.0
# Sends still in flight when the lease is lost get this long to finish; the rest are cut off (their rows
# stay 'sending' and the next leader sends them again: at most one duplicate). Below the fence (3 s).
LOST_LEASE_GRACE = 2.0


class Role(StrEnum):
    ALL = "all"
    BOT = "bot"
    POLLER = "poller"
    SENDER = "sender"


def shared_database(settings: Settings) -> bool:
    """Whether PANTAU_DB names a server several processes share (PostgreSQL) rather than a SQLite file."""
    return settings.db_url is not None


def check_role(role: Role, settings: Settings) -> None:
    """Refuse, with one line, a role that cannot run with this configuration."""
    if role is not Role.ALL and not shared_database(settings):
        raise ConfigError(
            f"--role {role}: split roles need a database several processes share "
            "(PANTAU_DB=postgresql://…); with a SQLite file run one `pantau run` (--role all)"
        )
    if role in (Role.BOT, Role.SENDER) and settings.telegram_token is None:
        raise ConfigError(f"--role {role} needs TELEGRAM_BOT_TOKEN")


async def run_poller(settings: Settings) -> int:
    """`pantau run --role poller`: the poll loop alone, claiming due feeds with leases beside other pollers.

    A poller cannot wake a sender in another process; the sender looks for new rows every second.
    """
    from bot.feeds.fetcher import Fetcher
    from bot.ingest.feedlist import ensure_feeds
    from bot.ingest.loop import DEFAULT_TICK, PollLoop, owner_id
    from bot.ingest.poller import PollSummary
    from bot.runtime.console import make_poller, until_signalled

    db = await open_database(settings.database, check=True)
    try:
        await ensure_feeds(db)
        async with Fetcher() as fetcher:

            def report(summary: PollSummary) -> None:
                if summary.new_articles or summary.failed:
                    logger.info("%s", summary.line())
                elif summary.fetched:
                    logger.debug("%s", summary.line())

            loop = PollLoop(
                make_poller(db, fetcher, settings),
                report,
                tick=min(DEFAULT_TICK, float(settings.poll_interval)),
                owner=owner_id("poller"),
            )
            logger.info("poller %s started", loop.owner)
            await until_signalled(loop.run())
    finally:
        await db.close()
    return 0


class SenderRole:
    """The sender as the leader of `lease`: stand by until it is ours, send while it is, and go back to
    standing by when it is lost. `stop()` is the clean way out (lets sends finish, releases the lease);
    cancelling `run()` is what a killed process does (sends cut off, the lease left to run out)."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        lease: LeaderLease,
        *,
        policy: PacingPolicy | None = None,
        idle_check: float = SPLIT_IDLE_CHECK,
        with_reports: bool = True,
        on_sender: Callable[[Sender | None], None] | None = None,
    ) -> None:
        self.db = db
        self.bot = bot
        self.lease = lease
        self.policy = policy or PacingPolicy()
        self.idle_check = idle_check
        self.with_reports = with_reports
        self.on_sender = on_sender or (lambda sender: None)  # the runtime's handle for wake()
        self.sender: Sender | None = None
        self.terms = 0  # how many times this process became the active sender
        self._stopping = False
        self._stopped = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping:
            acquired = asyncio.create_task(self.lease.wait_acquired())
            stopped = asyncio.create_task(self._stopped.wait())
            try:
                await asyncio.wait([acquired, stopped], return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()
                if not acquired.done():
                    acquired.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await acquired
            if self._stopping or acquired.cancelled():
                break
            await self._lead()
        await self.lease.release()

    async def _lead(self) -> None:
        """One term as the active sender, until the lease is lost or stop() is called."""
        lease = self.lease
        sender = Sender(self.db, self.bot, policy=self.policy, idle_check=self.idle_check, gate=lambda: lease.held)
        self.terms += 1
        self.sender = sender
        self.on_sender(sender)
        tasks: list[asyncio.Task[None]] = []
        try:
            await sender.resume_pacing()
            logger.info("active sender (lease %s, owner %s)", self.lease.name, self.lease.owner)
            tasks.append(asyncio.create_task(sender.run(), name="pantau-sender"))
            tasks.append(asyncio.create_task(self.lease.keep(), name="pantau-sender-lease"))
            if self.with_reports:
                # Briefs and spike checks are written idempotently, but one scheduler is enough.
                scheduler = ReportScheduler(self.db, wake=sender.wake)
                tasks.append(asyncio.create_task(scheduler.run(), name="pantau-reports"))
            stopped = asyncio.create_task(self._stopped.wait())
            await asyncio.wait([*tasks[:2], stopped], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            # Lease lost (fenced: no new sends are planned), or stop(): let the sends in flight finish.
            await sender.stop(grace=10.0 if self._stopping else LOST_LEASE_GRACE)
            sender.abort()
        except BaseException:
            sender.abort()  # killed (cancelled) or failed: cut everything off, leave the lease to run out
            raise
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.sender = None
            self.on_sender(None)

    async def stop(self) -> None:
        """Stop sending (sends in flight finish) and release the lease so a standby takes over at once."""
        self._stopping = True
        self._stopped.set()
