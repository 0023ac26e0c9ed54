"""The pacer: Pantau's sending policy as pure, synchronous code on a monotonic clock — no I/O.

Given the due outbox rows and `now`, `Pacer.plan` decides which chats get a message now (one alert, or
one digest when a chat has too many) and when to look again; `retry_plan` decides what a failed send
means for its rows (retry when, or give up as failed or expired). The sender (bot.delivery.sender) is
the I/O around it; tests drive this module with a fake clock and no sleeping.

Limits (PacingPolicy): overall ≤ `overall_rate` messages/s, spaced evenly — (1 + jitter_allowance) /
overall_rate apart, so arrivals bunched by up to `jitter_allowance` seconds of network jitter still never
put more than `overall_rate` into one second; ≤ 1 message/s per private chat and ≤ 20/min per group or
channel, counted from the moment the previous send to that chat *finished* (and was recorded), so a slow
request cannot bunch two arrivals together. RetryAfter pauses only the chat that got it (PTB's
AIORateLimiter would pause every chat).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from storage.deliveries import Delivery

GROUP_TYPES = frozenset({"group", "supergroup", "channel"})


@dataclass(frozen=True, slots=True)
class PacingPolicy:
    overall_rate: float = 25.0  # messages per second, all chats together
    # Seconds of arrival jitter one 1-s window absorbs: sends are (1 + this) / overall_rate apart, so
    # overall_rate + 1 arrivals span 1 + this seconds. 0.03 costs 3 % of the rate.
    jitter_allowance: float = 0.03
    private_interval: float = 1.0  # seconds between two messages to one private chat
    group_interval: float = 3.0  # 20 per minute to one group or channel
    digest_threshold: int | None = 5  # more alerts than this for one chat within digest_window → digest
    digest_min_items: int = 3  # a digest of two saves one message and hides both leads: send them singly
    digest_window: float = 60.0
    digest_max_items: int = 20
    max_attempts: int = 5  # unexpected errors before a row is marked failed (an outage has no such limit)
    backoff_base: float = 5.0
    # Capped low so that delivery resumes within a minute of the Bot API coming back after an outage.
    backoff_max: float = 60.0
    # Each backoff is shortened by up to this fraction at random, so the chats that failed together in an
    # outage do not all retry in the same instant.
    backoff_jitter: float = 0.2
    # An alert the Bot API could not take (network, 5xx) is retried until it is this old, then expired.
    max_age: float = 3600.0
    max_in_flight: int = 16  # concurrent sends (to different chats)

    @property
    def spacing(self) -> float:
        """Seconds between two sends, all chats together."""
        return (1.0 + self.jitter_allowance) / self.overall_rate

    def interval(self, chat_type: str, chat_id: int) -> float:
        if chat_type in GROUP_TYPES or (chat_type not in {"private"} and chat_id < 0):
            return self.group_interval
        return self.private_interval

    def backoff(self, attempts: int, jitter: float = 0.0) -> float:
        """Delay before retry number `attempts` (1-based) after a transient failure.

        `jitter` in [0, 1) (a random draw; 0 in tests) takes up to `backoff_jitter` of the delay off.
        """
        delay = float(min(self.backoff_max, self.backoff_base * 2 ** min(max(0, attempts - 1), 64)))
        return delay * (1.0 - self.backoff_jitter * min(max(jitter, 0.0), 1.0))


class Outcome(StrEnum):
    RETRY = "retry"
    FAILED = "failed"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class RetryPlan:
    """What happens to the rows of a send that failed transiently."""

    outcome: Outcome
    reason: str
    delay: float = 0.0  # seconds until the retry (RETRY only)


def retry_plan(
    policy: PacingPolicy, *, reason: str, attempts: int, age: float, outage: bool, jitter: float = 0.0
) -> RetryPlan:
    """Retry, fail or expire after a transient failure; `attempts` counts this one, `age` is the oldest
    row's seconds since it was queued.

    An outage (the Bot API unreachable or failing) is never final by count: the rows are retried with
    capped backoff until they are `max_age` old — the last retry falls exactly on that age — and only then
    expire. Anything unexpected gets `max_attempts` tries, then fails with its reason.
    """
    delay = policy.backoff(attempts, jitter)
    if outage:
        left = policy.max_age - age
        if left <= 0:
            return RetryPlan(Outcome.EXPIRED, f"{reason} (undeliverable for {age / 60:.0f} min)")
        return RetryPlan(Outcome.RETRY, reason, min(delay, left))
    if attempts < policy.max_attempts:
        return RetryPlan(Outcome.RETRY, reason, delay)
    return RetryPlan(Outcome.FAILED, f"{reason} (after {attempts} attempts)")


@dataclass(frozen=True, slots=True)
class Batch:
    """One Telegram message to send: a single alert, or a digest of several for one chat and topic."""

    chat_id: int
    thread_id: int | None
    chat_type: str
    rows: tuple[Delivery, ...]
    at: float = 0.0  # monotonic moment of its overall slot: the request starts then, not before

    @property
    def digest(self) -> bool:
        return len(self.rows) > 1

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows]


@dataclass(slots=True)
class Plan:
    batches: list[Batch] = field(default_factory=list)
    wake_at: float | None = None  # monotonic time worth planning again (None: only when woken)


class Pacer:
    """Per-chat and overall pacing state, in memory, on a monotonic clock."""

    def __init__(self, policy: PacingPolicy) -> None:
        self.policy = policy
        self.next_global = 0.0
        self.last_start = -math.inf  # when the latest send started (monotonic), see `start_at`
        self.chat_ready: dict[int, float] = {}
        self.in_flight: set[int] = set()
        self._recent: dict[int, deque[float]] = {}

    def recent_count(self, chat_id: int, now: float) -> int:
        """Alerts handed to this chat within the digest window (a digest counts all its alerts)."""
        window = self._recent.get(chat_id)
        if not window:
            return 0
        while window and window[0] <= now - self.policy.digest_window:
            window.popleft()
        return len(window)

    def plan(self, due: Sequence[Delivery], now: float, horizon: float = 0.0) -> Plan:
        """Which chats get a message now. `due` is oldest first; each chat gets at most one batch.

        With a `horizon`, overall slots up to `now + horizon` are handed out too (each batch's `at`), so
        the sender claims several sends at once and a late wake-up does not lose a slot.
        """
        plan = Plan()
        by_chat: dict[int, list[Delivery]] = {}
        for row in due:
            by_chat.setdefault(row.chat_id, []).append(row)

        def later(moment: float) -> None:
            plan.wake_at = moment if plan.wake_at is None else min(plan.wake_at, moment)

        for chat_id, rows in by_chat.items():  # dicts keep insertion order: the oldest alert goes first
            if len(self.in_flight) >= self.policy.max_in_flight:
                break  # a finished send wakes the sender
            if chat_id in self.in_flight:
                continue
            ready = self.chat_ready.get(chat_id, 0.0)
            slot = max(self.next_global, now)
            if ready > now and (ready > slot or slot > now + horizon):
                later(ready)
                continue
            if slot > now + horizon:
                later(self.next_global - horizon)
                break
            batch = self._batch(chat_id, rows, slot)
            self.reserve(batch, slot)
            plan.batches.append(batch)
        return plan

    def _batch(self, chat_id: int, rows: list[Delivery], now: float) -> Batch:
        first = rows[0]
        # Briefs, spike alerts, edits and updates always go alone; digests gather article alerts only.
        same_topic = [r for r in rows if r.thread_id == first.thread_id and r.is_alert]
        threshold = self.policy.digest_threshold
        if (
            first.is_alert
            and threshold is not None
            and len(same_topic) >= self.policy.digest_min_items
            and self.recent_count(chat_id, now) + len(rows) > threshold
        ):
            chosen = tuple(same_topic[: self.policy.digest_max_items])
        else:
            chosen = (first,)
        return Batch(chat_id=chat_id, thread_id=first.thread_id, chat_type=first.chat_type, rows=chosen, at=now)

    def reserve(self, batch: Batch, now: float) -> None:
        self.next_global = max(self.next_global, now) + self.policy.spacing
        self.in_flight.add(batch.chat_id)
        interval = self.policy.interval(batch.chat_type, batch.chat_id)
        self.chat_ready[batch.chat_id] = max(self.chat_ready.get(batch.chat_id, 0.0), now + interval)
        window = self._recent.setdefault(batch.chat_id, deque())
        window.extend([now] * len(batch.rows))

    def done(self, batch: Batch, now: float, *, sent_to: int | None = None) -> None:
        """The request for `batch` finished (either way) at `now`; the chat's next slot counts from here."""
        self.in_flight.discard(batch.chat_id)
        interval = self.policy.interval(batch.chat_type, batch.chat_id)
        for chat_id in {batch.chat_id, sent_to or batch.chat_id}:
            self.chat_ready[chat_id] = max(self.chat_ready.get(chat_id, 0.0), now + interval)

    def start_at(self, now: float) -> float:
        """When a send whose slot has come (at `now`) may start: at least `spacing` after the previous
        send's start. Slots are planned before the claim's database round trip and started by timers; a send
        that starts late (a slow claim, a busy event loop) would otherwise go out right before the next one,
        which starts on time: two sends closer than `spacing`, more than the rate in one second. Starting it
        moves the slots not yet planned along too."""
        start = max(now, self.last_start + self.policy.spacing)
        self.last_start = start
        self.next_global = max(self.next_global, start + self.policy.spacing)
        return start

    def release(self, batch: Batch) -> None:
        """`batch` was planned but will not be sent (its rows changed meanwhile): the chat is free again."""
        self.in_flight.discard(batch.chat_id)

    def pause(self, chat_id: int, until: float) -> None:
        self.chat_ready[chat_id] = max(self.chat_ready.get(chat_id, 0.0), until)

    def resume(self, recent: Sequence[tuple[int, str, float]], now: float) -> None:
        """Take over from another sender: `recent` is (chat id, chat type, seconds since its last send, at
        most) for the chats it sent to lately. Each chat waits out its interval from that send, and when
        any send is under a second old the overall pace starts one second (a full window) from now."""
        for chat_id, chat_type, age in recent:
            ready = now + self.policy.interval(chat_type, chat_id) - age
            self.chat_ready[chat_id] = max(self.chat_ready.get(chat_id, 0.0), ready)
        if any(age < 1.0 for _, _, age in recent):
            self.next_global = max(self.next_global, now + 1.0)

    def forget(self, chat_id: int) -> None:
        self.chat_ready.pop(chat_id, None)
        self._recent.pop(chat_id, None)
