"""Admin commands (PANTAU_ADMIN_IDS): /addfeed, /feeds, /removefeed, /stats."""

from __future__ import annotations

import re

from telegram import Update

from bot.errors import DuplicateError, FetchError, NotFoundError
from bot.feeds.guard import check_url
from bot.feeds.urls import is_http_url, mask_url, mask_urls_in_text
from handlers import texts
from handlers.common import args_text, is_bot_admin, message_of, reply
from handlers.context import AppContext, services
from handlers.corrections import render_feedback_stats
from handlers.errors_id import indonesian
from storage import feeds as feed_store
from storage.feedback import feedback_stats
from storage.stats import collect_stats

esc = texts.esc
MAX_URL_LEN = 2000
_ID_RE = re.compile(r"[0-9]{1,18}")
_SCHEME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*:")  # ftp:, file:, javascript:, data: …


async def _admin_only(update: Update, context: AppContext) -> bool:
    if is_bot_admin(update, context):
        return True
    await reply(update, texts.NOT_BOT_ADMIN)
    return False


async def add_feed(update: Update, context: AppContext) -> None:
    """Add a feed to poll; its current items are remembered, not alerted."""
    if not await _admin_only(update, context):
        return
    words = args_text(message_of(update)).split()
    url = words[0] if words else ""
    if _SCHEME_RE.match(url) and not url.lower().startswith(("http://", "https://")):
        await reply(update, "Feed ditolak: hanya alamat http:// atau https://.")
        return
    if not url or len(url) > MAX_URL_LEN or not is_http_url(url) or len(words) > 2:
        await reply(
            update,
            "Tulis alamat feed lengkap, mis. <code>/addfeed https://contoh.id/rss</code>; boleh ditambah "
            "<code>selalu</code> atau <code>tidak</code> untuk membaca halaman berita (bawaan: otomatis).",
        )
        return
    full_text = texts.FULL_TEXT_WORDS.get(words[1].casefold()) if len(words) == 2 else "auto"
    if full_text is None:
        await reply(
            update,
            "Pilihan teks penuh tidak dikenal. Pakai <code>otomatis</code>, <code>selalu</code> atau "
            "<code>tidak</code>, mis. <code>/addfeed https://contoh.id/rss selalu</code>.",
        )
        return
    refused = check_url(url)
    if refused is not None:
        await reply(update, f"Feed ditolak: {esc(refused)}.")
        return
    svc = services(context)
    try:
        await svc.feed_probe(url)  # public addresses only, every redirect hop included
    except FetchError as exc:
        await reply(update, f"Feed ditolak: tidak bisa diambil ({esc(indonesian(str(exc)))}).")
        return
    user = update.effective_user
    try:
        feed = await feed_store.add_feed(
            svc.db, url, now=svc.now(), added_by=f"telegram:{user.id if user else '?'}", full_text=full_text
        )
    except DuplicateError:
        await reply(update, f"Feed itu sudah ada: {esc(mask_url(url))}")
        return
    await reply(
        update,
        f"➕ Feed <b>#{feed.id}</b> ditambahkan: {esc(mask_url(feed.url))}\n"
        f"📄 {esc(texts.FULL_TEXT_LABELS[feed.full_text])}\n"
        "Diambil sebentar lagi; berita yang sudah ada di feed dicatat tanpa dikirim sebagai peringatan.",
    )


async def list_feeds(update: Update, context: AppContext) -> None:
    """Every feed with its health."""
    if not await _admin_only(update, context):
        return
    await reply(update, texts.render_feeds(await feed_store.list_feeds(services(context).db)))


async def remove_feed(update: Update, context: AppContext) -> None:
    """Stop polling a feed (its articles stay searchable)."""
    if not await _admin_only(update, context):
        return
    arg = args_text(message_of(update)).lstrip("#")
    if not arg:
        await reply(update, "Tulis nomor feed, mis. <code>/removefeed 3</code> (lihat /feeds).")
        return
    try:
        if arg.isdigit() and not _ID_RE.fullmatch(arg):  # "²", or more digits than any id has
            raise NotFoundError(arg)
        feed = await feed_store.remove_feed(services(context).db, arg)
    except NotFoundError:
        await reply(update, f"Tidak ada feed {esc(arg[:100])}. Lihat /feeds.")
        return
    await reply(update, f"🗑 Feed #{feed.id} dihapus: {esc(mask_urls_in_text(feed.display_name))}")


async def stats(update: Update, context: AppContext) -> None:
    """Articles per day, case and Kab/Kota; feed health; outbox; analysts' corrections."""
    if not await _admin_only(update, context):
        return
    svc = services(context)
    general = texts.render_stats(await collect_stats(svc.db, now=svc.now()))
    corrections = render_feedback_stats(await feedback_stats(svc.db, now=svc.now()))
    await reply(update, texts.clip(general + "\n\n" + corrections))
