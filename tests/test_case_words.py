"""Umbrella words (kriminal, bencana) and English case words in /langganan, as data."""

from __future__ import annotations

import pytest

from bot import classify
from bot.subscriptions.case_words import case_word_table, umbrella_words
from bot.subscriptions.query import parse_query, suggest

CRIME = {"pembunuhan", "penganiayaan", "pencurian", "narkoba", "penipuan", "asusila", "judi"}
DISASTER = {"banjir", "tanah_longsor", "gempa", "cuaca_ekstrem", "kebakaran"}


def test_every_word_names_real_case_keys() -> None:
    table = case_word_table()
    assert all(set(entry.cases) <= set(classify.CASE_KEYS) for entry in table.values())
    assert {e.word for e in umbrella_words()} >= {"kriminal", "kejahatan", "bencana"}


@pytest.mark.parametrize(
    ("word", "cases"),
    [("kriminal", CRIME), ("kejahatan", CRIME), ("bencana", DISASTER), ("Kriminal", CRIME)],
)
def test_umbrella_words(word: str, cases: set[str]) -> None:
    parsed = parse_query(f"Solo {word}")
    assert parsed.filter.cases == cases and parsed.filter.area_codes == {"33.72"}
    assert any(note.startswith(f"{word} →") for note in parsed.notes)


@pytest.mark.parametrize(
    ("word", "case"),
    [
        ("accident", "kecelakaan"),
        ("fire", "kebakaran"),
        ("flood", "banjir"),
        ("corruption", "korupsi"),
        ("drugs", "narkoba"),
        ("murder", "pembunuhan"),
        ("theft", "pencurian"),
        ("fraud", "penipuan"),
        ("earthquake", "gempa"),
        ("landslide", "tanah_longsor"),
    ],
)
def test_english_case_words(word: str, case: str) -> None:
    assert parse_query(f"Klaten {word}").filter.cases == {case}


@pytest.mark.parametrize(("typo", "meant"), [("kriminl", "kriminal"), ("bencna", "bencana"), ("acident", "accident")])
def test_a_case_like_typo_suggests_cases_not_places(typo: str, meant: str) -> None:
    assert suggest(typo)[0] == meant


def test_kabupaten_solo_says_solo_is_a_kota() -> None:
    parsed = parse_query("Kabupaten Solo")
    assert parsed.filter.area_codes == {"33.72"}
    assert parsed.notes == ("Solo adalah Kota Surakarta (tidak ada Kabupaten Solo)",)
    assert parse_query("Kabupaten Bandung").filter.area_codes == {"32.04"}
    assert parse_query("Kota Bandung").filter.area_codes == {"32.73"}


@pytest.mark.parametrize("typed", ["'jalan tol'", "‘jalan tol’", "“jalan tol”", '"jalan tol"'])
def test_single_and_typographic_quotes_make_a_phrase(typed: str) -> None:
    assert parse_query(f"Solo {typed}").filter.include_keywords == ("jalan tol",)


def test_an_apostrophe_inside_a_word_is_not_a_quote() -> None:
    assert parse_query('Solo "Jum\'at berkah"').filter.include_keywords == ("Jum'at berkah",)
