"""Pause durations as people type them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import InputError
from bot.subscriptions.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 jam", timedelta(hours=2)),
        ("2jam", timedelta(hours=2)),
        ("30 menit", timedelta(minutes=30)),
        ("1 hari", timedelta(days=1)),
        ("1 jam 30 menit", timedelta(hours=1, minutes=30)),
        ("1,5 jam", timedelta(hours=1, minutes=30)),
        ("selama 3 jam", timedelta(hours=3)),
        ("2 hours", timedelta(hours=2)),
        ("4", timedelta(hours=4)),
        ("1 minggu", timedelta(weeks=1)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("besok", "tidak dimengerti"),
        ("2 tahun", "tidak dikenal"),
        ("0 menit", "paling singkat"),
        ("40 hari", "paling lama"),
        ("2 jam lagi ya", "tidak dimengerti"),
        ("", "Tulis lamanya"),
    ],
)
def test_bad_durations_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_duration(text)
