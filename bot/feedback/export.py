"""Corrections → labelled records in the format `pantau eval` reads (`bot/classify/evaluation.py`: id, title,
body, labels with city, province, other_cities, cases, sentiment), so an analyst's fixes become an evaluation set.

Per article and field, the value that counts is the latest *trusted* correction's; without one, the
latest correction's (unless only trusted ones are exported). When corrections of one field disagree,
the choice is reported: the list of what to look at by hand. Fields nobody corrected keep the stored
label — the analyst saw the whole alert and disputed only the corrected ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot import classify
from bot.models import Article

LABEL_FIELDS = ("city", "cases", "sentiment")


class CorrectionLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def field(self) -> str: ...
    @property
    def trusted(self) -> bool: ...
    @property
    def new_value(self) -> Any: ...
    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Conflict:
    article_id: int
    field: str
    values: tuple[str, ...]  # the distinct values proposed, oldest first
    kept: str
    why: str  # "latest trusted" | "latest"

    def line(self) -> str:
        return (
            f"article {self.article_id} {self.field}: {len(self.values)} different corrections "
            f"({'; '.join(self.values)}); kept {self.kept} ({self.why})"
        )


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)


def resolve(article_id: int, corrections: Sequence[CorrectionLike]) -> tuple[dict[str, Any], list[Conflict]]:
    """field → the winning new value, and the disagreements found. Relevance feedback is not a label."""
    winners: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    for field in LABEL_FIELDS:
        mine = sorted((c for c in corrections if c.field == field), key=lambda c: (c.created_at, c.id))
        if not mine:
            continue
        trusted = [c for c in mine if c.trusted]
        winner = (trusted or mine)[-1]
        winners[field] = winner.new_value
        distinct = list(dict.fromkeys(_show(c.new_value) for c in mine))
        if len(distinct) > 1:
            why = "latest trusted" if trusted else "latest"
            conflicts.append(Conflict(article_id, field, tuple(distinct), _show(winner.new_value), why))
    return winners, conflicts


def labelled_record(article: Article, winners: dict[str, Any]) -> dict[str, Any]:
    """The article as a dev-set record: id, outlet, url, title, body, published, labels (+ which were corrected)."""
    cls = article.classification
    city = cls.city
    province = cls.province
    others = [p.name for p in cls.other_cities]
    if "city" in winners:
        code = winners["city"]
        place = classify.place_by_code(code) if isinstance(code, str) else None
        if place is None:
            city, province, others = None, None, []
        else:
            city, province = place, place.province
            others = [name for name in others if name != place.name]
    cases = list(cls.cases)
    if "cases" in winners and isinstance(winners["cases"], list):
        cases = [k for k in winners["cases"] if k in classify.CASE_KEYS]
    sentiment = str(cls.sentiment)
    if "sentiment" in winners and winners["sentiment"] in ("positive", "neutral", "negative"):
        sentiment = winners["sentiment"]
    published = article.published_at or article.fetched_at
    return {
        "id": f"pantau-{article.id}",
        "outlet": article.source,
        "url": article.link,
        "title": article.title,
        "body": article.body,
        "published": published.date().isoformat(),
        "labels": {
            "city": city.name if city else None,
            "province": province,
            "other_cities": others,
            "cases": cases,
            "cases_also_ok": [],
            "sentiment": sentiment,
            "sentiment_also_ok": [],
        },
        "corrected": [f for f in LABEL_FIELDS if f in winners],
    }
