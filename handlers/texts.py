"""Reply texts in Bahasa Indonesia, and pure renderers for lists the handlers show (HTML, escaped)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from bot import classify
from bot.feeds.urls import mask_url, mask_urls_in_text
from bot.formatting import TELEGRAM_MAX_TEXT, format_wib
from bot.models import Feed, Subscription
from bot.subscriptions.query import describe_filter
from storage.chats import Chat
from storage.stats import Stats

esc = html.escape

START = (
    "Halo! Saya <b>Pantau</b>, pemantau berita daerah Indonesia.\n"
    "1. Pilih yang ingin dipantau: <code>/langganan Solo kecelakaan negatif</code> "
    "(atau /langganan saja untuk memilih lewat tombol).\n"
    "2. Setiap berita baru yang cocok saya kirim sekali, lengkap dengan Kab/Kota, kasus, dan sentimennya.\n"
    "3. /bantuan menampilkan semua perintah."
)
START_AGAIN = "Selamat datang kembali! Pengiriman peringatan ke chat ini aktif lagi."

HELP = """<b>Perintah Pantau</b>
/subscribe (/langganan) <i>kata…</i> — berlangganan. Contoh:
<code>/langganan Solo kecelakaan kebakaran negatif "jalan tol" -"simulasi"</code>
  • kota/kabupaten atau provinsi (Solo, Kab. Sukoharjo, Jawa Tengah) — tanpa kota berarti seluruh Indonesia
  • kasus atau kata sehari-hari (kebakaran, tabrakan, begal) — lihat /kasus
  • sentimen: positif, netral, negatif
  • "frasa" wajib ada, -"frasa" tidak boleh ada
  Tanpa kata: pilih lewat tombol.
/subscriptions (/daftar) — langganan chat ini beserta nomornya
/unsubscribe (/berhenti) <i>nomor</i> atau <code>all</code> — contoh: <code>/berhenti 3</code>
/latest (/terbaru) <i>[kata…]</i> — 5 berita terbaru yang cocok, contoh: <code>/terbaru Bandung banjir</code>
/search (/cari) <i>kata…</i> — cari di semua berita tersimpan, contoh: <code>/cari "banjir bandang"</code>
/cities (/kota) <i>[awalan]</i> — nama wilayah yang dikenal, contoh: <code>/kota Sura</code>
/cases (/kasus) — daftar kasus
/pause (/jeda) dan /resume (/lanjut) — hentikan sementara / lanjutkan peringatan di chat ini
/muted (/bisukan) — sumber berita yang dibisukan di chat ini (tombol 🔇 di bawah peringatan)
/unmute (/suarakan) <i>nomor</i> atau <code>all</code> — terima lagi berita dari sumber itu
/help (/bantuan) — pesan ini

Label salah? Tekan ✏️ Koreksi di bawah peringatan: Kab/Kota, kasus, atau sentimen.
Di grup semua anggota bisa mengusulkan koreksi; koreksi admin grup langsung mengubah label berita.
Di grup, hanya admin grup yang bisa mengubah langganan.
Langganan yang dibuat di dalam topik forum dikirim ke topik itu."""

ADMIN_HELP = """
<b>Admin Pantau</b>
/addfeed <i>URL</i> — tambah feed, contoh: <code>/addfeed https://contoh.id/rss</code>
/feeds — daftar feed dan kesehatannya
/removefeed <i>nomor</i> — hapus feed
/stats — statistik artikel, feed, dan antrean"""

NOT_GROUP_ADMIN = "Di grup ini hanya admin grup yang bisa mengubah langganan."
NOT_BOT_ADMIN = "Maaf, perintah ini khusus admin Pantau."
GENERIC_ERROR = "Maaf, terjadi kesalahan di pihak kami. Silakan coba lagi sebentar lagi."
EXPIRED = "Tombol ini sudah kedaluwarsa. Silakan ulangi perintahnya."


def subscription_line(sub: Subscription) -> str:
    where = f" <i>(topik {sub.thread_id})</i>" if sub.thread_id is not None else ""
    return f"<b>#{sub.id}</b> — {esc(describe_filter(sub.filter))}{where}"


def render_subscriptions(subs: Sequence[Subscription], chat: Chat | None) -> str:
    if not subs:
        return "Belum ada langganan di chat ini. Contoh: <code>/langganan Solo kecelakaan</code>"
    lines = [f"<b>Langganan chat ini ({len(subs)})</b>"]
    lines += [subscription_line(s) for s in subs]
    if chat is not None and chat.paused:
        lines.append("\n⏸ Peringatan sedang dijeda. /lanjut untuk melanjutkan.")
    lines.append("\nBerhenti: <code>/berhenti nomor</code> atau <code>/berhenti all</code>")
    return clip("\n".join(lines))


def clip(text: str, limit: int = TELEGRAM_MAX_TEXT) -> str:
    """Cut a long list at a line boundary so the reply stays one valid message."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 40]
    cut = cut[: cut.rfind("\n")]
    return cut + "\n… (daftar dipotong)"


def render_cases() -> str:
    words_by_key: dict[str, list[str]] = {}
    for word, key in classify.case_words().items():
        if word.replace(" ", "_") != key:
            words_by_key.setdefault(key, []).append(word)
    lines = ["<b>Kasus yang bisa dipantau</b> (tulis kunci atau salah satu kata contohnya)"]
    for key in classify.CASE_KEYS:
        examples = ", ".join(words_by_key.get(key, [])[:4])
        label = esc(classify.case_label(key))
        lines.append(f"• <code>{esc(key)}</code> — {label}" + (f" <i>({esc(examples)})</i>" if examples else ""))
    return clip("\n".join(lines))


def render_cities(prefix: str) -> str:
    prefix = " ".join(prefix.split()).casefold()[:60]  # no place name is longer
    if not prefix:
        provinces = sorted(classify.all_provinces(), key=lambda p: p.name)
        lines = [
            f"<b>{len(provinces)} provinsi</b> (jumlah Kab/Kota). Tulis <code>/kota awalan</code> untuk melihat "
            "Kab/Kota, mis. <code>/kota Sura</code> atau <code>/kota Jawa Tengah</code>."
        ]
        lines += [f"• {esc(p.name)} ({len(classify.places_in_province(p.code))})" for p in provinces]
        return clip("\n".join(lines))
    places = []
    for place in classify.all_places():
        bare = place.name.casefold().removeprefix("kota ").removeprefix("kabupaten ")
        if place.name.casefold().startswith(prefix) or bare.startswith(prefix):
            places.append(place)
    for province in classify.all_provinces():
        if province.name.casefold().startswith(prefix):
            places += [p for p in classify.places_in_province(province.code) if p not in places]
    if not places:
        return f"Tidak ada Kab/Kota berawalan “{esc(prefix)}”. Coba /kota tanpa awalan untuk daftar provinsi."
    lines = [f"<b>{len(places)} Kab/Kota</b> untuk “{esc(prefix)}”:"]
    lines += [f"• {esc(p.name)} — {esc(p.province)}" for p in places]
    return clip("\n".join(lines))


# /feeds and /addfeed: whether a feed's article pages are read (bot/feeds/pages.py).
FULL_TEXT_LABELS = {
    "auto": "teks penuh otomatis (halaman dibaca bila feed hanya memuat cuplikan)",
    "always": "teks penuh selalu (halaman setiap berita dibaca)",
    "never": "tanpa teks penuh (hanya teks dari feed)",
}
# The words /addfeed accepts after the URL, in Indonesian or as on the command line.
FULL_TEXT_WORDS = {
    "auto": "auto",
    "otomatis": "auto",
    "always": "always",
    "selalu": "always",
    "never": "never",
    "tidak": "never",
    "tanpa": "never",
}


def render_feeds(feeds: Sequence[Feed]) -> str:
    if not feeds:
        return "Belum ada feed. Tambah dengan <code>/addfeed URL</code>."
    lines = [f"<b>{len(feeds)} feed</b>"]
    for feed in feeds:
        if feed.error_count:
            health = f"⚠️ gagal {feed.error_count}× — {esc(mask_urls_in_text(feed.last_error or '')[:120])}"
        elif feed.last_success_at is None:
            health = "⏳ belum pernah diambil"
        else:
            health = f"✅ terakhir berhasil {format_wib(feed.last_success_at)}"
        mode = FULL_TEXT_LABELS.get(feed.full_text, feed.full_text)
        name = mask_urls_in_text(feed.display_name)[:80]
        lines.append(
            f"<b>#{feed.id}</b> {esc(name)}\n    {esc(mask_url(feed.url)[:200])}\n    {health}\n    📄 {esc(mode)}"
        )
    return clip("\n".join(lines))


def render_stats(stats: Stats) -> str:
    outbox = stats.outbox
    lines = ["<b>Statistik Pantau</b>", ""]
    lines.append(f"<b>Artikel</b>: {stats.articles_total} tersimpan")
    if stats.per_day:
        lines.append("Per hari (WIB): " + ", ".join(f"{esc(d[5:])}: {n}" for d, n in stats.per_day))
    if stats.per_case:
        lines.append(
            "Per kasus (7 hari): " + ", ".join(f"{esc(classify.case_label(k))} {n}" for k, n in stats.per_case)
        )
    if stats.per_city:
        lines.append("Per Kab/Kota (7 hari): " + ", ".join(f"{esc(c)} {n}" for c, n in stats.per_city))
    lines.append("")
    lines.append(
        f"<b>Feed</b>: {stats.feeds_total} total, {len(stats.feeds_failing)} bermasalah, "
        f"{stats.feeds_stale} tanpa keberhasilan 24 jam terakhir"
    )
    for feed in stats.feeds_failing[:5]:
        lines.append(
            f"  ⚠️ #{feed.id} {esc(mask_urls_in_text(feed.name)[:60])}: gagal {feed.error_count}× — "
            f"{esc(mask_urls_in_text(feed.last_error or '')[:100])}"
        )
    lines.append("")
    lines.append(
        f"<b>Antrean</b>: {outbox.get('pending', 0)} menunggu, {outbox.get('sending', 0)} sedang dikirim, "
        f"{outbox.get('sent', 0)} terkirim ({stats.sent_last_day} dalam 24 jam), {outbox.get('failed', 0)} gagal, "
        f"{outbox.get('expired', 0)} kedaluwarsa"
    )
    for reason, count in stats.failure_reasons:
        lines.append(f"  ✖ {count}× {esc(reason[:120])}")
    chats = stats.chats
    lines.append("")
    lines.append(
        f"<b>Chat</b>: {chats['active']} aktif, {chats['paused']} dijeda, {chats['inactive']} nonaktif; "
        f"{stats.subscriptions} langganan"
    )
    return clip("\n".join(lines))
