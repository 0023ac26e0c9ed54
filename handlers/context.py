"""What every handler can reach: settings, the database, the clock and the sender, kept in bot_data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from telegram.ext import CallbackContext, ExtBot

from bot.config import Settings
from bot.ingest.feedlist import probe_feed
from storage.db import Database
from storage.timeutil import utcnow

if TYPE_CHECKING:
    from bot.delivery.sender import Sender

SERVICES_KEY = "pantau"

AppContext = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]


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


def services(context: AppContext) -> BotServices:
    return cast(BotServices, context.bot_data[SERVICES_KEY])
