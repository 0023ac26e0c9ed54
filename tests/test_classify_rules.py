"""The classifier's rules as data: one source of truth for case keys and tones, wildcards, place rules."""

from __future__ import annotations

from importlib import resources

import pytest

from bot.classify import CASE_KEYS, CASE_TONE, case_label
from bot.classify.cases import load_rules, parse_case_rules
from bot.classify.places import parse_place_rules, place_rules


def _cases_toml() -> str:
    return resources.files("bot.classify").joinpath("data").joinpath("cases.toml").read_text("utf-8")


def test_case_keys_and_tones_come_from_the_data_file() -> None:
    rules = load_rules()
    assert rules.keys == CASE_KEYS
    assert set(CASE_TONE) == set(CASE_KEYS)
    assert rules.tones == CASE_TONE
    assert all(-1.0 <= t <= 0.0 for t in CASE_TONE.values())


def test_a_case_added_in_the_data_gets_a_key_a_label_and_a_tone() -> None:
    extra = '\n[banjir_lahar]\nlabel = "Banjir lahar"\ntone = -0.3\npatterns = { "lahar dingin" = 3 }\n'
    rules = parse_case_rules(_cases_toml() + extra)
    assert rules.keys[-1] == "banjir_lahar"
    assert rules.tones["banjir_lahar"] == -0.3
    assert rules.labels["banjir_lahar"] == "Banjir lahar"
    assert rules.words["banjir lahar"] == "banjir_lahar"


def test_a_case_without_a_tone_is_an_error_not_a_silent_zero() -> None:
    extra = '\n[banjir_lahar]\nlabel = "Banjir lahar"\npatterns = { "lahar dingin" = 3 }\n'
    with pytest.raises(ValueError, match="tone"):
        parse_case_rules(_cases_toml() + extra)


def test_every_shipped_case_has_a_label() -> None:
    assert all(case_label(k) for k in CASE_KEYS)


def test_trailing_wildcard_matches_any_ending() -> None:
    extra = '\n[ujicoba]\nlabel = "Uji"\ntone = -0.1\npatterns = { "gerhan*" = 3 }\n'
    rules = parse_case_rules(_cases_toml() + extra)
    hits = [(phrase, entries) for _, (phrase, entries) in rules.automaton.iter(" gerhanalah bulan ")]
    assert any(p == "gerhan" and any(e.prefix for e in es) for p, es in hits)
    # Without the star, only the whole word counts.
    plain = load_rules()
    assert not [1 for _, (p, _) in plain.automaton.iter(" tabrakannya ") if p == "tabrakannya"]


@pytest.mark.parametrize("phrase", ["tab*rak", "*", "kecelakaan *"])
def test_a_wildcard_not_at_a_word_end_is_refused(phrase: str) -> None:
    extra = f'\n[ujicoba]\nlabel = "Uji"\ntone = -0.1\npatterns = {{ "{phrase}" = 3 }}\n'
    with pytest.raises(ValueError):
        parse_case_rules(_cases_toml() + extra)


def test_place_rules_load_and_a_missing_entry_is_an_error() -> None:
    rules = place_rules()
    assert "polres" in rules.police and rules.weights.title > rules.weights.body
    assert rules.seats[("gubernur", "kantor")] == "gov"
    assert rules.seat_exceptions[("polda", "DKI Jakarta")] is None
    raw = resources.files("bot.classify").joinpath("data").joinpath("places.toml").read_text("utf-8")
    with pytest.raises(ValueError, match="places.toml"):
        parse_place_rules(raw.replace("[factors]", "[factors]\nunknown_factor = 1.0"))


def test_shipped_wildcards_match_inflections() -> None:
    # The English rules use "*": "accident*" covers accidents, "capsiz*" capsized and capsizes.
    rules = load_rules()
    assert any(e.prefix for _, (_, es) in rules.en.automaton.items() for e in es)
    from bot.classify import classify

    assert "kecelakaan" in classify("Three Accidents Reported on Cipali Toll Road", "").cases
    assert "orang_hilang" in classify("Boat Capsized, Two Fishermen Still Missing", "").cases
