"""One rule for feed URLs (issue #12 items 10 and 16): `feeds import` refuses what `feeds add` refuses,
entry by entry and adding nothing; a host that is not valid IDNA is named as such, not a server error."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from chat_fixtures import ADMIN_ID, harness

from bot.errors import FetchError
from bot.feeds.fetcher import Fetcher
from bot.feeds.urls import feed_url_problem
from storage import feeds as feed_store
from tests.test_cli import pantau

BAD_URLS = [
    "javascript:alert(1)",
    "file:///etc/passwd",
    "ftp://feeds.example/rss",
    "data:text/xml,<rss/>",
    "http://",
    "feed.xml",
    "https://feeds.example/berita terbaru.xml",
    "http://[feeds.example]/rss",
    "http://xn--zz.example/rss",
    "http://exa\u200dmple.com/rss",
    "https://feeds.example/" + "a" * 3000,
    "https://feeds.example/\x1b[2Jrss",
]
BAD_IDS = [f"bad{i}" for i in range(len(BAD_URLS))]


@pytest.mark.parametrize("url", BAD_URLS, ids=BAD_IDS)
def test_bad_feed_urls_have_a_reason(url: str) -> None:
    assert feed_url_problem(url) is not None


@pytest.mark.parametrize(
    "url", ["https://feeds.example/rss", "http://127.0.0.1:8080/feed.xml", "https://bücher.example/rss?x=1"]
)
def test_good_feed_urls_pass(url: str) -> None:
    assert feed_url_problem(url) is None


def test_feeds_add_and_import_refuse_the_same_urls(tmp_path: Path) -> None:
    env = {"PANTAU_DB": str(tmp_path / "p.db")}
    for url in BAD_URLS[:8]:
        result = pantau("feeds", "add", url, env=env)
        assert result.returncode == 2, (url, result.stderr)
        assert "Traceback" not in result.stderr
    outlines = "".join(
        f"<outline text={quoteattr(f'Feed {i}')} xmlUrl={quoteattr(url)}/>"
        for i, url in enumerate(BAD_URLS[:11])
        if "\x1b" not in url
    )
    good = '<outline text="Baik" xmlUrl="https://feeds.example/rss"/>'
    opml = tmp_path / "feeds.opml"
    opml.write_text(f'<opml version="2.0"><body>{good}{outlines}</body></opml>', encoding="utf-8")
    result = pantau("feeds", "import", str(opml), env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "11 problem(s)" in lines[0] and "nothing imported" in lines[0]
    assert len(lines) == 12  # one line per refused entry
    assert all(line.startswith("  feed ") for line in lines[1:])
    assert "no feeds" in pantau("feeds", "list", env=env).stdout  # the good one was not added either


def test_bundled_feed_list_passes_the_same_rules() -> None:
    from bot.feeds.opml import parse_opml
    from bot.ingest.feedlist import default_feeds_opml

    entries = parse_opml(default_feeds_opml())
    assert entries and all(feed_url_problem(e.url) is None for e in entries)


@pytest.mark.parametrize("url", ["http://xn--zz.example/rss", "http://xn--a.example/", "http://exämple..com/"])
async def test_addfeed_with_a_bad_idna_host_says_so(tmp_path: Path, url: str) -> None:
    async with harness(tmp_path) as h:

        async def probe(url: str) -> None:
            async with Fetcher() as fetcher:
                await fetcher.fetch(url, public_only=True)

        h.services.feed_probe = probe
        [reply] = await h.text(ADMIN_ID, f"/addfeed {url}")
        assert "tidak valid" in reply or "ditolak" in reply, reply
        assert "kesalahan" not in reply
        assert await feed_store.list_feeds(h.db) == []


async def test_fetching_a_bad_idna_host_is_a_feed_error() -> None:
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError, match="invalid URL"):
            await fetcher.fetch("http://xn--zz.example/rss")
