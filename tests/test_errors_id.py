"""Admin-facing errors in Indonesian, each prefix once."""

from __future__ import annotations

import pytest

from handlers.errors_id import indonesian


@pytest.mark.parametrize(
    ("recorded", "shown"),
    [
        ("Forbidden: Forbidden: bot was blocked by the user", "bot diblokir oleh pengguna"),
        ("chat inactive: bot was blocked by the user", "chat nonaktif: bot diblokir oleh pengguna"),
        ("DNS lookup failed", "nama domain tidak ditemukan (DNS)"),
        ("not an RSS/Atom feed: looks like an HTML page", "bukan feed RSS/Atom (ini halaman web biasa)"),
        ("HTTP 503", "server menjawab HTTP 503"),
        ("timeout after 10 s", "tidak selesai dalam 10 detik"),
        ("refused: x.example resolves to non-public address 10.0.0.1", "alamat lokal/privat tidak diizinkan"),
        ("BadRequest: Bad Request: message is too long", "pesan terlalu panjang"),
    ],
)
def test_known_errors_read_in_indonesian(recorded: str, shown: str) -> None:
    assert indonesian(recorded) == shown


def test_unknown_errors_are_shown_as_recorded_with_a_doubled_prefix_said_once() -> None:
    assert indonesian("Oops: Oops: something new") == "Oops: something new"


def test_a_cause_inside_a_longer_message_is_found() -> None:
    assert indonesian("connection failed: DNS lookup failed for unknown.example") == "nama domain tidak ditemukan (DNS)"
