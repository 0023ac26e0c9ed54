"""Admin-facing error texts in Bahasa Indonesia: feed failures, refused sends, failed alerts.

Errors are recorded in English (logs, `pantau feeds list`); /addfeed, /feeds and /stats show them through
`indonesian(text)`, which also says a doubled prefix once ("Forbidden: Forbidden: …"). An error it does
not know is shown as recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]


def _seconds(match: re.Match[str]) -> str:
    return match.group(1).replace(".", ",")


_RULES: list[_Rule] = [
    (re.compile(r"^chat inactive: (.*)$", re.S), lambda m: "chat nonaktif: " + indonesian(m.group(1))),
    (re.compile(r"bot was blocked by the user", re.I), "bot diblokir oleh pengguna"),
    (re.compile(r"bot was kicked|removed from chat|bot is not a member", re.I), "bot dikeluarkan dari chat"),
    (re.compile(r"chat not found", re.I), "chat tidak ditemukan"),
    (re.compile(r"user is deactivated", re.I), "akun pengguna sudah dihapus"),
    (re.compile(r"message is too long", re.I), "pesan terlalu panjang"),
    (re.compile(r"can't parse entities", re.I), "format pesan ditolak Telegram"),
    (re.compile(r"message thread not found", re.I), "topik forum sudah tidak ada"),
    (
        re.compile(r"flood control: retry after ([0-9.]+)\s*s", re.I),
        lambda m: f"dibatasi Telegram: tunggu {_seconds(m)} detik",
    ),
    (re.compile(r"chat migrated to (-?[0-9]+)"), lambda m: f"grup pindah ke id {m.group(1)}"),
    (re.compile(r"article no longer stored"), "artikel sudah tidak tersimpan"),
    (re.compile(r"interrupted while sending"), "terputus saat dikirim"),
    (re.compile(r"DNS lookup failed"), "nama domain tidak ditemukan (DNS)"),
    (re.compile(r"connection refused"), "koneksi ditolak server"),
    (re.compile(r"^connect timeout after ([0-9.]+) s"), lambda m: f"tidak tersambung dalam {_seconds(m)} detik"),
    (re.compile(r"^timeout after ([0-9.]+) s"), lambda m: f"tidak selesai dalam {_seconds(m)} detik"),
    (re.compile(r"^timeout$"), "waktu habis"),
    (re.compile(r"TLS certificate verification failed"), "sertifikat TLS tidak sah"),
    (
        re.compile(r"^HTTP ([0-9]{3}) without Location"),
        lambda m: f"server menjawab HTTP {m.group(1)} tanpa alamat tujuan",
    ),
    (re.compile(r"^HTTP ([0-9]{3})$"), lambda m: f"server menjawab HTTP {m.group(1)}"),
    (re.compile(r"^too many redirects"), "terlalu banyak pengalihan alamat"),
    (re.compile(r"^redirect loop"), "pengalihan alamat berputar"),
    (re.compile(r"^response larger than (.*)$"), lambda m: f"isi lebih besar dari {m.group(1)}"),
    (re.compile(r"^not an RSS/Atom feed: looks like an HTML page"), "bukan feed RSS/Atom (ini halaman web biasa)"),
    (re.compile(r"^not an RSS/Atom feed: empty body"), "bukan feed RSS/Atom (isinya kosong)"),
    (re.compile(r"^not an RSS/Atom feed"), "bukan feed RSS/Atom"),
    (re.compile(r"^unsupported URL scheme"), "hanya alamat http:// atau https://"),
    (re.compile(r"^invalid URL"), "alamat tidak valid"),
    (re.compile(r"^could not decode compressed response"), "isi terkompresi tidak bisa dibaca"),
    (re.compile(r"^unsupported Content-Encoding"), "kompresi isi tidak didukung"),
    (re.compile(r"^protocol error"), "server menjawab tidak sesuai protokol HTTP"),
    (re.compile(r"^connection failed"), "koneksi gagal"),
    (re.compile(r"^network error"), "kesalahan jaringan"),
    (re.compile(r"non-public address|not public addresses"), "alamat lokal/privat tidak diizinkan"),
]
_DOUBLED = re.compile(r"^(\w+: )\1+")


def indonesian(text: str) -> str:
    """An error as an admin reads it in Telegram: Indonesian when known, each prefix said once."""
    text = _DOUBLED.sub(r"\1", text.strip())
    for pattern, answer in _RULES:
        match = pattern.search(text)
        if match is not None:
            return answer(match) if callable(answer) else answer
    return text
