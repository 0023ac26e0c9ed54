"""Leases: how several Pantau processes share work through the database (issue #15).

Two kinds, both a row with an owner id and a lease end (`lease_until`, text as in storage/timeutil.py):

- **Feed leases** (columns `feeds.lease_owner`, `feeds.lease_until`). A poller claims due feeds that no
  live lease holds (`claim_due_feeds`), renews the leases of the feeds it is still fetching
  (`renew_feed_leases`) and releases each feed once its poll ended (`release_feeds`) — by then the poll's
  outcome moved `next_check_at` on, so the feed is not due. A feed is therefore fetched once per interval
  however many pollers run, and a dead poller's feeds are claimable again once its leases run out. The
  three take the connection of one transaction, so a poll loop releases, renews and claims in one.
- **Leader leases** (table `leases`: name, owner, lease_until). One row per role that must have exactly
  one active process (the sender of a bot token, the long-polling bot). `acquire_lease` takes the row when
  it is free, expired or already ours (so it also renews); `release_lease` gives it up at a clean stop.

Every time here is the caller's clock (aware UTC): processes on several machines need synchronised clocks
(NTP); the lease margins (bot/runtime/leader.py) absorb a skew well under a second.

The SQL is the same on both backends except the claim's subquery, which PostgreSQL runs with `FOR UPDATE
SKIP LOCKED` (`claim_due_feeds`). On SQLite the claim is atomic as it stands: BEGIN IMMEDIATE serialises
writers (across processes too), so two pollers never see the same free row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.models import Feed
from storage.backend import Connection, Dialect
from storage.db import Database
from storage.feeds import _feed
from storage.timeutil import from_db, to_db

# The subquery picks the due, unleased feeds oldest first; the UPDATE stamps them ours and returns them.
_CLAIM = (
    "UPDATE feeds SET lease_owner = ?, lease_until = ? WHERE id IN ("
    " SELECT id FROM feeds WHERE next_check_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"
    " ORDER BY next_check_at, id LIMIT ?{lock}"
    ") RETURNING *"
)
# PostgreSQL (READ COMMITTED): without SKIP LOCKED two pollers' subqueries can pick the same rows from
# their snapshots, and the second UPDATE would re-stamp rows the first just claimed. With it each poller
# skips rows another claim has locked and takes the next free ones. SQLite has no row locks (nor needs them).
_LOCKS = {"postgresql": " FOR UPDATE SKIP LOCKED"}


async def claim_due_feeds(
    conn: Connection, owner: str, *, now: datetime, until: datetime, limit: int, dialect: Dialect
) -> list[Feed]:
    """Lease up to `limit` due feeds that no live lease holds to `owner` until `until`; oldest due first.

    Call inside a transaction of the database whose `dialect` is given (PostgreSQL: SKIP LOCKED; required,
    so a caller cannot silently get SQLite's statement on PostgreSQL).
    """
    if limit <= 0:
        return []
    stamp = to_db(now)
    sql = _CLAIM.format(lock=_LOCKS.get(dialect.name, ""))
    async with conn.execute(sql, (owner, to_db(until), stamp, stamp, limit)) as cursor:
        rows = await cursor.fetchall()
    # RETURNING gives no order on either backend.
    return sorted((_feed(row) for row in rows), key=lambda f: (f.next_check_at, f.id))


async def renew_feed_leases(conn: Connection, owner: str, feed_ids: Sequence[int], *, until: datetime) -> int:
    """Extend `owner`'s leases of `feed_ids` (the feeds it is still fetching) to `until`; returns how many
    it still held. A lease that ran out and was claimed by another poller has another owner: left alone."""
    renewed = 0
    for start in range(0, len(feed_ids), _CHUNK):
        chunk = list(feed_ids[start : start + _CHUNK])
        # Portable (no json_each, no ANY(array)): one "?" per id.
        marks = ",".join("?" * len(chunk))
        cursor = await conn.execute(
            f"UPDATE feeds SET lease_until = ? WHERE lease_owner = ? AND id IN ({marks})",
            (to_db(until), owner, *chunk),
        )
        renewed += cursor.rowcount
    return renewed


async def release_feeds(
    conn: Connection, owner: str, feed_ids: Sequence[int], *, rest_until: datetime | None = None
) -> None:
    """Give up `owner`'s leases of `feed_ids` (their polls ended and their outcome is stored, or could not
    be). With `rest_until` nobody claims them again before then: a feed whose outcome could not be
    stored still looks due, and must not be fetched again and again while the database is busy."""
    for start in range(0, len(feed_ids), _CHUNK):
        chunk = list(feed_ids[start : start + _CHUNK])
        marks = ",".join("?" * len(chunk))
        await conn.execute(
            f"UPDATE feeds SET lease_owner = NULL, lease_until = ? WHERE lease_owner = ? AND id IN ({marks})",
            (to_db(rest_until), owner, *chunk),
        )


_CHUNK = 500  # ids per statement: far below SQLite's 32,766 and PostgreSQL's 65,535 parameters


async def next_claimable_at(db: Database) -> datetime | None:
    """When the earliest feed can next be claimed: its next_check_at, or its lease's end if that is later."""
    async with db.reader.execute(
        "SELECT min(CASE WHEN lease_until IS NOT NULL AND lease_until > next_check_at"
        " THEN lease_until ELSE next_check_at END) FROM feeds"
    ) as cursor:
        row = await cursor.fetchone()
    return from_db(row[0]) if row else None


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    name: str
    owner: str
    until: datetime
    acquired_at: datetime


# Take the row when nobody has it, when its lease ran out, or when it is already ours (a renewal). On a
# conflict whose WHERE fails, neither SQLite nor PostgreSQL returns a row: "not acquired".
# acquired_at is kept across renewals, so it says since when this owner leads.
_ACQUIRE = (
    "INSERT INTO leases (name, owner, lease_until, acquired_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET lease_until = excluded.lease_until,"
    " acquired_at = CASE WHEN leases.owner = excluded.owner THEN leases.acquired_at ELSE excluded.acquired_at END,"
    " owner = excluded.owner"
    " WHERE leases.owner = excluded.owner OR leases.lease_until <= ?"
    " RETURNING owner"
)


async def acquire_lease(db: Database, name: str, owner: str, *, now: datetime, until: datetime) -> bool:
    """Hold the leader lease `name` as `owner` until `until` if it is free, expired or ours; True if held.

    Calling it again while holding the lease renews it. Portable SQL (INSERT … ON CONFLICT DO UPDATE …
    WHERE … RETURNING): SQLite >= 3.35 and PostgreSQL run it as it is.
    """
    async with (
        db.transaction() as conn,
        conn.execute(_ACQUIRE, (name, owner, to_db(until), to_db(now), to_db(now))) as cursor,
    ):
        row = await cursor.fetchone()
    return row is not None and row[0] == owner


async def release_lease(db: Database, name: str, owner: str) -> bool:
    """Give the lease up (a clean stop) so a standby takes over at once; False if it was not ours."""
    async with db.transaction() as conn:
        cursor = await conn.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))
        return cursor.rowcount > 0


async def lease_holder(db: Database, name: str) -> LeaseHolder | None:
    """Who holds (or last held) the lease `name`, and until when."""
    async with db.reader.execute(
        "SELECT name, owner, lease_until, acquired_at FROM leases WHERE name = ?", (name,)
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    until, acquired = from_db(row["lease_until"]), from_db(row["acquired_at"])
    assert until is not None and acquired is not None  # NOT NULL columns
    return LeaseHolder(name=row["name"], owner=row["owner"], until=until, acquired_at=acquired)


@dataclass(frozen=True, slots=True)
class RecentSend:
    chat_id: int
    chat_type: str
    sent_at: datetime  # the chat's latest message sent (whole seconds: the real moment may be up to 1 s later)


async def recent_sends(db: Database, *, since: datetime) -> list[RecentSend]:
    """Each chat's latest send at or after `since`: what a sender taking over from another must pace after.

    Run once per hand-over; it scans the sent rows (no index on sent_at: one more index on every send
    would cost more than this scan does once per takeover).
    """
    async with db.reader.execute(
        "SELECT d.chat_id, c.type, max(d.sent_at) FROM deliveries d JOIN chats c ON c.id = d.chat_id"
        " WHERE d.status = 'sent' AND d.sent_at >= ? GROUP BY d.chat_id, c.type",
        (to_db(since),),
    ) as cursor:
        rows = await cursor.fetchall()
    sends = []
    for chat_id, chat_type, sent_at in rows:
        moment = from_db(sent_at)
        assert moment is not None  # the WHERE clause
        sends.append(RecentSend(chat_id=chat_id, chat_type=chat_type or "private", sent_at=moment))
    return sends
