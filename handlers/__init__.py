"""Telegram-facing handlers. `register(application)` is the one list of every handler and the menu.

Handlers are thin: parse the update, make one call into bot/ or storage/, reply in Bahasa Indonesia.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.feedback.buttons import ALERT_DATA_PATTERN, CORRECTION_DATA_PATTERN
from handlers import admin, browse, corrections, picker, reports, start, subscriptions
from handlers.context import AppContext, BotData
from handlers.errors import error_handler
from handlers.ratelimit import make_rate_limit
from storage.button_state import TOKEN_PATTERN

Callback = Callable[[Update, AppContext], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    aliases: tuple[str, ...]
    description: str  # shown in Telegram's menu (≤ 256 characters)
    callback: Callback
    admin: bool = False


COMMANDS: tuple[Command, ...] = (
    Command("start", ("mulai",), "Mulai dan aktifkan peringatan di chat ini", start.start),
    Command("help", ("bantuan",), "Semua perintah dengan contoh (/bantuan)", start.help_command),
    Command("subscribe", ("langganan",), "Langganan: kota, kasus, sentimen (/langganan)", subscriptions.subscribe),
    Command("subscriptions", ("daftar",), "Daftar langganan chat ini (/daftar)", subscriptions.list_subscriptions),
    Command("unsubscribe", ("berhenti",), "Hapus langganan: nomor atau all (/berhenti)", subscriptions.unsubscribe),
    Command("latest", ("terbaru",), "5 berita terbaru yang cocok (/terbaru)", browse.latest),
    Command("search", ("cari",), "Cari di berita tersimpan (/cari)", browse.search),
    Command("cities", ("kota",), "Nama kota/kabupaten yang dikenal (/kota)", browse.cities),
    Command("cases", ("kasus",), "Daftar kasus (/kasus)", browse.cases),
    Command("pause", ("jeda",), "Jeda peringatan di chat ini (/jeda)", subscriptions.pause),
    Command("resume", ("lanjut",), "Lanjutkan peringatan (/lanjut)", subscriptions.resume),
    Command("muted", ("bisukan",), "Sumber berita yang dibisukan (/bisukan)", corrections.muted),
    Command("unmute", ("suarakan",), "Suarakan lagi sumber: nomor atau all (/suarakan)", corrections.unmute),
    Command("summary", ("ringkasan",), "Grafik dan ringkasan berita (/ringkasan 7 hari)", reports.summary),
    Command("daily", ("ringkasan_harian",), "Ringkasan otomatis tiap hari (/ringkasan_harian)", reports.daily),
    Command("zone", ("zona",), "Zona waktu chat: WIB, WITA, WIT (/zona)", reports.set_zone),
    Command("spikes", ("lonjakan",), "Peringatan lonjakan berita: on/off (/lonjakan)", reports.spikes),
    Command("export", ("ekspor",), "Berkas CSV dan Excel berita yang cocok (/ekspor)", reports.export),
    Command("addfeed", ("tambahfeed",), "Admin: tambah feed", admin.add_feed, admin=True),
    Command("feeds", (), "Admin: daftar feed dan kesehatannya", admin.list_feeds, admin=True),
    Command("removefeed", ("hapusfeed",), "Admin: hapus feed", admin.remove_feed, admin=True),
    Command("stats", ("statistik",), "Admin: statistik dan antrean", admin.stats, admin=True),
)

# Commands in channels arrive as channel posts; edits of old commands are ignored (no double subscribe).
_COMMAND_UPDATES = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add every handler and the error handler to the application (built with `CONTEXT_TYPES`)."""
    if not isinstance(application.bot_data, BotData):
        raise TypeError("build the application with .context_types(handlers.context.CONTEXT_TYPES)")
    # Group -1 runs before the handlers below; it stops an update from a chat over its command limit.
    names = frozenset(name for c in COMMANDS for name in (c.name, *c.aliases))
    application.add_handler(TypeHandler(Update, make_rate_limit(names)), group=-1)
    for command in COMMANDS:
        application.add_handler(
            CommandHandler((command.name, *command.aliases), command.callback, filters=_COMMAND_UPDATES)
        )
    # PTB passes a callback query with empty data to the first handler that has a pattern, whatever the
    # pattern; this one matches no non-empty data, so it is the one that gets (and answers) those.
    application.add_handler(CallbackQueryHandler(start.stale_button, pattern=lambda data: False))
    # Tokens name state stored in the database (storage.button_state): buttons work after a restart.
    application.add_handler(CallbackQueryHandler(picker.button, pattern=rf"^pk:{TOKEN_PATTERN}:"))
    application.add_handler(CallbackQueryHandler(browse.page_button, pattern=rf"^pg:{TOKEN_PATTERN}:[0-9]{{1,4}}$"))
    application.add_handler(CallbackQueryHandler(browse.story_button, pattern=r"^st:[0-9]{1,18}$"))
    application.add_handler(CallbackQueryHandler(subscriptions.unsubscribe_button, pattern=r"^un:([0-9]{1,18}|all)$"))
    application.add_handler(CallbackQueryHandler(corrections.alert_button, pattern=ALERT_DATA_PATTERN))
    application.add_handler(CallbackQueryHandler(corrections.correction_button, pattern=CORRECTION_DATA_PATTERN))
    application.add_handler(CallbackQueryHandler(subscriptions.confirm_button, pattern=rf"^bs:{TOKEN_PATTERN}:(ok|x)$"))
    application.add_handler(CallbackQueryHandler(start.stale_button))  # any other callback data
    application.add_handler(ChatMemberHandler(start.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, start.migrated))
    # Before the picker's: a reply to the "Kab/Kota yang benar?" prompt is a correction, not a city search.
    application.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE & corrections.PROMPT_REPLY,
            corrections.typed_place,
        )
    )
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, picker.typed_city)
    )
    # Registered after every CommandHandler: only commands none of them took get here.
    application.add_handler(
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, start.unknown_command)
    )
    application.add_error_handler(error_handler)


def menu(*, admin: bool) -> list[BotCommand]:
    """One entry per command, by its Indonesian name (the English names and aliases still work when typed)."""
    entries: list[BotCommand] = []
    for command in COMMANDS:
        if command.admin and not admin:
            continue
        name = command.aliases[0] if command.aliases else command.name
        entries.append(BotCommand(name, command.description.replace(f" (/{name})", "")))
    return entries


async def set_menu(application: Application[Any, Any, Any, Any, Any, Any], admin_ids: frozenset[int]) -> None:
    """setMyCommands: the public menu for everyone, the full one in each admin's private chat."""
    await application.bot.set_my_commands(menu(admin=False), scope=BotCommandScopeDefault())
    for user_id in sorted(admin_ids):
        # An admin who never opened a chat with the bot gets "chat not found"; the public menu still works.
        with contextlib.suppress(TelegramError):
            await application.bot.set_my_commands(menu(admin=True), scope=BotCommandScopeChat(user_id))
