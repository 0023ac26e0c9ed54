"""Article pages for teaser feeds: when an item needs its page, fetching it as HTML, extracting the article.

Most Indonesian feeds carry a teaser (a median of 66 characters in the shared snapshots), so the
classifier would read the title and half a sentence. For such items the article page is fetched once and
its main text extracted with trafilatura, favouring precision: menus naming a dozen towns, "Baca juga"
boxes and "Terpopuler" lists are other stories about other places, and must never reach the classifier.

- `needs_page` is pure; `extract_article` is pure and CPU-bound (run it in a worker thread);
  `fetch_page` goes through the feed `Fetcher`, so pages share its concurrency caps (overall and per
  host), timeouts, size cap, User-Agent and, for feeds added from Telegram, its SSRF guard.
- `SiteBackoff` remembers sites whose pages keep failing, so a broken site is left alone for a while
  (the same exponential backoff as a failing feed) instead of costing a timeout per article.
- Extraction errors leave as `PageError`, fetch errors as `FetchError`; the caller then keeps the
  feed's own text (bot/ingest/fulltext.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, get_args

import httpx

from bot.errors import FetchError, PageError
from bot.feeds.fetcher import Fetched, Fetcher
from bot.feeds.schedule import backoff_delay
from bot.text import repair_text, strip_unsafe

FullTextMode = Literal["auto", "always", "never"]
FULL_TEXT_MODES: Final[tuple[FullTextMode, ...]] = get_args(FullTextMode)
DEFAULT_FULL_TEXT: Final[FullTextMode] = "auto"

# Feed text shorter than this is a teaser (full articles in the dev sets run about 1,400 characters).
TEASER_MAX_CHARS: Final = 400
# Stored and classified page text is cut at a paragraph boundary past this (a long read, not a feed item).
PAGE_TEXT_MAX_CHARS: Final = 12_000
HTML_ACCEPT: Final = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
_HTML_TYPES: Final = ("text/html", "application/xhtml+xml")

# A feed text cut off by its CMS: "…", "...", "[…]", "[...]", "(...)", "[Selengkapnya]", "Baca selengkapnya".
_CUT_OFF: Final = re.compile(
    r"(?:\.{3}|…|\[\s*(?:…|\.{3})\s*\]|\(\s*(?:…|\.{3})\s*\)|\[?\s*(?:baca\s+)?selengkapnya\s*\]?)\s*$",
    re.IGNORECASE,
)

# Page elements that are other stories or site furniture, pruned before extraction (class/id fragments
# Indonesian news CMSes use). trafilatura drops most navigation by itself; these go even when they sit
# inside the article container.
_PRUNE_WORDS: Final = (
    "baca-juga",
    "bacajuga",
    "baca_juga",
    "related",
    "terkait",
    "populer",
    "popular",
    "trending",
    "rekomendasi",
    "recommend",
    "sidebar",
    "widget",
    "share",
    "komentar",
    "comment",
    "newsletter",
    "advert",
    "iklan",
    "breadcrumb",
    "tags",
)
_PRUNE_XPATH: Final = [
    "//*[" + " or ".join(f"contains(@class,'{w}') or contains(@id,'{w}')" for w in _PRUNE_WORDS) + "]",
    "//nav",
    "//aside",
    "//footer",
    "//header",
    "//form",
]

# Paragraphs that are furniture even when the CMS puts them inside the article body: pointers to other
# stories, calls to follow the outlet, ad markers, bylines. Matched at the start of a paragraph.
_BOILERPLATE_PARAGRAPH: Final = re.compile(
    r"^\W*(?:baca\s+(?:juga|pula|lainnya|berita)|simak\s+(?:juga|video|berita|selengkapnya)|"
    r"lihat\s+(?:juga|video|foto)|tonton\s+(?:juga|video)|artikel\s+terkait|berita\s+terkait|"
    r"berita\s+lainnya|terpopuler|berita\s+populer|pilihan\s+editor|rekomendasi|advertisement|"
    r"scroll\s+to\s+continue|iklan\b|dapatkan\s+(?:update|informasi|berita)|ikuti\s+(?:kami|berita|update|saluran)|"
    r"follow\s+(?:us|kami)|gabung\s+(?:ke|di)|klik\s+(?:di\s+)?sini|download\s+aplikasi|unduh\s+aplikasi|"
    r"(?:editor|penulis|pewarta|reporter|penyunting|sumber|foto)\s*:|copyright|hak\s+cipta|©|"
    r"halaman\s+(?:selanjutnya|berikutnya|sebelumnya)|selanjutnya\s*>|tags?\s*:|topik\s*:)",
    re.IGNORECASE,
)
# Furniture wherever it sits in a paragraph: copyright lines, link bars ("Redaksi | Kontak | Karir").
_FURNITURE_ANYWHERE: Final = re.compile(
    r"©|\bhak\s+cipta\s+dilindungi|\ball\s+rights\s+reserved|[^|]+\|[^|]+\|", re.IGNORECASE
)
_WORD: Final = re.compile(r"[^\W\d_]{4,}", re.UNICODE)


def is_teaser(text: str) -> bool:
    """Feed text too short to classify well, or visibly cut off by the CMS."""
    flat = " ".join(text.split())
    return len(flat) < TEASER_MAX_CHARS or bool(_CUT_OFF.search(flat))


def needs_page(mode: str, summary: str, link: str) -> bool:
    """Whether a new item's page should be fetched: per the feed's mode, only for http(s) links."""
    if mode == "never" or not link.startswith(("http://", "https://")):
        return False
    return mode == "always" or is_teaser(summary)


def page_host(url: str) -> str:
    """The host a page URL names (the key of `SiteBackoff`); '' when it names none."""
    try:
        return httpx.URL(url).host
    except (httpx.InvalidURL, TypeError):
        return ""


async def fetch_page(fetcher: Fetcher, url: str, *, public_only: bool) -> Fetched:
    """GET an article page as HTML through the feed fetcher. FetchError on failure, PageError if not HTML."""
    # Urgent: an alert waits for this page, so it takes the next free slot ahead of queued feed polls.
    result = await fetcher.fetch(url, public_only=public_only, accept=HTML_ACCEPT, urgent=True)
    if not isinstance(result, Fetched):  # we send no validators, so a 304 is the server's mistake
        raise FetchError("HTTP 304 without a conditional request")
    media = (result.content_type or "").split(";", 1)[0].strip().lower()
    if media and media not in _HTML_TYPES:
        raise PageError(f"not an HTML page ({media[:60]})")
    return result


def extract_article(body: bytes, *, url: str, content_type: str | None, title: str, feed_text: str) -> str:
    """The article's main text from its page: paragraphs joined by newlines, furniture removed, repaired.

    Raises PageError when the page yields nothing better than the feed text: no text, less text than the
    teaser, or text that shares no word with the item's title (a consent wall, an index page).
    """
    import trafilatura  # ~150 ms to import; only processes that read pages pay for it

    html: str | bytes = body
    charset = _charset(content_type)
    if charset:
        try:
            html = body.decode(charset, errors="replace")
        except LookupError:  # an unknown charset name: let trafilatura sniff the bytes
            html = body
    try:
        extracted = trafilatura.extract(
            html,
            url=url,
            favor_precision=True,
            # No readability/jusText fallbacks: precision over recall, and jusText's fallback builds a set of
            # every language's stop words (~150,000) on each call and keeps another for good (~25 MB).
            # Measured on the dev sets served as portal pages: the same labels, 20 % less CPU per page.
            fast=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            prune_xpath=_PRUNE_XPATH,
        )
    except Exception as exc:  # lxml/trafilatura on hostile markup: not our bug, the page is unusable
        raise PageError(f"page could not be parsed: {type(exc).__name__}") from exc
    text = clean_article_text(extracted or "", title=title)
    if not text:
        raise PageError("no article text found on the page")
    if len(text) <= len(" ".join(feed_text.split())):
        raise PageError("page text is not longer than the feed text")
    title_words = {w.casefold() for w in _WORD.findall(title)}
    if title_words and not title_words & {w.casefold() for w in _WORD.findall(text)}:
        raise PageError("page text does not match the item's title")
    return text


def clean_article_text(text: str, *, title: str = "") -> str:
    """Repair encoding, drop furniture paragraphs, duplicates and the headline, fold whitespace, cap the length."""
    paragraphs: list[str] = []
    # The page's own headline often opens the extracted text; the title is stored apart already.
    seen: set[str] = {" ".join(repair_text(title).split()).casefold()}
    size = 0
    for raw in repair_text(text).splitlines():
        line = " ".join(strip_unsafe(raw).split())  # no control or bidi characters, as for feed text
        if not line or line.casefold() in seen or _BOILERPLATE_PARAGRAPH.match(line):
            continue
        if _FURNITURE_ANYWHERE.search(line):
            continue
        seen.add(line.casefold())
        if size and size + len(line) > PAGE_TEXT_MAX_CHARS:
            break
        paragraphs.append(line[:PAGE_TEXT_MAX_CHARS])
        size += len(line) + 1
    return "\n".join(paragraphs)


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = re.search(r"charset\s*=\s*\"?([\w.:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


@dataclass(slots=True)
class _SiteState:
    failures: int = 0
    retry_at: float = 0.0


class SiteBackoff:
    """Per-host memory of failing page fetches: a failing site backs off like a failing feed.

    A 404 or 410 (or 400, 401, 451) is that one article's problem and does not count; network errors, timeouts, 5xx, 429
    and refusals do. After `threshold` consecutive failures the host is skipped for `backoff_delay`
    (interval, 2×, 4×, … up to 24 h, or the server's Retry-After when longer); one success clears it.
    """

    def __init__(self, *, interval: float, threshold: int = 2, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.threshold = threshold
        self._clock = clock
        self._sites: dict[str, _SiteState] = {}

    def wait_left(self, host: str) -> float:
        """Seconds until pages of `host` may be fetched again; 0 when they may now."""
        state = self._sites.get(host)
        return max(0.0, state.retry_at - self._clock()) if state else 0.0

    def success(self, host: str) -> None:
        self._sites.pop(host, None)

    def failure(self, host: str, error: Exception) -> None:
        if not counts_against_site(error):
            return
        state = self._sites.setdefault(host, _SiteState())
        state.failures += 1
        retry_after = error.retry_after if isinstance(error, FetchError) else None
        if state.failures >= self.threshold or retry_after is not None:
            delay = backoff_delay(
                interval=self.interval, error_count=state.failures - self.threshold + 1, retry_after=retry_after
            )
            state.retry_at = self._clock() + delay


def counts_against_site(error: Exception) -> bool:
    """A page failure that says something about the site, not just about one article."""
    if isinstance(error, PageError):
        return False  # the site answered; this page just had nothing usable
    return not re.fullmatch(r"HTTP (?:400|401|404|410|451)", str(error))
