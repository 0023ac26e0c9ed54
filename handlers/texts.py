"""Reply texts in Bahasa Indonesia, and pure renderers for lists the handlers show (HTML, escaped)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from bot import classify
from bot.errors import InputError
from bot.feeds.urls import mask_url, mask_urls_in_text
from bot.formatting import TELEGRAM_MAX_TEXT, format_wib
from bot.models import Feed, Place, Subscription
from bot.subscriptions.case_words import umbrella_words
from bot.subscriptions.query import case_name, describe_filter, is_empty, parse_query
from bot.subscriptions.regions import resolve_region
from handlers.errors_id import indonesian
from storage.chats import Chat
from storage.reports import ReportSettings
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

EMPTY_FILTER = (
    'Tulis paling sedikit satu kota/kabupaten, provinsi, kasus, sentimen, atau "frasa" yang dicari, mis. '
    "<code>/langganan Solo kecelakaan</code>. Tanpa kata: /langganan saja untuk memilih lewat tombol."
)
EMPTY_PICKER = "Pilih paling sedikit satu wilayah, kasus, atau sentimen dulu."


def broad_warning(description: str) -> str:
    return (
        f"⚠️ Langganan ini: <b>{esc(description)}</b>.\n"
        "Artinya berita dari <b>seluruh Indonesia</b> tanpa memilih kasus — bisa ratusan peringatan sehari.\n"
        "Simpan juga? (Lebih sempit: tambahkan kota atau kasus, mis. <code>/langganan Jawa Tengah banjir</code>.)"
    )


GROUP_GREETING = (
    "Halo! Saya <b>Pantau</b>, pemantau berita daerah Indonesia.\n"
    "Admin grup bisa mengatur langganan, mis. <code>/langganan Solo kecelakaan</code> "
    "(atau /langganan saja untuk memilih lewat tombol). Berita baru yang cocok saya kirim ke grup ini.\n"
    "/bantuan menampilkan semua perintah."
)


def unknown_command(name: str) -> str:
    return f"Perintah /{esc(name[:40])} tidak dikenal. /bantuan menampilkan semua perintah."


def private_hint(text: str) -> str:
    """The answer to plain text in a private chat: a ready /langganan when the words mean something."""
    words = " ".join(text.split())[:80]
    try:
        parsed = parse_query(words) if words else None
    except InputError:
        parsed = None
    if parsed is not None and not is_empty(parsed.filter):
        return (
            f"Mau berlangganan berita {esc(describe_filter(parsed.filter))}? "
            f"Kirim <code>/langganan {esc(words)}</code>\n/bantuan menampilkan semua perintah."
        )
    return (
        "Saya tidak membaca pesan biasa. Contoh: <code>/langganan Solo kecelakaan</code>, "
        "<code>/cari banjir</code>, <code>/terbaru</code>. /bantuan menampilkan semua perintah."
    )


PAUSED_ALREADY = "Chat ini sudah dijeda; tidak ada yang berubah."
NOT_PAUSED = "Peringatan di chat ini tidak sedang dijeda; tidak ada yang berubah."

HELP = """<b>Perintah Pantau</b>
/subscribe (/langganan) <i>kata…</i> — berlangganan. Contoh:
<code>/langganan Solo kecelakaan kebakaran negatif "jalan tol" -"simulasi"</code>
  • kota/kabupaten atau provinsi (Solo, Kab. Sukoharjo, Jawa Tengah) — tanpa kota berarti seluruh Indonesia
  • kasus atau kata sehari-hari (kebakaran, tabrakan, begal), kata payung (kriminal, bencana) — lihat /kasus
  • wilayah gabungan: Solo Raya, Jabodetabek, Bandung Raya, Gerbangkertosusila …
  • sentimen: positif, netral, negatif
  • "frasa" wajib ada, -"frasa" tidak boleh ada
  Tanpa kata: pilih lewat tombol.
/subscriptions (/daftar) — langganan chat ini beserta nomornya
/unsubscribe (/berhenti) <i>nomor…</i> atau <code>all</code> — contoh: <code>/berhenti 3 4</code>
/latest (/terbaru) <i>[kata…]</i> — 5 berita terbaru yang cocok (tanpa kata: dengan langganan chat ini),
  contoh: <code>/terbaru Bandung banjir</code>
/search (/cari) <i>kata…</i> — cari di semua berita tersimpan, terbaru dulu:
  <code>/cari "banjir bandang"</code>, <code>/cari banjir OR longsor</code> (salah satu),
  <code>/cari banjir -simulasi</code> (tanpa)
/cities (/kota) <i>[nama/awalan]</i> — wilayah yang dikenal, mis. <code>/kota Sura</code>, <code>/kota Solo Raya</code>
/cases (/kasus) — daftar kasus
/pause (/jeda) <i>[lama]</i> — tahan peringatan, mis. <code>/jeda 2 jam</code>; yang cocok selama jeda dikirim saat
  /resume (/lanjut) atau saat jeda habis (digabung jadi ringkasan bila banyak)
/muted (/bisukan) — sumber berita yang dibisukan di chat ini (tombol 🔇 di bawah peringatan)
/unmute (/suarakan) <i>nomor</i> atau <code>all</code> — terima lagi berita dari sumber itu
/summary (/ringkasan) <i>[hari ini|kemarin|7 hari|30 hari] [kata…]</i> — grafik dan ringkasan,
  contoh: <code>/ringkasan 7 hari</code>
/daily (/ringkasan_harian) <i>07:00|off</i> — ringkasan otomatis setiap hari; /zona <i>WIB|WITA|WIT</i>
/spikes (/lonjakan) <i>on|off</i> — peringatan bila berita suatu kasus di Kab/Kota langganan melonjak
/export (/ekspor) <i>[7 hari|30 hari]</i> — berkas CSV dan Excel berita yang cocok
/help (/bantuan) — pesan ini

Ringkasan: bila lebih dari 5 peringatan untuk satu chat datang dalam satu menit, 3 atau lebih yang antre
sekaligus digabung menjadi satu pesan ringkasan (judul, wilayah, kasus, sentimen, jam, sumber per berita).

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


def plain(html_text: str) -> str:
    """An HTML reply as plain text, for a button's alert (which Telegram shows without formatting)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def saved_text(sub: Subscription, created: bool, notes: tuple[str, ...], *, held: bool) -> str:
    """The reply to a saved (or already existing) subscription, typed or picked with buttons."""
    if not created:
        return (
            f"Langganan yang sama sudah ada: <b>#{sub.number}</b> — {esc(describe_filter(sub.filter))}\n"
            "Tidak ada yang ditambahkan."
        )
    lines = [f"✅ Langganan <b>#{sub.number}</b> disimpan: {esc(describe_filter(sub.filter))}"]
    lines += [f"<i>{esc(note)}</i>" for note in notes]
    if sub.thread_id is not None:
        lines.append("Peringatan akan dikirim ke topik ini.")
    if held:
        lines.append("⏸ Catatan: peringatan di chat ini sedang dijeda (ditahan sampai /lanjut).")
    lines.append(f"Berhenti: <code>/berhenti {sub.number}</code> · semua langganan: /daftar")
    return "\n".join(lines)


def subscription_line(sub: Subscription) -> str:
    where = f" <i>(topik {sub.thread_id})</i>" if sub.thread_id is not None else ""
    return f"<b>#{sub.number}</b> — {esc(describe_filter(sub.filter))}{where}"


def pause_line(chat: Chat) -> str:
    """How a held chat's pause ends."""
    if chat.paused_until is not None:
        return f"⏸ Peringatan dijeda sampai {format_wib(chat.paused_until)}; yang cocok ditahan dan dikirim sesudahnya."
    return "⏸ Peringatan sedang dijeda; yang cocok ditahan dan dikirim saat /lanjut."


def render_subscriptions(subs: Sequence[Subscription], chat: Chat | None, *, held: bool = False) -> str:
    if not subs:
        return "Belum ada langganan di chat ini. Contoh: <code>/langganan Solo kecelakaan</code>"
    lines = [f"<b>Langganan chat ini ({len(subs)})</b>"]
    lines += [subscription_line(s) for s in subs]
    if chat is not None and held:
        lines.append("\n" + pause_line(chat))
    lines.append("\nBerhenti: <code>/berhenti nomor</code> atau <code>/berhenti all</code>")
    return clip("\n".join(lines))


def report_settings_lines(settings: ReportSettings | None) -> str:
    """The daily brief, zone and spike setting, for /daftar."""
    if settings is None:
        return ""
    brief = (
        f"setiap hari pukul {settings.brief_time} {settings.tz}"
        if settings.brief_time
        else "mati (/ringkasan_harian 07:00)"
    )
    spikes = "aktif" if settings.spike_alerts else "mati (/lonjakan on)"
    return f"\n\n☀️ Ringkasan harian: {brief}\n⚠️ Peringatan lonjakan: {spikes}"


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
    lines.append("")
    lines.append("<b>Kata payung</b> (satu kata untuk beberapa kasus):")
    families: dict[tuple[str, ...], list[str]] = {}
    for entry in umbrella_words():
        families.setdefault(entry.cases, []).append(f"<code>{esc(entry.word)}</code>")
    for keys, words in families.items():
        lines.append(f"• {' / '.join(words)} = {esc(', '.join(case_name(k) for k in keys))}")
    lines.append(
        "Kata bahasa Inggris juga bisa, mis. <code>accident</code>, <code>flood</code>, <code>corruption</code>."
    )
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
    lines = _resolved_area_lines(prefix)
    places = []
    for place in classify.all_places():
        bare = place.name.casefold().removeprefix("kota ").removeprefix("kabupaten ")
        if place.name.casefold().startswith(prefix) or bare.startswith(prefix):
            places.append(place)
    for province in classify.all_provinces():
        if province.name.casefold().startswith(prefix):
            places += [p for p in classify.places_in_province(province.code) if p not in places]
    if not places and not lines:
        return f"Tidak ada Kab/Kota berawalan “{esc(prefix)}”. Coba /kota tanpa awalan untuk daftar provinsi."
    if places:
        if lines:
            lines.append("")
        lines.append(f"<b>{len(places)} Kab/Kota</b> berawalan “{esc(prefix)}”:")
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


def _resolved_area_lines(typed: str) -> list[str]:
    """What /langganan would take the words to mean (a region, an alias, a province), as list lines."""
    region = resolve_region(typed)
    if region is not None:
        lines = [
            f"<b>{esc(region.name)}</b> ({len(region.members)} wilayah; tulis <code>/langganan {esc(typed)}</code>):"
        ]
        return lines + [f"• {esc(name)}" for name in region.member_names]
    found = classify.resolve_place(typed)
    if not found:
        return []
    lines = [f"“{esc(typed)}” di /langganan berarti:"]
    for area in found:
        if isinstance(area, Place):
            lines.append(f"• {esc(area.name)} — {esc(area.province)}")
        else:
            members = classify.places_in_province(area.code)
            lines.append(f"• Provinsi {esc(area.name)} ({len(members)} Kab/Kota):")
            lines += [f"    {esc(p.name)}" for p in members]
    return lines


def render_feeds(feeds: Sequence[Feed]) -> str:
    if not feeds:
        return "Belum ada feed. Tambah dengan <code>/addfeed URL</code>."
    lines = [f"<b>{len(feeds)} feed</b>"]
    for feed in feeds:
        if feed.error_count:
            health = f"⚠️ gagal {feed.error_count}× — {esc(indonesian(mask_urls_in_text(feed.last_error or ''))[:120])}"
        elif feed.last_success_at is None:
            health = "⏳ belum pernah diambil"
        elif feed.slow_polls and feed.last_fetch_seconds is not None:
            # Slow answers hold a fetch slot; the poller already spaces this feed's polls out.
            seconds = f"{feed.last_fetch_seconds:.1f}".replace(".", ",")
            times = "" if feed.slow_polls == 1 else f", {feed.slow_polls}× berturut-turut"
            health = (
                f"🐢 lambat: menjawab dalam {seconds} detik{times}; diambil lebih jarang sampai cepat lagi "
                f"(terakhir berhasil {format_wib(feed.last_success_at)})"
            )
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
    failing = max(stats.feeds_failing_total, len(stats.feeds_failing))
    lines.append(
        f"<b>Feed</b>: {stats.feeds_total} total, {failing} bermasalah, "
        f"{stats.feeds_stale} tanpa keberhasilan 24 jam terakhir"
    )
    for feed in stats.feeds_failing[:5]:
        lines.append(
            f"  ⚠️ #{feed.id} {esc(mask_urls_in_text(feed.name)[:60])}: gagal {feed.error_count}× — "
            f"{esc(indonesian(mask_urls_in_text(feed.last_error or ''))[:100])}"
        )
    if failing > 5:
        lines.append(f"  … dan {failing - 5} feed bermasalah lain (lihat /feeds)")
    lines.append("")
    lines.append(
        f"<b>Antrean</b>: {outbox.get('pending', 0)} menunggu, {outbox.get('sending', 0)} sedang dikirim, "
        f"{outbox.get('sent', 0)} terkirim ({stats.sent_last_day} dalam 24 jam), {outbox.get('failed', 0)} gagal, "
        f"{outbox.get('expired', 0)} kedaluwarsa"
    )
    said: dict[str, int] = {}
    for reason, count in stats.failure_reasons:  # two English reasons can read the same in Indonesian
        key = indonesian(reason)[:120]
        said[key] = said.get(key, 0) + count
    for reason, count in said.items():
        lines.append(f"  ✖ {count}× {esc(reason)}")
    chats = stats.chats
    lines.append("")
    lines.append(
        f"<b>Chat</b>: {chats['active']} aktif, {chats['paused']} dijeda, {chats['inactive']} nonaktif; "
        f"{stats.subscriptions} langganan"
    )
    return clip("\n".join(lines))
