"""/ringkasan (/summary), /ringkasan_harian (/daily), /zona, /lonjakan (/spikes), /ekspor (/export)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from telegram import Update

from bot.delivery.documents import compose_summary, describe_scope, send_composed
from bot.errors import InputError
from bot.models import SubscriptionFilter
from bot.reports.export import open_writer, write_all
from bot.reports.periods import (
    DEFAULT_ZONE,
    make_period,
    parse_brief_time,
    parse_zone,
    split_period,
    zone,
)
from bot.subscriptions.query import describe_filter, parse_query
from handlers import texts
from handlers.common import args_text, chat_of, message_of, register, reply, require_manager, thread_of
from handlers.context import AppContext, services
from storage import reports as report_store
from storage import subscriptions as sub_store
from storage.db import Database

esc = texts.esc
NO_SUBSCRIPTIONS = (
    "Chat ini belum punya langganan. Tulis filternya langsung, mis. <code>/ringkasan 7 hari Solo banjir</code>, "
    "atau berlangganan dulu dengan /langganan."
)


async def _scope(db: Database, chat_id: int, words: str) -> tuple[list[SubscriptionFilter], list[int | None], str]:
    """Filter words if given, else the chat's subscriptions: (filters, their subscription ids, description)."""
    if words:
        flt = parse_query(words).filter
        return [flt], [None], describe_filter(flt)
    subs = await sub_store.list_subscriptions(db, chat_id)
    if not subs:
        raise InputError(NO_SUBSCRIPTIONS)
    filters = [s.filter for s in subs]
    return filters, [s.id for s in subs], describe_scope(filters)


async def _zone(db: Database, chat_id: int) -> str:
    settings = await report_store.report_settings(db, chat_id)
    return settings.tz if settings else DEFAULT_ZONE


async def summary(update: Update, context: AppContext) -> None:
    """A chart and a caption for the period (default: the last 24 hours)."""
    svc = services(context)
    chat = chat_of(update)
    try:
        key, words = split_period(args_text(message_of(update)))
        filters, _, scope = await _scope(svc.db, chat.id, words)
    except InputError as exc:
        await reply(update, str(exc) if str(exc) == NO_SUBSCRIPTIONS else esc(str(exc)))
        return
    tz_name = await _zone(svc.db, chat.id)
    period = make_period(key, svc.now(), tz_name)
    composed = await compose_summary(svc.db, filters, period, scope, tz_name)
    await send_composed(context.bot, chat.id, thread_of(message_of(update)), composed)


async def daily(update: Update, context: AppContext) -> None:
    """/ringkasan_harian 07:00 | off: the daily brief of this chat."""
    svc = services(context)
    arg = args_text(message_of(update)).strip().lower()
    if not arg:
        settings = await report_store.report_settings(svc.db, chat_of(update).id)
        current = settings.brief_time if settings and settings.brief_time else None
        state = f"aktif setiap hari pukul {current} {settings.tz}" if current and settings else "mati"
        await reply(
            update,
            f"Ringkasan harian: {state}.\nAtur: <code>/ringkasan_harian 07:00</code> · matikan: "
            "<code>/ringkasan_harian off</code> · zona waktu: <code>/zona WITA</code>",
        )
        return
    if not await require_manager(update, context):
        return
    chat = await register(update, context)
    if arg in {"off", "mati", "stop"}:
        await report_store.set_brief(svc.db, chat.id, None, thread_id=None, now=svc.now())
        await reply(update, "Ringkasan harian dimatikan.")
        return
    try:
        at = parse_brief_time(arg)
    except InputError as exc:
        await reply(update, esc(str(exc)))
        return
    await report_store.set_brief(svc.db, chat.id, at, thread_id=thread_of(message_of(update)), now=svc.now())
    tz_name = await _zone(svc.db, chat.id)
    await reply(
        update,
        f"☀️ Ringkasan harian aktif: setiap hari pukul {at} {tz_name}, berisi 24 jam terakhir untuk langganan "
        "chat ini. Ganti zona: <code>/zona WITA</code> · matikan: <code>/ringkasan_harian off</code>",
    )


async def set_zone(update: Update, context: AppContext) -> None:
    """/zona WIB|WITA|WIT: the chat's time zone for briefs, charts and exports."""
    svc = services(context)
    arg = args_text(message_of(update))
    if not arg:
        await reply(update, f"Zona waktu chat ini: {await _zone(svc.db, chat_of(update).id)}. Ganti: /zona WITA")
        return
    try:
        name = parse_zone(arg)
    except InputError as exc:
        await reply(update, esc(str(exc)))
        return
    if not await require_manager(update, context):
        return
    chat = await register(update, context)
    await report_store.set_timezone(svc.db, chat.id, name, now=svc.now())
    await reply(update, f"Zona waktu chat ini sekarang {name}.")


async def spikes(update: Update, context: AppContext) -> None:
    """/lonjakan on|off: spike alerts for the chat's subscriptions."""
    svc = services(context)
    arg = args_text(message_of(update)).strip().lower()
    if arg not in {"on", "off", "aktif", "mati"}:
        settings = await report_store.report_settings(svc.db, chat_of(update).id)
        state = "aktif" if settings and settings.spike_alerts else "mati"
        await reply(
            update,
            f"Peringatan lonjakan: {state}. <code>/lonjakan on</code> atau <code>/lonjakan off</code>.\n"
            "Lonjakan = jumlah berita satu kasus di satu Kab/Kota dalam 6 jam jauh di atas biasanya "
            "(dibanding 28 hari terakhir), untuk wilayah dan kasus langganan chat ini.",
        )
        return
    if not await require_manager(update, context):
        return
    chat = await register(update, context)
    on = arg in {"on", "aktif"}
    await report_store.set_spike_alerts(svc.db, chat.id, on, now=svc.now())
    await reply(
        update,
        "⚠️ Peringatan lonjakan aktif untuk wilayah dan kasus langganan chat ini (paling sering sekali per "
        "Kab/Kota dan kasus setiap 12 jam)."
        if on
        else "Peringatan lonjakan dimatikan.",
    )


async def export(update: Update, context: AppContext) -> None:
    """/ekspor [7 hari|30 hari]: the matching articles as CSV and XLSX documents."""
    svc = services(context)
    chat = chat_of(update)
    try:
        key, words = split_period(args_text(message_of(update)), default="7hari")
        filters, ids, scope = await _scope(svc.db, chat.id, words)
    except InputError as exc:
        await reply(update, str(exc) if str(exc) == NO_SUBSCRIPTIONS else esc(str(exc)))
        return
    tz_name = await _zone(svc.db, chat.id)
    period = make_period(key, svc.now(), tz_name)
    stamp = svc.now().astimezone(zone(tz_name)).strftime("%Y%m%d")
    thread = thread_of(message_of(update))
    with tempfile.TemporaryDirectory(prefix="pantau-export-") as folder:
        paths = {fmt: Path(folder) / f"pantau-{period.key}-{stamp}.{fmt}" for fmt in ("csv", "xlsx")}
        writers = [open_writer(fmt, path, tz_name) for fmt, path in paths.items()]
        rows = report_store.export_rows(
            svc.db, filters, start=period.window.start, end=period.window.end, subscription_ids=ids
        )
        count = await write_all(rows, writers)
        if count == 0:
            await reply(update, f"Tidak ada berita yang cocok untuk {esc(scope)} pada {esc(period.label)}.")
            return
        caption = f"{count} berita · {esc(period.label)} · {esc(scope[:200])}"
        for path in paths.values():
            with path.open("rb") as handle:
                await context.bot.send_document(
                    chat.id, document=handle, filename=path.name, caption=caption, message_thread_id=thread
                )
