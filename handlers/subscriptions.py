"""/subscribe, /unsubscribe, /subscriptions, /pause, /resume."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.errors import InputError, NotFoundError
from bot.models import Subscription
from bot.subscriptions.query import ParsedQuery, describe_filter, parse_query
from handlers import picker, texts
from handlers.common import args_text, chat_of, message_of, register, reply, require_manager, thread_of
from handlers.context import AppContext, services
from storage import chats as chat_store
from storage import subscriptions as sub_store
from storage.chats import Chat
from storage.db import Database
from storage.subscriptions import SubscriptionLimitError

esc = texts.esc
_ID_RE = re.compile(r"[0-9]{1,18}")  # an SQLite INTEGER; str.isdigit() also accepts "²" and "٣"


def saved_text(sub: Subscription, created: bool, notes: tuple[str, ...], chat: Chat) -> str:
    if not created:
        return (
            f"Langganan yang sama sudah ada: <b>#{sub.id}</b> — {esc(describe_filter(sub.filter))}\n"
            "Tidak ada yang ditambahkan."
        )
    lines = [f"✅ Langganan <b>#{sub.id}</b> disimpan: {esc(describe_filter(sub.filter))}"]
    lines += [f"<i>{esc(note)}</i>" for note in notes]
    if sub.thread_id is not None:
        lines.append("Peringatan akan dikirim ke topik ini.")
    if chat.paused:
        lines.append("⏸ Catatan: peringatan di chat ini sedang dijeda. /lanjut untuk melanjutkan.")
    lines.append(f"Berhenti: <code>/berhenti {sub.id}</code> · semua langganan: /daftar")
    return "\n".join(lines)


async def subscribe(update: Update, context: AppContext) -> None:
    """Save a subscription from the words after the command, or open the button picker."""
    if not await require_manager(update, context):
        return
    message = message_of(update)
    words = args_text(message)
    if not words:
        await picker.open_picker(update, context)
        return
    try:
        parsed: ParsedQuery = parse_query(words)
    except InputError as exc:
        await reply(update, esc(str(exc)))
        return
    chat = await register(update, context)
    svc = services(context)
    user = update.effective_user
    try:
        sub, created = await sub_store.subscribe(
            svc.db,
            chat.id,
            parsed.filter,
            thread_id=thread_of(message),
            now=svc.now(),
            created_by=user.id if user else None,
        )
    except SubscriptionLimitError as exc:
        await reply(update, esc(str(exc)))
        return
    await reply(update, saved_text(sub, created, parsed.notes, chat))


async def unsubscribe(update: Update, context: AppContext) -> None:
    """Remove one subscription by its number, or all of them."""
    if not await require_manager(update, context):
        return
    svc = services(context)
    chat_id = chat_of(update).id
    arg = args_text(message_of(update)).lstrip("#").strip().lower()
    if not arg:
        subs = await sub_store.list_subscriptions(svc.db, chat_id)
        if not subs:
            await reply(update, "Chat ini belum punya langganan.")
            return
        buttons = [[InlineKeyboardButton(f"Hapus #{s.id}", callback_data=f"un:{s.id}")] for s in subs[:20]]
        buttons.append([InlineKeyboardButton("Hapus semua", callback_data="un:all")])
        await reply(
            update,
            texts.render_subscriptions(subs, None) + "\n\nPilih yang ingin dihapus:",
            reply_markup=InlineKeyboardMarkup(buttons),
        )
        return
    await reply(update, await _remove(svc.db, chat_id, arg))


async def _remove(db: Database, chat_id: int, arg: str) -> str:
    if arg in {"all", "semua"}:
        count = await sub_store.remove_all_subscriptions(db, chat_id)
        return f"🗑 {count} langganan dihapus. Chat ini tidak akan menerima peringatan lagi."
    if not _ID_RE.fullmatch(arg):
        if arg.isdigit():  # "²", or more digits than any id has
            return f"Tidak ada langganan #{esc(arg[:30])} di chat ini. Lihat /daftar."
        return (
            "Tulis nomor langganan, mis. <code>/berhenti 3</code>, atau <code>/berhenti all</code>. "
            "Nomornya ada di /daftar."
        )
    try:
        await sub_store.remove_subscription(db, chat_id, int(arg))
    except NotFoundError:
        return f"Tidak ada langganan #{esc(arg)} di chat ini. Lihat /daftar."
    return f"🗑 Langganan #{esc(arg)} dihapus."


async def unsubscribe_button(update: Update, context: AppContext) -> None:
    """The "Hapus #n" buttons under /unsubscribe without arguments."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await picker.can_press(update, context):
        return
    svc = services(context)
    text = await _remove(svc.db, chat_of(update).id, query.data.split(":", 1)[1])
    await query.answer()
    await query.edit_message_text(text)


async def list_subscriptions(update: Update, context: AppContext) -> None:
    """List this chat's subscriptions with their numbers."""
    svc = services(context)
    chat = chat_of(update)
    subs = await sub_store.list_subscriptions(svc.db, chat.id)
    stored = await chat_store.get_chat(svc.db, chat.id)
    await reply(update, texts.render_subscriptions(subs, stored))


async def pause(update: Update, context: AppContext) -> None:
    """Stop alerts to this chat until /resume; subscriptions stay."""
    if not await require_manager(update, context):
        return
    await register(update, context)
    svc = services(context)
    await chat_store.set_paused(svc.db, chat_of(update).id, True, now=svc.now())
    await reply(update, "⏸ Peringatan di chat ini dijeda. Langganan tetap tersimpan; /lanjut untuk melanjutkan.")


async def resume(update: Update, context: AppContext) -> None:
    """Resume alerts to this chat."""
    if not await require_manager(update, context):
        return
    await register(update, context)
    svc = services(context)
    await chat_store.set_paused(svc.db, chat_of(update).id, False, now=svc.now())
    if svc.sender is not None:
        svc.sender.wake()  # alerts queued before the pause go out now
    await reply(update, "▶️ Peringatan di chat ini dilanjutkan.")
