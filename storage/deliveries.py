"""The outbox: one row per chat × forum topic × article, written with the article, drained by the sender
(bot.delivery.sender).

Besides article alerts (kind 'alert') it carries the reports of storage.reports: a chat's daily brief
(kind 'brief', one per chat per local day) and spike alerts (kind 'spike', one per chat per spike); those
rows have no article and are rendered when sent (bot.delivery.documents).
A row's `kind` says what it sends (issue #10): 'alert' — a new message, the first report of a story a chat
gets; 'edit' — rewrite that alert (`target_id`) in place to name the story's other outlets; 'update' — a
"Pembaruan" sent as a reply to it. Rows carry their `story_id`, so the story's followers are one indexed read.

Status flow: pending → sending → sent | pending (retry later) | failed (Telegram refused it, with the reason)
| expired (not deliverable within the maximum age, e.g. a long Bot API outage); all counted in /stats.
A row left in 'sending' means the process stopped mid-send (or could not record the outcome);
`recover_interrupted` at start-up and `requeue_stuck` while running put it back in the queue — so an
alert whose send may have reached Telegram is sent at most once more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.models import Article
from storage.articles import article_from_row
from storage.backend import Connection, Row, marks
from storage.db import Database
from storage.timeutil import from_db, to_db

ERROR_MAX = 500
# SQL: chat `c` holds its alerts at the time bound to the one `?` — paused with no end, or not over yet.
# Held rows stay pending and go out when the pause ends (storage.chats.set_paused).
HELD = "(c.paused = 1 AND (c.paused_until IS NULL OR c.paused_until > ?))"

ALERT, EDIT, UPDATE = "alert", "edit", "update"


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    chat_id: int
    article_id: int | None  # None for a brief or a spike alert
    thread_id: int | None
    reason: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    chat_type: str = "private"  # from the chats table; decides the per-chat pace
    created_at: datetime | None = None  # when it was queued: its age decides expiry during an outage
    kind: str = ALERT  # alert | edit | update (issue #10) | brief | spike
    report_key: str | None = None  # brief: the local day; spike: the spike's id
    payload: str | None = None  # JSON, for briefs: the period's end
    story_id: int | None = None
    target_id: int | None = None  # edit / update: the alert row whose message it edits or replies to
    message_id: int | None = None  # once sent: the Telegram message that carried it
    digest: bool = False

    @property
    def is_alert(self) -> bool:
        return self.kind == ALERT

    @property
    def has_article(self) -> bool:
        """An alert, edit or update: a row about an article (briefs and spikes have none)."""
        return self.kind in (ALERT, EDIT, UPDATE)


def _delivery(row: Row) -> Delivery:
    due = from_db(row["next_attempt_at"])
    assert due is not None
    keys = row.keys()
    return Delivery(
        kind=row["kind"] if "kind" in keys else ALERT,
        story_id=row["story_id"] if "story_id" in keys else None,
        target_id=row["target_id"] if "target_id" in keys else None,
        message_id=row["message_id"] if "message_id" in keys else None,
        digest=bool(row["digest"]) if "digest" in keys else False,
        id=row["id"],
        chat_id=row["chat_id"],
        article_id=row["article_id"],
        thread_id=row["thread_id"],
        reason=row["reason"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=due,
        last_error=row["last_error"],
        chat_type=row["chat_type"] if "chat_type" in keys and row["chat_type"] else "private",
        created_at=from_db(row["created_at"]),
        report_key=row["report_key"],
        payload=row["payload"],
    )


async def queue_delivery(
    conn: Connection,
    *,
    chat_id: int,
    article_id: int,
    thread_id: int | None,
    reason: str,
    now: datetime,
) -> bool:
    """Queue inside the caller's transaction; False when this chat (topic) already has this article."""
    cursor = await conn.execute(
        "INSERT INTO deliveries (chat_id, article_id, thread_id, reason, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (chat_id, article_id, thread_id, reason, to_db(now), to_db(now)),
    )
    return cursor.rowcount == 1


async def queue_deliveries(
    conn: Connection,
    rows: list[tuple[int, int | None, str]],
    *,
    article_id: int,
    now: datetime,
    story_id: int | None = None,
) -> int:
    """Queue (chat_id, thread_id, reason) alert rows for one article in one statement; returns how many
    were new.

    Same rows as calling queue_delivery for each: a chat topic that already has this article is skipped.
    """
    stamp = to_db(now)
    cursor = await conn.executemany(
        "INSERT INTO deliveries (chat_id, article_id, thread_id, reason, next_attempt_at, created_at,"
        " kind, story_id) VALUES (?, ?, ?, ?, ?, ?, 'alert', ?) ON CONFLICT DO NOTHING",
        [(chat_id, article_id, thread_id, reason, stamp, stamp, story_id) for chat_id, thread_id, reason in rows],
    )
    return max(cursor.rowcount, 0)


@dataclass(frozen=True, slots=True)
class StoryAlert:
    """What a chat already has of one story: its alert row and the state of the edits to it."""

    delivery_id: int
    chat_id: int
    thread_id: int | None
    reason: str
    status: str  # of the alert row: pending | sending | sent
    digest: bool  # the alert went out inside a digest message (which is not edited)
    pending_edit: bool  # an edit row still waits: a newer report is picked up when it is sent
    last_edit_at: datetime | None  # latest edit sent or due, for spacing edits apart


@dataclass(frozen=True, slots=True)
class Followup:
    """An edit or update row for one chat (kind EDIT or UPDATE), due at `due`."""

    chat_id: int
    thread_id: int | None
    kind: str
    target_id: int
    due: datetime
    reason: str = ""


async def story_alerts(conn: Connection, story_id: int) -> dict[tuple[int, int | None], StoryAlert]:
    """(chat id, forum topic) → its alert of this story, for the active chats that have one not failed
    (the first one wins). A story is alerted once per chat and topic."""
    async with conn.execute(
        "SELECT d.id, d.chat_id, d.thread_id, d.reason, d.status, d.digest, d.kind, d.target_id, d.sent_at,"
        " d.next_attempt_at FROM deliveries d JOIN chats c ON c.id = d.chat_id"
        " WHERE d.story_id = ? AND c.active = 1 ORDER BY d.id",
        (story_id,),
    ) as cursor:
        rows = list(await cursor.fetchall())
    alerts: dict[tuple[int, int | None], StoryAlert] = {}
    by_id: dict[int, tuple[int, int | None]] = {}
    for row in rows:
        key = (row["chat_id"], row["thread_id"])
        if row["kind"] == ALERT and row["status"] != "failed" and key not in alerts:
            alerts[key] = StoryAlert(
                delivery_id=row["id"],
                chat_id=row["chat_id"],
                thread_id=row["thread_id"],
                reason=row["reason"],
                status=row["status"],
                digest=bool(row["digest"]),
                pending_edit=False,
                last_edit_at=None,
            )
            by_id[row["id"]] = key
    for row in rows:
        target = by_id.get(row["target_id"]) if row["kind"] == EDIT else None
        if target is None:
            continue
        alert = alerts[target]
        at = from_db(row["sent_at"] or row["next_attempt_at"])
        last = alert.last_edit_at if alert.last_edit_at and at and alert.last_edit_at > at else at
        alerts[target] = replace(
            alert, pending_edit=alert.pending_edit or row["status"] == "pending", last_edit_at=last
        )
    return alerts


async def queue_followups(
    conn: Connection, rows: Sequence[Followup], *, article_id: int, story_id: int, now: datetime
) -> int:
    """Queue edit and update rows brought by one report, inside the caller's transaction; returns how many."""
    stamp = to_db(now)
    cursor = await conn.executemany(
        "INSERT INTO deliveries (chat_id, article_id, thread_id, reason, next_attempt_at, created_at,"
        " kind, story_id, target_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [
            (f.chat_id, article_id, f.thread_id, f.reason, to_db(f.due), stamp, f.kind, story_id, f.target_id)
            for f in rows
        ],
    )
    return max(cursor.rowcount, 0)


async def due_deliveries(db: Database, now: datetime, limit: int = 500, per_chat: int = 50) -> list[Delivery]:
    """Pending rows whose time has come, for chats that are active and not holding alerts, oldest first.

    At most `per_chat` rows per chat, so one chat's backlog (a flood pause, a slow group) never hides
    the other chats' alerts behind the overall limit. Alerts queued together (one poll) come in
    publication order, oldest news first.
    """
    async with db.reader.execute(
        "SELECT * FROM ("
        "  SELECT d.*, c.type AS chat_type, coalesce(a.published_at, a.fetched_at, d.created_at) AS news_time,"
        "    row_number() OVER (PARTITION BY d.chat_id"
        "      ORDER BY d.next_attempt_at, coalesce(a.published_at, a.fetched_at, d.created_at), d.id) AS nth"
        "  FROM deliveries d JOIN chats c ON c.id = d.chat_id LEFT JOIN articles a ON a.id = d.article_id"
        f"  WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND c.active = 1 AND NOT {HELD}"
        ") AS due WHERE nth <= ? ORDER BY next_attempt_at, news_time, id LIMIT ?",
        (to_db(now), to_db(now), per_chat, limit),
    ) as cursor:
        return [_delivery(row) for row in await cursor.fetchall()]


async def hold_chat(db: Database, chat_id: int, *, until: datetime, error: str) -> int:
    """Nothing for this chat before `until` (Telegram asked us to wait); returns rows held."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE deliveries SET next_attempt_at = CASE WHEN next_attempt_at > ? THEN next_attempt_at ELSE ? END,"
            " last_error = ? WHERE chat_id = ? AND status = 'pending'",
            (to_db(until), to_db(until), error[:ERROR_MAX], chat_id),
        )
        return cursor.rowcount


async def next_attempt_at(db: Database) -> datetime | None:
    """When the earliest pending row of an active chat becomes due (None: nothing queued).

    A chat paused for a while holds its rows until `paused_until`; a chat paused with no end until /resume,
    which wakes the sender itself.
    """
    async with db.reader.execute(
        "SELECT min(CASE WHEN c.paused = 0 THEN d.next_attempt_at"
        " WHEN d.next_attempt_at > c.paused_until THEN d.next_attempt_at ELSE c.paused_until END)"
        " FROM deliveries d JOIN chats c ON c.id = d.chat_id"
        " WHERE d.status = 'pending' AND c.active = 1 AND (c.paused = 0 OR c.paused_until IS NOT NULL)"
    ) as cursor:
        row = await cursor.fetchone()
    return from_db(row[0]) if row else None


async def get_deliveries(db: Database, ids: Sequence[int]) -> list[Delivery]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    async with db.reader.execute(
        f"SELECT d.*, c.type AS chat_type FROM deliveries d JOIN chats c ON c.id = d.chat_id"
        f" WHERE d.id IN ({marks}) ORDER BY d.id",
        list(ids),
    ) as cursor:
        return [_delivery(row) for row in await cursor.fetchall()]


async def recover_interrupted(db: Database) -> int:
    """Rows left 'sending' by a process that stopped mid-send go back to the queue; returns how many."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE deliveries SET status = 'pending',"
            " last_error = coalesce(last_error, 'interrupted while sending') WHERE status = 'sending'"
        )
        return cursor.rowcount


async def requeue_stuck(db: Database, *, keep: Iterable[int], error: str) -> int:
    """Rows 'sending' that no send in this process owns any more (their outcome could not be written) go
    back to pending now, counting an attempt; `keep` are the rows still in flight. Returns how many."""
    kept = sorted(set(keep))
    spare = f" AND id NOT IN ({marks(kept)})" if kept else ""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE deliveries SET status = 'pending', attempts = attempts + 1, last_error = ?"
            f" WHERE status = 'sending'{spare}",
            (error[:ERROR_MAX], *kept),
        )
        return cursor.rowcount


async def mark_sending(db: Database, ids: Sequence[int]) -> None:
    """Mark rows in flight before the send, so a crash leaves evidence of a possible duplicate."""
    async with db.transaction() as conn:
        await conn.executemany("UPDATE deliveries SET status = 'sending' WHERE id = ?", [(i,) for i in ids])


async def claim_due(db: Database, ids: Sequence[int], *, now: datetime) -> dict[int, int]:
    """Mark rows 'sending' before their send, in one statement; returns the ids actually claimed, each
    with the number of reports its story has at that moment (0: no story).

    Only rows still pending, due by `now`, of an active chat not holding alerts are claimed: the sender plans from
    an in-memory copy of the due list, and a row may have changed since (a chat paused or deactivated,
    a flood wait held the chat, another process settled it). Unclaimed rows must not be sent. The report
    count is read in the claiming statement, so a report stored after it finds the row 'sending' (and
    queues an edit), and one stored before it is counted.
    """
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    async with (
        db.transaction() as conn,
        conn.execute(
            f"UPDATE deliveries SET status = 'sending' WHERE id IN ({marks}) AND status = 'pending'"
            f" AND next_attempt_at <= ? AND chat_id IN (SELECT c.id FROM chats c WHERE c.active = 1 AND NOT {HELD})"
            " RETURNING id, coalesce((SELECT reports FROM stories WHERE stories.id = deliveries.story_id), 0)",
            [*ids, to_db(now), to_db(now)],
        ) as cursor,
    ):
        return {row[0]: row[1] for row in await cursor.fetchall()}


async def articles_by_id(db: Database, ids: Iterable[int | None]) -> dict[int, Article]:
    """The stored articles among `ids`, in one query (missing ids and None are left out)."""
    wanted = [i for i in set(ids) if i is not None]
    found: dict[int, Article] = {}
    for start in range(0, len(wanted), 500):  # stay far below SQLite's variable limit
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        async with db.reader.execute(f"SELECT * FROM articles WHERE id IN ({marks})", chunk) as cursor:
            for row in await cursor.fetchall():
                found[row["id"]] = article_from_row(row)
    return found


async def requeue_sending(db: Database, ids: Sequence[int], *, at: datetime, error: str, fail: bool = False) -> int:
    """Rows still 'sending' after a send that ended in a bug go back to pending, due at `at` (or, with
    `fail`, become failed with `error`); rows the send already settled are left alone."""
    async with db.transaction() as conn:
        cursor = await conn.executemany(
            "UPDATE deliveries SET status = ?, next_attempt_at = ?, last_error = ?, attempts = attempts + 1"
            " WHERE id = ? AND status = 'sending'",
            [("failed" if fail else "pending", to_db(at), error[:ERROR_MAX], i) for i in ids],
        )
        return max(cursor.rowcount, 0)


async def mark_sent_many(db: Database, marks: Sequence[tuple[Sequence[int], datetime, int | None, bool]]) -> None:
    """Mark finished sends as sent — (ids, sent at, message_id, digest) each — in one transaction."""
    params = [(to_db(now), message_id, int(digest), i) for ids, now, message_id, digest in marks for i in ids]
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE deliveries SET status = 'sent', sent_at = ?, message_id = ?, digest = ?,"
            " attempts = attempts + 1 WHERE id = ?",
            params,
        )


async def reschedule(
    db: Database, ids: Sequence[int], *, at: datetime, error: str | None, count_attempt: bool = True
) -> None:
    """Back to pending, due at `at`. Flood waits (RetryAfter) do not count as a failed attempt."""
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, last_error = ?,"
            " attempts = attempts + ? WHERE id = ?",
            [(to_db(at), error[:ERROR_MAX] if error else None, int(count_attempt), i) for i in ids],
        )


async def mark_failed(db: Database, ids: Sequence[int], *, error: str) -> None:
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE deliveries SET status = 'failed', last_error = ?, attempts = attempts + 1 WHERE id = ?",
            [(error[:ERROR_MAX], i) for i in ids],
        )


async def mark_expired(db: Database, ids: Sequence[int], *, error: str) -> None:
    """Give up on rows that stayed undeliverable for longer than the maximum age."""
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE deliveries SET status = 'expired', last_error = ?, attempts = attempts + 1 WHERE id = ?",
            [(error[:ERROR_MAX], i) for i in ids],
        )


async def fail_pending_for_chat(conn: Connection, chat_id: int, reason: str) -> int:
    """Inside the caller's transaction: every queued row of a chat becomes failed with `reason`."""
    cursor = await conn.execute(
        "UPDATE deliveries SET status = 'failed', last_error = ?"
        " WHERE chat_id = ? AND status IN ('pending', 'sending')",
        (reason[:ERROR_MAX], chat_id),
    )
    return cursor.rowcount


async def count_by_status(db: Database) -> dict[str, int]:
    async with db.reader.execute("SELECT status, count(*) FROM deliveries GROUP BY status") as cursor:
        return {row[0]: row[1] for row in await cursor.fetchall()}


async def failure_reasons(db: Database, limit: int = 5) -> list[tuple[str, int]]:
    """The most common reasons of failed or expired rows, for /stats."""
    async with db.reader.execute(
        "SELECT coalesce(last_error, '?'), count(*) AS n FROM deliveries WHERE status IN ('failed', 'expired')"
        " GROUP BY 1 ORDER BY n DESC, 1 LIMIT ?",
        (limit,),
    ) as cursor:
        return [(row[0], row[1]) for row in await cursor.fetchall()]


async def recipients_of(db: Database, article_id: int) -> list[tuple[int, str]]:
    """(chat id, "Cocok" reason) of every outbox row queued for one article; the demo prints them."""
    async with db.reader.execute(
        "SELECT chat_id, reason FROM deliveries WHERE article_id = ? ORDER BY chat_id DESC", (article_id,)
    ) as cursor:
        return [(int(chat_id), str(reason)) for chat_id, reason in await cursor.fetchall()]
