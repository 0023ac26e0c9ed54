"""Domain values shared by every layer: frozen dataclasses and enums only, no behaviour with I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


@dataclass(frozen=True, slots=True)
class Place:
    """One Kab/Kota from the Kemendagri list."""

    name: str  # "Kota Surakarta"
    code: str  # Kemendagri code with dot: "33.72"
    province: str  # "Jawa Tengah"


@dataclass(frozen=True, slots=True)
class Classification:
    """What the classifier decided about one article, and why."""

    city: Place | None
    other_cities: tuple[Place, ...]
    province: str | None
    cases: tuple[str, ...]  # case keys of bot/classify/data/cases.toml, best first
    sentiment: Sentiment
    confidence: int  # 1..100, how sure the sentiment answer is
    # Free-form reasons keyed by "city", "cases", "sentiment" (and per case key),
    # e.g. {"city": ["dateline: SOLO"], "kecelakaan": ["title: tabrakan"]}.
    evidence: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry as parsed from a feed, before storage."""

    guid: str
    link: str
    title: str
    summary: str
    author: str | None
    published: datetime | None  # aware UTC


@dataclass(frozen=True, slots=True)
class Feed:
    id: int
    url: str
    title: str | None  # from the feed itself
    name: str | None  # given when added; wins over title
    etag: str | None
    last_modified: str | None
    default_city_code: str | None
    error_count: int
    last_error: str | None
    last_checked_at: datetime | None
    next_check_at: datetime
    initial_polled: bool  # False until the first successful poll (that poll alerts nobody)
    backfill: int  # on the first poll, alert the newest N items instead of none
    added_by: str  # "cli" (trusted) or "telegram:<user id>"
    last_success_at: datetime | None
    full_text: str = "auto"  # read article pages: "auto" (teasers only), "always" or "never"
    # Query parameters seen to vary per request in this feed's links (a session id): left out of dedup keys.
    volatile_params: frozenset[str] = frozenset()
    # Successes in a row that took over half the fetch deadline (they push the next poll out, gently),
    # and how long the last successful fetch took in seconds (None: not measured yet).
    slow_polls: int = 0
    last_fetch_seconds: float | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.title or self.url


@dataclass(frozen=True, slots=True)
class Article:
    """A stored article with its classification."""

    id: int
    feed_id: int | None
    link: str
    title: str
    body: str
    author: str | None
    source: str | None
    published_at: datetime | None
    fetched_at: datetime
    classification: Classification
    story_id: int | None = None  # the story (incident) it reports; None until assigned
    text_source: str = "feed"  # body (and classification) from the "feed" item or the article "page"
    page_error: str | None = None  # the page was wanted but not used: labels come from the feed's teaser
    # Label fields ("city", "cases", "sentiment") an analyst corrected; shown as "(dikoreksi)".
    corrected: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    """Dimensions are AND-ed; values inside one dimension are OR-ed; an empty dimension means any."""

    area_codes: frozenset[str] = frozenset()  # Kab/Kota codes ("33.72") or province codes ("33")
    cases: frozenset[str] = frozenset()
    sentiments: frozenset[Sentiment] = frozenset()
    include_keywords: tuple[str, ...] = ()  # each must appear (case-insensitive)
    exclude_keywords: tuple[str, ...] = ()  # none may appear


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    chat_id: int
    thread_id: int | None
    filter: SubscriptionFilter
    created_at: datetime
    number: int = 0  # per chat, 1, 2, 3 … as the chat sees it (/daftar, /berhenti); 0 = not numbered yet


@dataclass(frozen=True, slots=True)
class LabelCorrection:
    """An analyst's correction of one label of an article (issue #14).

    field "city": `city` is the right Kab/Kota, None for "no Kab/Kota"; "cases": `cases`, main first,
    () for "no case"; "sentiment": `sentiment`; "relevance": "not for me" (feedback, not a label).
    """

    field: str
    city: Place | None = None
    cases: tuple[str, ...] = ()
    sentiment: Sentiment | None = None

    def same_as(self, article: Article) -> bool:
        """True when the article already carries this label (nothing to correct)."""
        cls = article.classification
        if self.field == "city":
            return (self.city.code if self.city else None) == (cls.city.code if cls.city else None)
        if self.field == "cases":
            return list(self.cases) == list(cls.cases)
        if self.field == "sentiment":
            return self.sentiment is cls.sentiment
        return False


# ---- reports (/ringkasan, daily brief, spikes, /ekspor): what storage aggregates, what bot.reports renders --


@dataclass(frozen=True, slots=True)
class ReportWindow:
    """A half-open UTC period [start, end) and how to bucket it: per local hour or per local day."""

    start: datetime
    end: datetime
    utc_offset_hours: int  # the chat's zone: WIB 7, WITA 8, WIT 9
    hourly: bool


@dataclass(frozen=True, slots=True)
class TopStory:
    """One story (or article, when there are no stories) of a report, by how many outlets carried it."""

    article_id: int  # its first article in the period
    title: str
    link: str
    outlets: int
    articles: int
    city_name: str | None
    sentiment: Sentiment


@dataclass(frozen=True, slots=True)
class SummaryData:
    """Everything /ringkasan shows, aggregated in SQL. `unit` says what was counted."""

    unit: str  # "stories" (articles grouped by story) or "articles"
    # (bucket, negative, neutral, positive); bucket is the local day "2026-12-01" or hour "2026-12-01 07".
    timeline: tuple[tuple[str, int, int, int], ...]
    total: int
    negative: int
    previous_total: int  # the period of the same length just before
    previous_negative: int
    top_cases: tuple[tuple[str, int], ...]  # (case key, count), biggest first
    top_cities: tuple[tuple[str, int], ...]  # (Kab/Kota name, count)
    negative_cities: tuple[tuple[str, int], ...]  # (Kab/Kota name, negative count)
    top_stories: tuple[TopStory, ...]


@dataclass(frozen=True, slots=True)
class PairCount:
    """Stories of one Kab/Kota × kasus: in the recent window and in the baseline period before it."""

    city_code: str
    city_name: str
    case_key: str
    recent: int
    baseline: int  # in the same hours of the day, summed over the baseline's days


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One line of /ekspor and `pantau export`."""

    at: datetime  # publication time, or when Pantau fetched it
    outlet: str
    title: str
    link: str
    city_name: str
    province: str
    cases: tuple[str, ...]
    sentiment: Sentiment
    confidence: int
    story_id: int | None
    subscription_id: int | None  # the first of the chat's subscriptions that matched
