"""/subscribe, /unsubscribe, /subscriptions, /pause, /resume."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.errors import InputError, NotFoundError
from bot.formatting import format_wib
from bot.subscriptions.durations import parse_duration
from bot.subscriptions.query import ParsedQuery, is_broad, is_empty, parse_query
from handlers import picker, texts
from handlers.common import (
    CONFIRM_KIND,
    args_text,
    ask_to_confirm,
    can_press,
    chat_of,
    message_of,
    register,
    reply,
    require_manager,
    save_subscription,
    thread_of,
)
from handlers.context import AppContext, PendingSubscription, pending_from_json, services
from storage import button_state
from storage import chats as chat_store
from storage import reports as report_store
from storage import subscriptions as sub_store
from storage.db import Database

esc = texts.esc
# More alerts than this due at once for one chat go out as a digest (the sender's PacingPolicy.digest_threshold).
DIGEST_HINT = 5
_ID_RE = re.compile(r"[0-9]{1,18}")  # an SQLite INTEGER; str.isdigit() also accepts "²" and "٣"


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
    user = update.effective_user
    if is_empty(parsed.filter):  # "-", '""', "-Solo": nothing that narrows the news
        await reply(update, texts.EMPTY_FILTER)
        return
    if is_broad(parsed.filter):
        pending = PendingSubscription(
            parsed.filter, thread_id=thread_of(message), user_id=user.id if user else None, notes=parsed.notes
        )
        text, buttons = await ask_to_confirm(context, message.chat.id, pending)
        await reply(update, text, reply_markup=buttons)
        return
    outcome = await save_subscription(
        update,
        context,
        parsed.filter,
        thread_id=thread_of(message),
        created_by=user.id if user else None,
        notes=parsed.notes,
    )
    await reply(update, outcome.text)


async def confirm_button(update: Update, context: AppContext) -> None:
    """ "Ya, simpan" / "Batal" under the question before saving a nationwide, every-case subscription."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, token, op = query.data.split(":")
    svc = services(context)
    chat = update.effective_chat
    state = await button_state.get(svc.db, token, chat_id=chat.id, kind=CONFIRM_KIND) if chat else None
    pending = pending_from_json(state.payload) if state else None
    if state is None or pending is None:
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    if pending.user_id is not None and query.from_user.id != pending.user_id:
        await query.answer("Hanya yang meminta langganan ini yang bisa mengonfirmasinya.", show_alert=True)
        return
    if not await can_press(update, context):
        return
    await button_state.delete(svc.db, token)
    if op == "x":
        await query.answer("Dibatalkan")
        await query.edit_message_text("Tidak ada yang disimpan.")
        return
    outcome = await save_subscription(
        update, context, pending.filter, thread_id=pending.thread_id, created_by=pending.user_id, notes=pending.notes
    )
    await query.answer("Disimpan" if outcome.saved else texts.plain(outcome.text), show_alert=not outcome.saved)
    await query.edit_message_text(outcome.text)


async def unsubscribe(update: Update, context: AppContext) -> None:
    """Remove subscriptions by their numbers (`/berhenti 3 4`), or all of them."""
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
        buttons = [[InlineKeyboardButton(f"Hapus #{s.number}", callback_data=f"un:{s.number}")] for s in subs[:20]]
        buttons.append([InlineKeyboardButton("Hapus semua", callback_data="un:all")])
        await reply(
            update,
            texts.render_subscriptions(subs, None) + "\n\nPilih yang ingin dihapus:",
            reply_markup=InlineKeyboardMarkup(buttons),
        )
        return
    await reply(update, await _remove(svc.db, chat_id, arg))


async def _remove(db: Database, chat_id: int, arg: str) -> str:
    words = [w.lstrip("#") for w in arg.replace(",", " ").split() if w.lstrip("#")]
    if words and words[0] in {"all", "semua"}:
        count = await sub_store.remove_all_subscriptions(db, chat_id)
        if not count:
            return "Chat ini tidak punya langganan; tidak ada yang berubah."
        return f"🗑 {count} langganan dihapus. Chat ini tidak akan menerima peringatan lagi."
    if not words or not all(_ID_RE.fullmatch(w) or w.isdigit() for w in words):
        return (
            "Tulis nomor langganan, mis. <code>/berhenti 3</code> atau <code>/berhenti 3 4</code>, atau "
            "<code>/berhenti all</code>. Nomornya ada di /daftar."
        )
    removed: list[str] = []
    missing: list[str] = []
    for word in dict.fromkeys(words[:20]):
        try:
            if not _ID_RE.fullmatch(word):  # "²", or more digits than any number has
                raise NotFoundError(word)
            await sub_store.remove_subscription(db, chat_id, int(word))
            removed.append(f"#{word}")
        except NotFoundError:
            missing.append(f"#{esc(word[:30])}")
    lines = []
    if removed:
        lines.append(f"🗑 Langganan {', '.join(removed)} dihapus.")
    if missing:
        lines.append(
            f"Tidak ada langganan {', '.join(missing)} di chat ini; tidak ada yang berubah untuknya. Lihat /daftar."
        )
    return "\n".join(lines)


async def unsubscribe_button(update: Update, context: AppContext) -> None:
    """The "Hapus #n" buttons under /unsubscribe without arguments."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await can_press(update, context):
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
    held = stored is not None and stored.held(svc.now())
    settings = await report_store.report_settings(svc.db, chat.id)
    await reply(update, texts.render_subscriptions(subs, stored, held=held) + texts.report_settings_lines(settings))


async def pause(update: Update, context: AppContext) -> None:
    """Hold alerts to this chat until /resume (or for a while: `/jeda 2 jam`); nothing is dropped."""
    if not await require_manager(update, context):
        return
    words = args_text(message_of(update))
    try:
        length = parse_duration(words) if words else None
    except InputError as exc:
        await reply(update, esc(str(exc)))
        return
    chat = await register(update, context)
    svc = services(context)
    now = svc.now()
    if length is None and chat.held(now) and chat.paused_until is None:
        await reply(update, texts.PAUSED_ALREADY + " /lanjut untuk melanjutkan.")
        return
    until = now + length if length is not None else None
    held = await chat_store.set_paused(svc.db, chat.id, True, now=now, until=until)
    when = f"sampai {format_wib(until)}" if until is not None else "sampai /lanjut"
    lines = [
        f"⏸ Peringatan di chat ini dijeda {when}.",
        "Berita yang cocok selama jeda ditahan, lalu dikirim sesudahnya (digabung jadi ringkasan bila banyak).",
        "Langganan tetap tersimpan; /lanjut untuk melanjutkan lebih awal.",
    ]
    if held:
        lines.append(f"Sudah ada {held} peringatan dalam antrean; ikut ditahan.")
    await reply(update, "\n".join(lines))


async def resume(update: Update, context: AppContext) -> None:
    """End the pause: the alerts held meanwhile arrive now (one digest when many)."""
    if not await require_manager(update, context):
        return
    chat = await register(update, context)
    svc = services(context)
    if not chat.held(svc.now()):
        await reply(update, texts.NOT_PAUSED)
        return
    held = await chat_store.set_paused(svc.db, chat.id, False, now=svc.now())
    if svc.sender is not None:
        svc.sender.wake()  # the held alerts go out now
    if held:
        how = "digabung jadi ringkasan" if held > DIGEST_HINT else "satu per satu"
        await reply(
            update, f"▶️ Peringatan dilanjutkan. {held} berita yang ditahan selama jeda dikirim sekarang ({how})."
        )
    else:
        await reply(update, "▶️ Peringatan dilanjutkan. Tidak ada berita yang cocok selama jeda.")
