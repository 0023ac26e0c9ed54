"""A per-chat command rate limit: a token bucket per chat, in memory.

Each chat may send `capacity` commands (and button presses) at once, refilled at `capacity / per`
seconds. The first command over the limit gets one polite reply; later ones are dropped silently
until the bucket has a token again. The policy (`RateLimiter`) is pure, with an injected clock.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop

if TYPE_CHECKING:
    from handlers.context import AppContext

TOO_MANY = "Terlalu banyak perintah dari chat ini. Tunggu sekitar {seconds} detik, lalu coba lagi."


class Verdict(enum.Enum):
    ALLOW = "allow"
    WARN = "warn"  # over the limit: say so once
    DROP = "drop"  # over the limit, already told: stay silent


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class RateLimiter:
    """Token buckets keyed by chat id."""

    def __init__(self, capacity: int = 20, per: float = 60.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.rate = capacity / per  # tokens per second
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def check(self, chat_id: int) -> Verdict:
        now = self._clock()
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            if len(self._buckets) >= 10_000:
                self._forget_idle(now)
            bucket = self._buckets[chat_id] = _Bucket(tokens=float(self.capacity), at=now)
        bucket.tokens = min(float(self.capacity), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return Verdict.ALLOW
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def wait_seconds(self, chat_id: int) -> int:
        """Whole seconds until the chat's next command is allowed."""
        bucket = self._buckets.get(chat_id)
        if bucket is None or bucket.tokens >= 1.0:
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def _forget_idle(self, now: float) -> None:
        # A bucket that has refilled completely carries no information.
        for chat_id in [c for c, b in self._buckets.items() if b.tokens + (now - b.at) * self.rate >= self.capacity]:
            del self._buckets[chat_id]


def _our_command(update: Update, names: frozenset[str], bot_username: str | None) -> bool:
    """A /command of ours (other bots' commands in a group and unknown commands get no reply anyway)."""
    message = update.message or update.channel_post
    if message is None or not message.text or not message.text.startswith("/"):
        return False
    name, _, target = message.text.split(maxsplit=1)[0][1:].partition("@")
    if target and (bot_username is None or target.casefold() != bot_username.casefold()):
        return False
    return name.casefold() in names


def make_rate_limit(command_names: frozenset[str]) -> Callable[[object, AppContext], Coroutine[Any, Any, None]]:
    """The group -1 callback: over the limit, reply once and stop the update before any handler."""
    names = frozenset(n.casefold() for n in command_names)

    async def rate_limit(update: object, context: AppContext) -> None:
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        # Every text in a private chat gets an answer (a command, a hint), so all of them count there.
        private_text = update.effective_chat.type == "private" and update.message is not None
        if update.callback_query is None and not private_text and not _our_command(update, names, context.bot.username):
            return
        limiter = context.bot_data.limiter
        chat_id = update.effective_chat.id
        verdict = limiter.check(chat_id)
        if verdict is Verdict.ALLOW:
            return
        if verdict is Verdict.WARN:
            text = TOO_MANY.format(seconds=limiter.wait_seconds(chat_id))
            if update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(text, do_quote=False)
        raise ApplicationHandlerStop

    return rate_limit
