"""Matching: every dimension exactly, and the indexed candidate lookup never misses a match."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.models import Article, Classification, Place, Sentiment, SubscriptionFilter
from bot.subscriptions.matching import contains_keyword, filter_matches, match_reason
from storage import chats as chat_store
from storage import subscriptions as sub_store
from storage.db import open_database
from storage.subscriptions import candidate_subscriptions

NOW = datetime(2024, 12, 18, tzinfo=UTC)
SOLO = Place(name="Kota Surakarta", code="33.72", province="Jawa Tengah")
KLATEN = Place(name="Kabupaten Klaten", code="33.10", province="Jawa Tengah")
BANDUNG = Place(name="Kota Bandung", code="32.73", province="Jawa Barat")
SURABAYA = Place(name="Kota Surabaya", code="35.78", province="Jawa Timur")
PLACES = [SOLO, KLATEN, BANDUNG, SURABAYA, None]
CASES = ["kecelakaan", "kebakaran", "banjir", "pencurian"]


def article(
    city: Place | None = SOLO,
    cases: tuple[str, ...] = ("kecelakaan",),
    sentiment: Sentiment = Sentiment.NEGATIVE,
    others: tuple[Place, ...] = (),
    title: str = "Tabrakan di jalan tol",
    body: str = "",
) -> Article:
    cls = Classification(
        city=city,
        other_cities=others,
        province=city.province if city else None,
        cases=cases,
        sentiment=sentiment,
        confidence=80,
    )
    return Article(1, None, "https://x/1", title, body, None, None, NOW, NOW, cls)


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (SubscriptionFilter(), True),
        (SubscriptionFilter(area_codes=frozenset({"33.72"})), True),
        (SubscriptionFilter(area_codes=frozenset({"33"})), True),  # the province covers its kab/kota
        (SubscriptionFilter(area_codes=frozenset({"32"})), False),
        (SubscriptionFilter(area_codes=frozenset({"32.73", "33.72"})), True),  # OR within a dimension
        (SubscriptionFilter(cases=frozenset({"banjir"})), False),
        (SubscriptionFilter(cases=frozenset({"banjir", "kecelakaan"})), True),
        (SubscriptionFilter(area_codes=frozenset({"33.72"}), cases=frozenset({"banjir"})), False),  # AND
        (SubscriptionFilter(sentiments=frozenset({Sentiment.POSITIVE})), False),
        (SubscriptionFilter(include_keywords=("jalan tol",)), True),
        (SubscriptionFilter(include_keywords=("jalan tol", "macet")), False),  # every keyword must appear
        (SubscriptionFilter(exclude_keywords=("tol",)), False),
        (SubscriptionFilter(exclude_keywords=("to",)), True),  # whole words only
    ],
)
def test_dimensions(flt: SubscriptionFilter, expected: bool) -> None:
    assert filter_matches(flt, article()) is expected


def test_other_cities_count_for_area() -> None:
    flt = SubscriptionFilter(area_codes=frozenset({"33.10"}))
    assert filter_matches(flt, article(others=(KLATEN,)))
    assert not filter_matches(flt, article())


def test_article_without_place_matches_only_anywhere_filters() -> None:
    assert filter_matches(SubscriptionFilter(), article(city=None))
    assert not filter_matches(SubscriptionFilter(area_codes=frozenset({"33"})), article(city=None))


def test_keyword_boundaries_and_spacing() -> None:
    assert contains_keyword("Aksi DEMO di depan balai kota", "demo")
    assert not contains_keyword("Pesta demokrasi", "demo")
    assert contains_keyword("jalan\n  tol Solo", "jalan tol")
    assert not contains_keyword("apa saja", "  ")


def test_reason_says_why_in_plain_words() -> None:
    flt = SubscriptionFilter(
        area_codes=frozenset({"33"}),
        cases=frozenset({"kecelakaan"}),
        sentiments=frozenset({Sentiment.NEGATIVE}),
        include_keywords=("jalan tol",),
    )
    assert match_reason(flt, article()) == "Cocok: Kota Surakarta (Jawa Tengah) · kecelakaan · negatif · “jalan tol”"
    assert match_reason(SubscriptionFilter(), article()) == "Cocok: semua wilayah"


def random_filter(rng: random.Random) -> SubscriptionFilter:
    areas: set[str] = set()
    for _ in range(rng.choice([0, 0, 1, 2])):
        place = rng.choice(PLACES[:-1])
        assert place is not None
        areas.add(place.code if rng.random() < 0.7 else place.code[:2])
    return SubscriptionFilter(
        area_codes=frozenset(areas),
        cases=frozenset(rng.sample(CASES, rng.choice([0, 0, 1, 2]))),
        sentiments=frozenset(rng.sample(list(Sentiment), rng.choice([0, 0, 1]))),
        include_keywords=tuple(rng.sample(["tol", "banjir"], rng.choice([0, 0, 0, 1]))),
    )


def random_article(rng: random.Random) -> Article:
    city = rng.choice(PLACES)
    others = tuple(p for p in rng.sample(PLACES[:-1], rng.choice([0, 0, 1])) if p != city)
    return article(
        city=city,
        others=others,
        cases=tuple(rng.sample(CASES, rng.choice([0, 1, 2]))),
        sentiment=rng.choice(list(Sentiment)),
        title=rng.choice(["Tabrakan di jalan tol", "Banjir besar", "Pasar"]),
    )


async def test_indexed_candidates_never_miss_a_match(tmp_path: Path) -> None:
    """For random subscriptions and articles, index lookup ⊇ exact scan (so matching == scan)."""
    rng = random.Random(4)
    db = await open_database(tmp_path / "m.db")
    subs = []
    for chat_id in range(1, 41):
        await chat_store.register_chat(db, chat_id, type="private", title=None, now=NOW)
        for _ in range(5):
            subs.append(await sub_store.add_subscription(db, chat_id, random_filter(rng), thread_id=None, now=NOW))
    from bot.subscriptions.matching import area_codes_of

    for _ in range(300):
        art = random_article(rng)
        scanned = {s.id for s in subs if filter_matches(s.filter, art)}
        candidates = await candidate_subscriptions(db.conn, area_codes_of(art), art.classification.cases)
        indexed = {s.id for s in candidates if filter_matches(s.filter, art)}
        assert indexed == scanned
        assert len(candidates) <= len(subs)
    await db.close()
