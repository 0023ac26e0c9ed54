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
    """Kab/Kota codes of the article's places plus their province codes ("33.72" → also "33"); for a
    province-wide story (a province, no Kab/Kota) the province code alone, so it reaches subscriptions to
    that province and none to one of its Kab/Kota."""
    return set(article_facts(article).area_codes)


@lru_cache(maxsize=1)
def _province_codes() -> dict[str, str]:
    from bot.classify import all_provinces  # lazy: the gazetteer loads on first use

    return {p.name.casefold(): p.code for p in all_provinces()}


def province_wide_code(article: Article) -> str | None:
    """The province code of a story placed in a province but in no Kab/Kota ("Pilkada DKI"), else None."""
    cls = article.classification
    if cls.city is not None or cls.other_cities or not cls.province:
        return None
    return _province_codes().get(cls.province.casefold())


class ArticleFacts:
    """What every filter check needs from one article, computed once per article, not once per filter.

    Matching 1,000 articles against 100,000 subscriptions checks ~300,000 (filter, article) pairs;
    rebuilding the area set, the case set and the case-folded text for each pair was most of the time.
    """

    __slots__ = ("article", "area_codes", "cases", "_text")

    def __init__(self, article: Article) -> None:
        cls = article.classification
        codes: set[str] = set()
        for place in (cls.city, *cls.other_cities):
            if place is not None:
                codes.add(place.code)
                codes.add(place.code.split(".", 1)[0])
        province = province_wide_code(article)
        if province is not None:
            codes.add(province)
        self.article = article
        self.area_codes: frozenset[str] = frozenset(codes)
        self.cases: frozenset[str] = frozenset(cls.cases)
        self._text: str | None = None

    @property
    def text(self) -> str:
        """Title and body, case-folded (for keyword checks); folded on first use."""
        if self._text is None:
            self._text = f"{self.article.title}\n{self.article.body}".casefold()
        return self._text


_last_facts: ArticleFacts | None = None


def article_facts(article: Article) -> ArticleFacts:
    """Facts of `article`; the last article's are reused (Article is frozen, so identity is enough).

    Callers loop over subscriptions for one article at a time (bot.ingest.store, storage.search), so a
    one-entry cache gives them the saving without changing their calls.
    """
    global _last_facts
    facts = _last_facts
    if facts is None or facts.article is not article:
        facts = _last_facts = ArticleFacts(article)
    return facts


@lru_cache(maxsize=4096)
def _first_word(keyword: str) -> str:
    return keyword.casefold().split()[0]


@lru_cache(maxsize=4096)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in keyword.casefold().split()]
    # Word boundaries so "demo" does not match "demokrasi"; any run of spaces between words.
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")


def contains_keyword(text: str, keyword: str) -> bool:
    return _contains_folded(text.casefold(), keyword)


def _contains_folded(folded: str, keyword: str) -> bool:
    if not keyword.strip():
        return False
    # Any match contains the first word verbatim: a plain substring test rejects most texts cheaply.
    if _first_word(keyword) not in folded:
        return False
    return _keyword_pattern(keyword).search(folded) is not None


def filter_matches(flt: SubscriptionFilter, article: Article, facts: ArticleFacts | None = None) -> bool:
    """Does `article` satisfy every dimension of `flt`? Pass `facts` (article_facts) when checking many."""
    if facts is None or facts.article is not article:
        facts = article_facts(article)
    if flt.area_codes and flt.area_codes.isdisjoint(facts.area_codes):
        return False
    if flt.cases and flt.cases.isdisjoint(facts.cases):
        return False
    if flt.sentiments and article.classification.sentiment not in flt.sentiments:
        return False
    if flt.include_keywords or flt.exclude_keywords:
        text = facts.text
        if not all(_contains_folded(text, k) for k in flt.include_keywords):
            return False
        if any(_contains_folded(text, k) for k in flt.exclude_keywords):
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
            said = hit.name if hit.code in flt.area_codes else f"{hit.name} ({hit.province})"
            if hit is not cls.city:
                # Only named (a victim's home town, a team's base): say where it happened instead.
                where = f"; lokasi kejadian {cls.city.name}" if cls.city is not None else ""
                said += f" (disebut{where})"
            parts.append(said)
        elif province_wide_code(article) in flt.area_codes:
            parts.append(f"Provinsi {cls.province} (seluruh provinsi)")
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
