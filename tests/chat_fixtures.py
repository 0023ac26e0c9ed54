"""Shared helpers for the Telegram-side tests: an app wired to the in-process fake Bot API, articles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fake_botapi import TOKEN, FakeBotCore, FakeRequest, message_payload
from telegram import Update

from bot.config import Secret, Settings
from bot.ingest.store import StoreResult, store_and_queue
from bot.models import Classification, FeedItem, Place, Sentiment
from bot.runtime.telegram_app import build_application
from handlers.context import BotServices
from storage.articles import NewArticle
from storage.db import Database, open_database

NOW = datetime(2024, 12, 17, 23, 23, tzinfo=UTC)  # 18 Des 2024 06.23 WIB
SOLO = Place(name="Kota Surakarta", code="33.72", province="Jawa Tengah")
SUKOHARJO = Place(name="Kabupaten Sukoharjo", code="33.11", province="Jawa Tengah")
BANDUNG = Place(name="Kota Bandung", code="32.73", province="Jawa Barat")
ADMIN_ID = 99


class Clock:
    """A settable wall clock for storage timestamps."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_token": Secret(TOKEN),
        "api_base_url": "http://fake.invalid/bot",
        "db_path": tmp_path / "pantau.db",
        "admin_ids": frozenset({ADMIN_ID}),
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Harness:
    app: Any
    core: FakeBotCore
    db: Database
    clock: Clock
    services: BotServices

    async def send(self, payload: dict[str, Any]) -> None:
        """Push one update (payload as Telegram sends it) through every handler."""
        update_id = self.core.push_update(payload)
        data = {"update_id": update_id, **payload}
        await self.app.process_update(Update.de_json(data, self.app.bot))

    async def text(self, chat_id: int, text: str, **kwargs: Any) -> list[str]:
        """Send a message; return the texts the bot sent in reply (to any chat)."""
        before = len(self.core.sent())
        await self.send({"message": message_payload(chat_id, text, **kwargs)})
        return [p["text"] for p in self.core.sent()[before:]]


@asynccontextmanager
async def harness(tmp_path: Path, **overrides: Any) -> AsyncIterator[Harness]:
    cfg = settings(tmp_path, **overrides)
    db = await open_database(cfg.db_path)
    core = FakeBotCore()
    clock = Clock()
    services = BotServices(settings=cfg, db=db, clock=clock)
    app = build_application(cfg, request=FakeRequest(core), services=services, background=False)
    try:
        async with app:
            yield Harness(app=app, core=core, db=db, clock=clock, services=services)
    finally:
        await db.close()


def classification(
    city: Place | None,
    cases: Sequence[str] = (),
    sentiment: Sentiment = Sentiment.NEGATIVE,
    confidence: int = 87,
    others: Sequence[Place] = (),
) -> Classification:
    return Classification(
        city=city,
        other_cities=tuple(others),
        province=city.province if city else None,
        cases=tuple(cases),
        sentiment=sentiment,
        confidence=confidence,
        evidence={},
    )


_SYLLABLES = ("ka", "lo", "mi", "pu", "re", "sa", "tu", "wi", "go", "de", "ni", "ba", "ro", "ke", "ja", "hu")


def _word(i: int) -> str:
    """A made-up word, different for every i: default articles share no word, so each is a story of its
    own (near-identical texts would rightly be grouped into one story and alerted once)."""
    out, i = "", i + 300
    while i:
        out += _SYLLABLES[i % 16]
        i //= 16
    return out


def title_of(n: int) -> str:
    """The default title of article n."""
    return " ".join(_word(6 * n + k).title() for k in range(3)) + f" #{n}"


def new_article(
    n: int,
    cls: Classification,
    *,
    title: str | None = None,
    body: str | None = None,
    published: datetime | None = NOW,
) -> NewArticle:
    link = f"https://berita.example/{n}"
    item = FeedItem(
        guid=f"guid-{n}",
        link=link,
        title=title or title_of(n),
        summary=body if body is not None else " ".join(_word(6 * n + k) for k in range(3, 6)).capitalize() + ".",
        author=None,
        published=published,
    )
    return NewArticle(item=item, link=link, classification=cls, alert=True)


async def publish(db: Database, *articles: NewArticle, now: datetime = NOW) -> StoreResult:
    """Store articles and queue their alerts, as the poller does (no feed)."""
    return await store_and_queue(db, None, list(articles), now=now)
