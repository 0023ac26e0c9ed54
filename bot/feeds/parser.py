"""Turn a fetched feed document into `FeedItem`s: feedparser plus plain-text cleanup and Indonesian dates.

`parse_feed` is pure and CPU-bound (~25 ms per 100 items); call it via ``asyncio.to_thread``.

Decisions worth knowing:
- Broken XML is normal for Indonesian feeds; feedparser's loose parser recovers it. We only fail
  (`ParseError`) when the document is not a feed at all: empty, an HTML page, unrecognised XML.
  A recognised feed with zero entries is an empty list, not an error.
- Items with neither link nor title are skipped. An item with a title but no usable link is kept
  with ``link=""`` (its guid still dedupes it).
- All text (titles, bodies, authors, the feed's title) loses control and bidi-override characters
  (`bot.text.strip_unsafe`); titles are capped at 500 characters, authors and feed titles at 200.
- guid = entry id, else the link, else ``"sha1:" + sha1(title + summary)``; guids longer than
  512 characters are hashed the same way.
- Dates more than a day in the future are set to None (a CMS with a broken clock or a "scheduled"
  post); the caller then uses its fetch time.
- Indonesian dates (see `parse_indonesian_date`): WIB = UTC+7, WITA = UTC+8, WIT = UTC+9, and a
  timestamp with no zone at all is taken as WIB. Pantau reads Indonesian feeds, whose CMSes write
  local time; feedparser alone would read such strings as UTC, 7 hours off.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from html import unescape
from html.parser import HTMLParser
from typing import Any, Final
from urllib.parse import urljoin

import feedparser

from bot.errors import ParseError
from bot.feeds.urls import is_http_url
from bot.models import FeedItem
from bot.text import shorten, strip_unsafe

SUMMARY_MAX_CHARS: Final = 5000
# Longer is not a headline (a hostile feed sent one of a million characters); the cut keeps a row sane.
TITLE_MAX_CHARS: Final = 500
NAME_MAX_CHARS: Final = 200  # author, feed title
MAX_FUTURE: Final = timedelta(days=1)
_MAX_GUID: Final = 512


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    ttl_minutes: int | None  # RSS <ttl>, else sy:updatePeriod/updateFrequency
    items: list[FeedItem]


def parse_feed(body: bytes, *, url: str, content_type: str | None = None, now: datetime | None = None) -> ParsedFeed:
    """Parse an RSS/Atom document fetched from `url`. Raises `ParseError` when it is not a feed."""
    install_date_handlers()
    if not body.strip():
        raise ParseError("not an RSS/Atom feed: empty body")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(
        io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    entries: list[Any] = parsed.get("entries") or []
    if not entries and not parsed.get("version"):
        raise ParseError(f"not an RSS/Atom feed: {_why_not_a_feed(body, parsed)}")

    now = now or datetime.now(UTC)
    feed: Any = parsed.get("feed") or {}
    items = [item for entry in entries if (item := _item(entry, base_url=url, now=now)) is not None]
    link = _absolute_link(feed.get("link"), url)
    return ParsedFeed(
        title=shorten(_detail_text(feed.get("title_detail"), feed.get("title")), NAME_MAX_CHARS) or None,
        link=link or None,
        ttl_minutes=_ttl_minutes(feed),
        items=items,
    )


def _why_not_a_feed(body: bytes, parsed: Any) -> str:
    head = body[:2048].lstrip().lower()
    if b"<html" in head or head.startswith(b"<!doctype html"):
        return "looks like an HTML page"
    exc = parsed.get("bozo_exception")
    if exc is not None:
        return _short(f"{type(exc).__name__}: {exc}")
    return "unrecognised format"


def _item(entry: Any, *, base_url: str, now: datetime) -> FeedItem | None:
    title = shorten(_detail_text(entry.get("title_detail"), entry.get("title")), TITLE_MAX_CHARS)
    link = _absolute_link(entry.get("link"), base_url)
    if not title and not link:
        return None
    summary = _summary(entry)
    guid = str(entry.get("id") or "").strip() or link
    if not guid:
        guid = "sha1:" + hashlib.sha1(f"{title}\n{summary}".encode()).hexdigest()
    elif len(guid) > _MAX_GUID:
        guid = "sha1:" + hashlib.sha1(guid.encode()).hexdigest()
    author = shorten(_detail_text(None, entry.get("author")), NAME_MAX_CHARS) or None
    return FeedItem(
        guid=guid,
        link=link,
        title=title,
        summary=summary,
        author=author,
        published=_published(entry, now=now),
    )


def _summary(entry: Any) -> str:
    # Prefer whichever of content:encoded / Atom content / description says the most.
    candidates: list[Any] = list(entry.get("content") or [])
    if "summary_detail" in entry or "summary" in entry:
        candidates.append(entry.get("summary_detail") or {"value": entry.get("summary"), "type": "text/html"})
    best = ""
    for detail in candidates:
        text = _detail_text(detail, None)
        if len(text) > len(best):
            best = text
    return shorten(best, SUMMARY_MAX_CHARS)


def _published(entry: Any, *, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        if key not in entry:
            continue
        value = entry[key]
        if not value:
            continue
        try:
            when = datetime(*value[:6]).replace(tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):
            continue
        return None if when > now + MAX_FUTURE else when
    return None


def _ttl_minutes(feed: Any) -> int | None:
    ttl = _positive_int(feed.get("ttl"))
    if ttl is not None:
        return ttl
    period_minutes = {"hourly": 60, "daily": 1440, "weekly": 10080, "monthly": 43200, "yearly": 525600}
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period not in period_minutes:
        return None
    frequency = _positive_int(feed.get("sy_updatefrequency")) or 1
    return max(1, period_minutes[period] // frequency)


def _positive_int(value: object) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _absolute_link(link: object, base_url: str) -> str:
    if not isinstance(link, str) or not link.strip():
        return ""
    absolute = urljoin(base_url, link.strip())
    return absolute if is_http_url(absolute) else ""


# --- plain text ---------------------------------------------------------------------------------

_BLOCK_TAGS: Final = frozenset(
    {
        "p",
        "br",
        "div",
        "li",
        "ul",
        "ol",
        "tr",
        "td",
        "th",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "section",
        "article",
        "figure",
        "figcaption",
        "hr",
        "table",
        "pre",
    }
)
_SKIP_TAGS: Final = frozenset({"script", "style", "noscript", "template"})
# Tags left over after one pass mean the feed escaped its HTML twice; one more pass fixes that.
_LEFTOVER_TAG: Final = re.compile(r"</?(?:p|br|div|span|a|img|b|i|em|strong|figure|iframe)\b[^>]*>", re.I)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment: tags stripped, entities decoded, whitespace collapsed."""
    if "<" not in html and "&" not in html:
        return _collapse(html)
    text = _strip_once(html)
    if _LEFTOVER_TAG.search(text):
        text = _strip_once(text)
    return _collapse(text)


def _strip_once(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return "".join(extractor.parts)


def _detail_text(detail: Any, fallback: object) -> str:
    """Plain text of a feedparser text construct (dict with value/type), or of `fallback`."""
    if detail:
        value = detail.get("value") or ""
        kind = str(detail.get("type") or "text/plain")
    else:
        value = fallback if isinstance(fallback, str) else ""
        kind = "text/plain"
    if not value:
        return ""
    if "html" in kind:
        return html_to_text(value)
    # Plain text: unescape anyway, many Indonesian feeds escape their entities twice ("&amp;quot;").
    return _collapse(unescape(value))


def _collapse(text: str) -> str:
    # Every piece of feed text passes here: control and bidi characters go at ingest, so no terminal,
    # log or chat downstream ever sees them.
    return " ".join(strip_unsafe(text).split())


def _short(text: str, limit: int = 200) -> str:
    return shorten(text, limit)


# --- Indonesian dates ---------------------------------------------------------------------------

_MONTHS: Final = {
    **dict.fromkeys(("januari", "jan"), 1),
    **dict.fromkeys(("februari", "pebruari", "feb", "peb"), 2),
    **dict.fromkeys(("maret", "mar"), 3),
    **dict.fromkeys(("april", "apr"), 4),
    **dict.fromkeys(("mei", "may"), 5),
    **dict.fromkeys(("juni", "jun", "june"), 6),
    **dict.fromkeys(("juli", "jul", "july"), 7),
    **dict.fromkeys(("agustus", "agu", "agt", "agus", "ags", "aug", "august"), 8),
    **dict.fromkeys(("september", "sep", "sept"), 9),
    **dict.fromkeys(("oktober", "okt", "oct", "october"), 10),
    **dict.fromkeys(("november", "nopember", "nov", "nop"), 11),
    **dict.fromkeys(("desember", "des", "dec", "december"), 12),
    **{m: i for i, m in enumerate(("january", "february", "march"), start=1)},
}
_ENGLISH_MONTHS: Final = frozenset(
    {
        "jan",
        "feb",
        "mar",
        "apr",
        "may",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    }
)
_INDONESIAN_DAYS: Final = frozenset(
    {
        "senin",
        "selasa",
        "rabu",
        "kamis",
        "jumat",
        "jum'at",
        "sabtu",
        "minggu",
        "ahad",
        "sen",
        "sel",
        "rab",
        "kam",
        "jum",
        "sab",
        "min",
    }
)
_ENGLISH_DAYS: Final = frozenset(
    {
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    }
)
_INDONESIAN_ZONES: Final = {"wib": 7, "wita": 8, "wit": 9}
_UTC_ZONES: Final = frozenset({"gmt", "utc", "ut", "z"})
WIB: Final = timezone(timedelta(hours=7), "WIB")

_TIME: Final = r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2})(?:\.\d+)?)?"
_ZONE: Final = r"(?P<zone>[A-Za-z]{1,4}|[+-]\d{2}:?\d{2})"
_TEXT_DATE: Final = re.compile(
    r"^(?:(?P<dayname>[A-Za-z']+)\s*,?\s+)?(?P<day>\d{1,2})\s+(?P<month>[A-Za-z]+)\.?,?\s+(?P<year>\d{4})"
    rf"(?:\s*[,|-]?\s*(?:pukul\s+|jam\s+)?{_TIME})?(?:\s*{_ZONE})?$",
    re.I,
)
_NUMERIC_DATE: Final = re.compile(
    r"^(?:(?P<dayname>[A-Za-z']+)\s*,?\s+)?(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4})"
    rf"(?:\s*[,|-]?\s*(?:pukul\s+|jam\s+)?{_TIME})?(?:\s*{_ZONE})?$",
    re.I,
)
_ISO_DATE: Final = re.compile(
    rf"^(?P<year>\d{{4}})-(?P<month>\d{{2}})-(?P<day>\d{{2}})[ T]{_TIME}(?:\s*(?P<zone>WIB|WITA|WIT))?$",
    re.I,
)


def parse_indonesian_date(value: str) -> time.struct_time | None:
    """A feedparser date handler: Indonesian date strings → UTC 9-tuple; None to let feedparser try.

    Handles "Senin, 03 Mar 2025 10:00:00 WIB", "03 Maret 2025 10:00 WITA", "17 Desember 2024 14:05 WIT",
    "03/03/2025 10:00 WIB" (day first), and naive "2025-03-03 10:00:00". No zone means WIB.
    Standard RFC 822 strings (English names with a numeric or GMT/UTC zone) are left to feedparser.
    """
    text = " ".join(value.split())
    match = _TEXT_DATE.match(text)
    if match is not None:
        month_name = match["month"].lower()
        month = _MONTHS.get(month_name)
        if month is None:
            return None
        dayname = (match["dayname"] or "").lower()
        if dayname and dayname not in _INDONESIAN_DAYS and dayname not in _ENGLISH_DAYS:
            return None
        zone = (match["zone"] or "").lower()
        standard = zone and zone not in _INDONESIAN_ZONES
        if standard and month_name in _ENGLISH_MONTHS and dayname not in _INDONESIAN_DAYS:
            return None  # plain RFC 822: feedparser's own handler is right
        return _to_utc(match, int(match["year"]), month, int(match["day"]), zone)
    for pattern in (_NUMERIC_DATE, _ISO_DATE):
        match = pattern.match(text)
        if match is not None:
            if "dayname" in match.groupdict() and match["dayname"]:
                dayname = match["dayname"].lower()
                if dayname not in _INDONESIAN_DAYS and dayname not in _ENGLISH_DAYS:
                    return None
            zone = (match["zone"] or "").lower()
            return _to_utc(match, int(match["year"]), int(match["month"]), int(match["day"]), zone)
    return None


def _to_utc(match: re.Match[str], year: int, month: int, day: int, zone: str) -> time.struct_time | None:
    tz = _zone(zone)
    if tz is None:
        return None
    hour = int(match["hour"] or 0)
    minute = int(match["minute"] or 0)
    second = int(match["second"] or 0)
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None
    return local.astimezone(UTC).timetuple()


def _zone(zone: str) -> timezone | None:
    if not zone:
        return WIB
    if zone in _INDONESIAN_ZONES:
        return timezone(timedelta(hours=_INDONESIAN_ZONES[zone]))
    if zone in _UTC_ZONES:
        return UTC
    numeric = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", zone)
    if numeric is None:
        return None  # an unknown abbreviation: don't guess
    sign = 1 if numeric[1] == "+" else -1
    offset = timedelta(hours=int(numeric[2]), minutes=int(numeric[3]))
    if offset >= timedelta(hours=24):
        return None
    return timezone(sign * offset)


_install_lock = threading.Lock()
_installed = False


def install_date_handlers() -> None:
    """Register `parse_indonesian_date` with feedparser (once per process; parse_feed calls it)."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if not _installed:
            feedparser.registerDateHandler(parse_indonesian_date)
            _installed = True
