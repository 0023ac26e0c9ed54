"""/subscribe words → SubscriptionFilter, and the filter back in plain words."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.models import Sentiment, SubscriptionFilter
from bot.subscriptions.query import UnknownWords, describe_filter, parse_query, split_terms


def test_the_issue_example() -> None:
    parsed = parse_query('Solo kecelakaan kebakaran negatif "jalan tol" -"simulasi"')
    assert parsed.filter == SubscriptionFilter(
        area_codes=frozenset({"33.72"}),
        cases=frozenset({"kecelakaan", "kebakaran"}),
        sentiments=frozenset({Sentiment.NEGATIVE}),
        include_keywords=("jalan tol",),
        exclude_keywords=("simulasi",),
    )
    assert parsed.notes == ("Solo → Kota Surakarta",)


@pytest.mark.parametrize(
    ("words", "areas"),
    [
        ("Solo", {"33.72"}),
        ("Surakarta", {"33.72"}),
        ("Kota Surakarta", {"33.72"}),
        ("kota surakarta", {"33.72"}),
        ("Kab. Sukoharjo", {"33.11"}),
        ("Kabupaten Sukoharjo", {"33.11"}),
        ("Jawa Tengah", {"33"}),
        ("Jateng", {"33"}),
        ("bandung", {"32.73", "32.04"}),  # an ambiguous name takes both, and says so
        ("Solo, Sukoharjo dan Klaten", {"33.72", "33.11", "33.10"}),
        ("Yogyakarta", {"34.71"}),  # the city, not the whole province
        ("Provinsi Daerah Istimewa Yogyakarta", {"34"}),
    ],
)
def test_place_aliases(words: str, areas: set[str]) -> None:
    assert parse_query(words).filter.area_codes == areas


@pytest.mark.parametrize(
    ("words", "cases"),
    [
        ("kecelakaan", {"kecelakaan"}),
        ("tabrakan", {"kecelakaan"}),
        ("tabrak lari", {"kecelakaan"}),
        ("tanah_longsor", {"tanah_longsor"}),
        ("demo", {"unjuk_rasa"}),
        ("begal kebakaran", {"pencurian", "kebakaran"}),
    ],
)
def test_case_words(words: str, cases: set[str]) -> None:
    assert parse_query(words).filter.cases == cases


def test_sentiments_in_both_languages() -> None:
    flt = parse_query("positif netral negative").filter
    assert flt.sentiments == {Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE}


def test_nothing_means_anything() -> None:
    assert parse_query("").filter == SubscriptionFilter()


def test_typographic_quotes_and_bare_minus_words() -> None:
    flt = parse_query("“jalan tol” -simulasi -“uji coba”").filter
    assert flt.include_keywords == ("jalan tol",)
    assert flt.exclude_keywords == ("simulasi", "uji coba")


def test_unknown_words_are_named_with_suggestions_and_fail_whole_query() -> None:
    with pytest.raises(UnknownWords) as caught:
        parse_query("Solo Surakrta kecelakan negatif")
    assert caught.value.unknown == ["Surakrta", "kecelakan"]
    assert caught.value.suggestions["Surakrta"][0] == "Kota Surakarta"
    assert caught.value.suggestions["kecelakan"][0] == "kecelakaan"
    assert isinstance(caught.value, InputError)
    assert "“Surakrta” tidak dikenal" in str(caught.value)


def test_too_many_keywords() -> None:
    with pytest.raises(InputError):
        parse_query(" ".join(f'"kata{n}"' for n in range(11)))


def test_split_terms() -> None:
    terms = split_terms('Solo "jalan tol" -"uji" -x, Klaten')
    assert [(t.text, t.quoted, t.negated) for t in terms] == [
        ("Solo", False, False),
        ("jalan tol", True, False),
        ("uji", True, True),
        ("x", True, True),
        ("Klaten", False, False),
    ]


def test_describe_filter_in_plain_words() -> None:
    flt = parse_query('Solo Jawa Barat kecelakaan kebakaran negatif netral "tol" -"simulasi"').filter
    assert describe_filter(flt) == (
        "Kota Surakarta atau Provinsi Jawa Barat · kasus kebakaran atau kecelakaan · sentimen negatif atau netral"
        " · memuat “tol” · tanpa “simulasi”"
    )
    assert describe_filter(SubscriptionFilter()) == "semua wilayah · semua kasus"


def test_describe_round_trips_through_parse() -> None:
    flt = parse_query("Klaten banjir positif").filter
    # The description names official places and case labels, which parse back to the same filter.
    again = parse_query(describe_filter(flt).replace("·", " ").replace("kasus", "").replace("sentimen", "")).filter
    assert again == flt
