"""Reports as Telegram messages: the summary photo (chart + caption) of /ringkasan and the daily brief,
and spike alerts. The sender (bot.delivery.sender) calls `send_report` for outbox rows of kind 'brief'
and 'spike' and maps its Telegram errors like an alert's; /ringkasan calls `compose_summary` directly.

A brief is rendered when it is sent, for the period stored in its row (the 24 hours before its
scheduled moment), so a resend after a crash shows the same period.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from telegram import Bot, LinkPreviewOptions, Message
from telegram.constants import ParseMode

from bot.models import SubscriptionFilter, SummaryData
from bot.reports import spikes
from bot.reports.chart import render_png
from bot.reports.periods import DEFAULT_ZONE, Period, daily_period
from bot.reports.summary import ChartSpec, caption_html, chart_spec, empty_text
from bot.subscriptions.query import describe_filter
from storage import reports as report_store
from storage.db import Database
from storage.deliveries import Delivery, articles_by_id
from storage.subscriptions import list_subscriptions
from storage.timeutil import from_db


@dataclass(frozen=True, slots=True)
class Composed:
    """A summary ready to send: a photo with its caption, or (nothing to chart) one line of text."""

    text: str
    png: bytes | None = None
    spec: ChartSpec | None = None
    data: SummaryData | None = None


def describe_scope(filters: Sequence[SubscriptionFilter]) -> str:
    if len(filters) == 1:
        return describe_filter(filters[0])
    return "langganan chat ini (" + "; ".join(describe_filter(f) for f in filters) + ")"


async def compose_summary(
    db: Database, filters: Sequence[SubscriptionFilter], period: Period, scope: str, tz_name: str
) -> Composed:
    data = await report_store.summary(db, filters, period.window, previous=period.previous)
    if data.total == 0:
        return Composed(text=empty_text(period, scope, tz_name), data=data)
    spec = chart_spec(data, period, scope, tz_name)
    # matplotlib is CPU-bound: off the event loop, so polling and sending go on meanwhile.
    png = await asyncio.to_thread(render_png, spec)
    return Composed(text=caption_html(data, period, scope, tz_name), png=png, spec=spec, data=data)


async def send_composed(bot: Bot, chat_id: int, thread_id: int | None, composed: Composed) -> Message:
    if composed.png is None:
        return await bot.send_message(
            chat_id=chat_id, text=composed.text, parse_mode=ParseMode.HTML, message_thread_id=thread_id
        )
    return await bot.send_photo(
        chat_id=chat_id,
        photo=composed.png,
        caption=composed.text,
        parse_mode=ParseMode.HTML,
        message_thread_id=thread_id,
    )


async def _brief(db: Database, row: Delivery, chat_id: int) -> Composed:
    settings = await report_store.report_settings(db, row.chat_id)
    tz_name = settings.tz if settings else DEFAULT_ZONE
    end = from_db(json.loads(row.payload or "{}").get("end")) or row.next_attempt_at
    period = daily_period(end, tz_name)
    subs = await list_subscriptions(db, row.chat_id)
    if not subs:
        return Composed(
            text="Ringkasan harian: chat ini belum punya langganan. Tambahkan dengan /langganan, "
            "atau matikan ringkasan dengan <code>/ringkasan_harian off</code>."
        )
    filters = [sub.filter for sub in subs]
    composed = await compose_summary(db, filters, period, describe_scope(filters), tz_name)
    return Composed(text="☀️ " + composed.text, png=composed.png, spec=composed.spec, data=composed.data)


async def spike_text(db: Database, spike_id: int) -> str | None:
    spike = await report_store.get_spike(db, spike_id)
    if spike is None:
        return None
    articles = await articles_by_id(db, spike.article_ids)
    stories = [(a.title, a.link, a.source or "") for a in (articles.get(i) for i in spike.article_ids) if a is not None]
    return spikes.alert_html(
        count=spike.count,
        expected=spike.expected,
        case_key=spike.case_key,
        city_name=spike.city_name,
        window_hours=spike.window_hours,
        unit=spike.unit,
        stories=stories,
    )


class ReportGone(Exception):
    """The spike a row points at no longer exists (should not happen: spikes are never deleted)."""


async def send_report(
    db: Database, bot: Bot, row: Delivery, *, chat_id: int, thread_id: int | None, now: datetime
) -> Message:
    """Render and send one brief or spike row; Telegram errors propagate to the sender's mapping."""
    if row.kind == "brief":
        return await send_composed(bot, chat_id, thread_id, await _brief(db, row, chat_id))
    text = await spike_text(db, int(row.report_key or 0))
    if text is None:
        raise ReportGone(f"spike {row.report_key} not found")
    return await bot.send_message(
        chat_id=chat_id,
        text=text,
        parse_mode=ParseMode.HTML,
        message_thread_id=thread_id,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
