"""Pure subscription matching: does an article satisfy a filter, and how to say why.

Storage narrows the candidates through indexes on Kab/Kota and case (see
storage.subscriptions.candidate_subscriptions); these functions then check every dimension exactly, so
the index is an optimisation and never the definition of a match.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.models import Article, Subscription, SubscriptionFilter


def area_codes_of(article: Article) -> set[str]:
    """Kab/Kota codes of the article's places plus their province codes ("33.72" → also "33")."""
    cls = article.classification
    codes: set[str] = set()
    for place in (cls.city, *cls.other_cities):
        if place is not None:
            codes.add(place.code)
            codes.add(place.code.split(".", 1)[0])
    return codes


@lru_cache(maxsize=4096)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in keyword.casefold().split()]
    # Word boundaries so "demo" does not match "demokrasi"; any run of spaces between words.
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")


def contains_keyword(text: str, keyword: str) -> bool:
    if not keyword.strip():
        return False
    return _keyword_pattern(keyword).search(text.casefold()) is not None


def filter_matches(flt: SubscriptionFilter, article: Article) -> bool:
    cls = article.classification
    if flt.area_codes and not (flt.area_codes & area_codes_of(article)):
        return False
    if flt.cases and not (flt.cases & set(cls.cases)):
        return False
    if flt.sentiments and cls.sentiment not in flt.sentiments:
        return False
    if flt.include_keywords or flt.exclude_keywords:
        text = f"{article.title}\n{article.body}"
        if not all(contains_keyword(text, k) for k in flt.include_keywords):
            return False
        if any(contains_keyword(text, k) for k in flt.exclude_keywords):
            return False
    return True


def match_reason(flt: SubscriptionFilter, article: Article) -> str:
    """The "Cocok: …" line: which of the article's values satisfied the filter."""
    cls = article.classification
    parts: list[str] = []
    if flt.area_codes:
        places = [p for p in (cls.city, *cls.other_cities) if p is not None]
        hit = next((p for p in places if p.code in flt.area_codes or p.code.split(".", 1)[0] in flt.area_codes), None)
        if hit is not None:
            parts.append(hit.name if hit.code in flt.area_codes else f"{hit.name} ({hit.province})")
    else:
        parts.append("semua wilayah")
    if flt.cases:
        from bot.classify import case_label  # lazy: the taxonomy loads on first use

        parts.append(", ".join(case_label(c).lower() for c in cls.cases if c in flt.cases))
    if flt.sentiments:
        parts.append(_SENTIMENT_WORD[cls.sentiment.value])
    for keyword in flt.include_keywords:
        parts.append(f"“{keyword}”")
    return "Cocok: " + " · ".join(parts)


def first_match(subscriptions: list[Subscription], article: Article) -> Subscription | None:
    for sub in subscriptions:
        if filter_matches(sub.filter, article):
            return sub
    return None


_SENTIMENT_WORD = {"positive": "positif", "neutral": "netral", "negative": "negatif"}
