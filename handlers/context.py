"""What every handler can reach, typed: PTB's `ContextTypes` with our own bot_data and chat_data classes.

`BotData` (one per application) holds the services (settings, database, clock, sender) and the command rate
limiter; `ChatData` (one per chat) holds nothing: whatever a button or a conversation needs lives in the
database (storage.button_state), so any of several bot instances can answer the next update. No string
keys: mypy sees every field, and a misspelt one is an error rather than a silent `KeyError` at run time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.config import Settings
from bot.ingest.feedlist import probe_feed
from bot.models import Sentiment, SubscriptionFilter
from handlers.ratelimit import RateLimiter
from storage.db import Database
from storage.timeutil import utcnow

if TYPE_CHECKING:
    from bot.delivery.sender import Sender


@dataclass(slots=True)
class BotServices:
    settings: Settings
    db: Database
    clock: Callable[[], datetime] = utcnow
    sender: Sender | None = None
    # /addfeed fetches a new feed once through the SSRF guard before storing it; raises FetchError.
    feed_probe: Callable[[str], Awaitable[None]] = probe_feed

    def now(self) -> datetime:
        return self.clock()


@dataclass(slots=True)
class ChatData:
    """Per-chat state (context.chat_data): deliberately empty. Several bot instances behind a webhook each
    have their own memory, so button and conversation state is kept in the database (storage.button_state:
    picker drafts, paged lists, broad subscriptions awaiting "Ya, simpan")."""


@dataclass(frozen=True, slots=True)
class PendingSubscription:
    """A broad subscription waiting for the "Ya, simpan" button."""

    filter: SubscriptionFilter
    thread_id: int | None
    user_id: int | None
    notes: tuple[str, ...] = ()


def pending_to_json(pending: PendingSubscription) -> dict[str, Any]:
    flt = pending.filter
    return {
        "areas": sorted(flt.area_codes),
        "cases": sorted(flt.cases),
        "sentiments": sorted(flt.sentiments),
        "include": list(flt.include_keywords),
        "exclude": list(flt.exclude_keywords),
        "thread_id": pending.thread_id,
        "user_id": pending.user_id,
        "notes": list(pending.notes),
    }


def pending_from_json(data: dict[str, Any]) -> PendingSubscription | None:
    """The draft stored by `pending_to_json`; None when the stored JSON is not one (never trusted blindly)."""
    try:
        flt = SubscriptionFilter(
            area_codes=frozenset(str(a) for a in data["areas"]),
            cases=frozenset(str(c) for c in data["cases"]),
            sentiments=frozenset(Sentiment(s) for s in data["sentiments"]),
            include_keywords=tuple(str(k) for k in data["include"]),
            exclude_keywords=tuple(str(k) for k in data["exclude"]),
        )
        thread_id, user_id = data["thread_id"], data["user_id"]
        if not all(v is None or isinstance(v, int) for v in (thread_id, user_id)):
            return None
        return PendingSubscription(flt, thread_id=thread_id, user_id=user_id, notes=tuple(map(str, data["notes"])))
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(slots=True)
class BotData:
    """Application-wide state (context.bot_data). `services` is set before the first update is handled."""

    services: BotServices | None = None
    limiter: RateLimiter = field(default_factory=RateLimiter)
    # Owned by bot.runtime (which checks its type): its background tasks; and the recent 409 Conflict times.
    runtime: object = None
    conflicts: list[float] = field(default_factory=list)


AppContext = CallbackContext[ExtBot[None], dict[Any, Any], ChatData, BotData]
CONTEXT_TYPES: ContextTypes[AppContext, dict[Any, Any], ChatData, BotData] = ContextTypes(
    context=CallbackContext, bot_data=BotData, chat_data=ChatData
)


def services(context: AppContext) -> BotServices:
    svc = context.bot_data.services
    assert svc is not None, "the runtime puts the services in bot_data before handling updates"
    return svc


def chat_data(context: AppContext) -> ChatData:
    assert context.chat_data is not None  # every handler we register fires on an update with a chat
    return context.chat_data
