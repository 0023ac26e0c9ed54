"""parse_feed on small inline documents, Indonesian dates, and the shared real-world corpora."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.feeds.parser import SUMMARY_MAX_CHARS, html_to_text, parse_feed, parse_indonesian_date

URL = "https://contoh.id/rss"
NOW = datetime(2025, 3, 10, tzinfo=UTC)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def rss(items: str, channel_extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>Berita Solo</title><link>https://contoh.id/</link>{channel_extra}{items}"
        "</channel></rss>"
    ).encode()


def test_rss20() -> None:
    body = rss(
        """<item><title>Banjir &amp; longsor di Wonogiri</title>
        <link>https://contoh.id/read/1?utm_source=rss</link><guid isPermaLink="false">id-1</guid>
        <description>&lt;p&gt;SOLO - Hujan &lt;b&gt;deras&lt;/b&gt; &amp;amp; angin.&lt;/p&gt;</description>
        <dc:creator>Redaksi</dc:creator><pubDate>Mon, 03 Mar 2025 10:00:00 +0700</pubDate></item>""",
        channel_extra="<ttl>15</ttl>",
    )
    feed = parse_feed(body, url=URL, now=NOW)
    assert feed.title == "Berita Solo"
    assert feed.link == "https://contoh.id/"
    assert feed.ttl_minutes == 15
    [item] = feed.items
    assert item.guid == "id-1"
    assert item.link == "https://contoh.id/read/1?utm_source=rss"  # normalisation is the caller's job
    assert item.title == "Banjir & longsor di Wonogiri"
    assert item.summary == "SOLO - Hujan deras & angin."
    assert item.author == "Redaksi"
    assert item.published == datetime(2025, 3, 3, 3, 0, tzinfo=UTC)


def test_content_encoded_preferred_when_longer() -> None:
    body = rss(
        """<item><title>T</title><link>https://contoh.id/a</link><description>Pendek.</description>
        <content:encoded><![CDATA[<p>Paragraf satu.</p><script>x()</script>
        <p>Paragraf&nbsp;dua.</p>]]></content:encoded>
        </item>"""
    )
    [item] = parse_feed(body, url=URL, now=NOW).items
    assert item.summary == "Paragraf satu. Paragraf dua."


def test_summary_is_capped() -> None:
    body = rss(
        f"<item><title>T</title><link>https://contoh.id/a</link><description>{'kata ' * 3000}</description></item>"
    )
    [item] = parse_feed(body, url=URL, now=NOW).items
    assert len(item.summary) <= SUMMARY_MAX_CHARS
    assert item.summary.endswith("…")


def test_atom() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Jateng</title>
<link rel="alternate" href="https://atom.id/"/><id>urn:feed</id><updated>2025-03-03T03:00:00Z</updated>
<entry><id>urn:e1</id><title type="html">Gempa &lt;em&gt;Klaten&lt;/em&gt;</title>
<link rel="alternate" href="/berita/1"/><updated>2025-03-03T10:00:00+07:00</updated>
<author><name>Ani</name></author><content type="html">&lt;p&gt;Isi berita.&lt;/p&gt;</content></entry>
</feed>"""
    feed = parse_feed(body, url="https://atom.id/feed.atom", now=NOW)
    assert feed.title == "Atom Jateng"
    [item] = feed.items
    assert item.guid == "urn:e1"
    assert item.title == "Gempa Klaten"
    assert item.link == "https://atom.id/berita/1"
    assert item.summary == "Isi berita."
    assert item.author == "Ani"
    assert item.published == datetime(2025, 3, 3, 3, 0, tzinfo=UTC)


def test_empty_valid_feed_is_not_an_error() -> None:
    feed = parse_feed(rss(""), url=URL, now=NOW)
    assert feed.items == []
    assert feed.title == "Berita Solo"


def test_bare_ampersand_is_survivable() -> None:
    body = rss(
        "<item><title>Polisi & warga</title><link>https://contoh.id/a?b=1&c=2</link></item>"
        "<item><title>Kedua</title><link>https://contoh.id/b</link></item>"
    )
    feed = parse_feed(body, url=URL, now=NOW)
    assert [i.title for i in feed.items] == ["Polisi & warga", "Kedua"]
    assert feed.items[0].link == "https://contoh.id/a?b=1&c=2"


def test_truncated_document_keeps_complete_entries() -> None:
    body = rss(
        "<item><title>Satu</title><link>https://contoh.id/1</link></item>"
        "<item><title>Dua</title><link>https://contoh.id/2</link></item>"
    )
    cut = body[: body.index(b"</channel>")]
    feed = parse_feed(cut, url=URL, now=NOW)
    assert [i.title for i in feed.items] == ["Satu", "Dua"]


def test_encoding_override_is_survivable() -> None:
    body = (
        '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>x</title>'
        "<item><title>\u201cKutipan\u201d</title><link>https://contoh.id/q</link></item></channel></rss>"
    )
    feed = parse_feed(body.encode("cp1252"), url=URL, content_type="text/xml; charset=iso-8859-1", now=NOW)
    assert feed.items[0].title == "\u201cKutipan\u201d"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b"   \n ", "empty body"),
        (
            b"<!DOCTYPE html><html><head><title>Beranda</title></head><body><p>Hi</p></body></html>",
            "HTML page",
        ),
        (b"<html><body>Cloudflare checking your browser</body></html>", "HTML page"),
        (b'{"version": "https://jsonfeed.org/version/1"}', "not an RSS/Atom feed"),
        (b"<?xml version='1.0'?><note><to>x</to></note>", "not an RSS/Atom feed"),
    ],
)
def test_not_a_feed(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=f"^not an RSS/Atom feed: .*{reason}|^{reason}"):
        parse_feed(body, url=URL, now=NOW)


def test_items_without_date_link_or_title() -> None:
    body = rss(
        "<item><title>Tanpa tanggal</title><link>https://contoh.id/1</link></item>"
        "<item><title>Tanpa tautan</title><description>isi</description></item>"
        "<item><description>tanpa judul dan tautan</description></item>"
        "<item><link>https://contoh.id/3</link><description>tanpa judul</description></item>"
        "<item><title>Tautan javascript</title><link>javascript:alert(1)</link></item>"
    )
    items = parse_feed(body, url=URL, now=NOW).items
    assert [(i.title, i.link) for i in items] == [
        ("Tanpa tanggal", "https://contoh.id/1"),
        ("Tanpa tautan", ""),
        ("", "https://contoh.id/3"),
        ("Tautan javascript", ""),
    ]
    assert items[0].published is None
    assert items[0].guid == "https://contoh.id/1"  # no <guid>: the link
    assert items[1].guid.startswith("sha1:")  # neither: a hash of title and summary
    assert items[1].guid != items[3].guid


def test_duplicate_guids_are_kept() -> None:
    body = rss(
        "<item><title>A</title><link>https://contoh.id/a</link><guid isPermaLink='false'>same</guid></item>"
        "<item><title>B</title><link>https://contoh.id/b</link><guid isPermaLink='false'>same</guid></item>"
    )
    assert [i.guid for i in parse_feed(body, url=URL, now=NOW).items] == ["same", "same"]


def test_future_dates_are_dropped() -> None:
    body = rss(
        "<item><title>A</title><link>https://contoh.id/a</link>"
        "<pubDate>Tue, 10 Mar 2025 12:00:00 +0000</pubDate></item>"
        "<item><title>B</title><link>https://contoh.id/b</link>"
        "<pubDate>Fri, 13 Mar 2026 12:00:00 +0000</pubDate></item>"
    )
    a, b = parse_feed(body, url=URL, now=NOW).items
    assert a.published == datetime(2025, 3, 10, 12, tzinfo=UTC)
    assert b.published is None


@pytest.mark.parametrize(
    ("extra", "ttl"),
    [
        ("<ttl>60</ttl>", 60),
        ("<ttl>0</ttl>", None),
        ("<ttl>soon</ttl>", None),
        ("", None),
    ],
)
def test_ttl(extra: str, ttl: int | None) -> None:
    assert parse_feed(rss("", channel_extra=extra), url=URL, now=NOW).ttl_minutes == ttl


def test_sy_update_period() -> None:
    body = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    xmlns="http://purl.org/rss/1.0/" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
    <channel rdf:about="https://x.id/"><title>R</title><link>https://x.id/</link>
    <sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency></channel>
    <item rdf:about="https://x.id/1"><title>I</title><link>https://x.id/1</link></item></rdf:RDF>"""
    feed = parse_feed(body, url="https://x.id/rss", now=NOW)
    assert feed.ttl_minutes == 30
    assert [i.link for i in feed.items] == ["https://x.id/1"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Senin, 03 Mar 2025 10:00:00 WIB", "2025-03-03T03:00:00"),
        ("03 Maret 2025 10:00 WITA", "2025-03-03T02:00:00"),
        ("Selasa, 17 Desember 2024 14:05 WIT", "2024-12-17T05:05:00"),
        ("Sen, 03 Mar 2025 10:00 WIB", "2025-03-03T03:00:00"),
        ("Jumat, 1 Agustus 2025 07:30:15 wib", "2025-08-01T00:30:15"),
        ("Jum'at, 01 Agt 2025 07:30 WIB", "2025-08-01T00:30:00"),
        ("Kamis, 2 Okt 2025 | 23:15 WIB", "2025-10-02T16:15:00"),
        ("12 Mei 2025 08:00", "2025-05-12T01:00:00"),  # no zone: WIB
        ("1 Januari 2025 00:30 WIB", "2024-12-31T17:30:00"),
        ("15 Februari 2025 10.30 WIB", "2025-02-15T03:30:00"),
        ("28 Nopember 2024 10:00 WIB", "2024-11-28T03:00:00"),
        ("05 Des 2024 10:00 WIB", "2024-12-05T03:00:00"),
        ("03 Mei 2025 10:00 +0700", "2025-05-03T03:00:00"),  # Indonesian month, numeric zone
        ("03/03/2025 10:00 WIB", "2025-03-03T03:00:00"),  # day first
        ("2025-03-03 10:00:00", "2025-03-03T03:00:00"),  # naive: WIB
        ("2025-03-03T10:00:00 WITA", "2025-03-03T02:00:00"),
    ],
)
def test_indonesian_dates(text: str, expected: str) -> None:
    parsed = parse_indonesian_date(text)
    assert parsed is not None
    assert time.strftime("%Y-%m-%dT%H:%M:%S", parsed) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Mon, 03 Mar 2025 10:00:00 +0000",  # plain RFC 822: feedparser's own handler
        "Mon, 03 Mar 2025 10:00:00 GMT",
        "2025-03-03T10:00:00+07:00",
        "2025-03-03",
        "31 Februari 2025 10:00 WIB",  # no such day
        "03 Foo 2025 10:00 WIB",
        "03 Mar 2025 10:00 EST",  # an abbreviation we don't know: let feedparser decide
        "",
        "kemarin",
    ],
)
def test_dates_left_to_feedparser(text: str) -> None:
    assert parse_indonesian_date(text) is None


@pytest.mark.parametrize(
    ("pub_date", "expected"),
    [
        ("Senin, 03 Mar 2025 10:00:00 WIB", datetime(2025, 3, 3, 3, tzinfo=UTC)),
        ("03 Maret 2025 10:00 WITA", datetime(2025, 3, 3, 2, tzinfo=UTC)),
        ("Selasa, 04 Maret 2025 14:05 WIT", datetime(2025, 3, 4, 5, 5, tzinfo=UTC)),
        ("Mon, 03 Mar 2025 10:00:00 +0000", datetime(2025, 3, 3, 10, tzinfo=UTC)),
        ("Mon, 03 Mar 2025 10:00:00 +0700", datetime(2025, 3, 3, 3, tzinfo=UTC)),
        ("2025-03-03 10:00:00", datetime(2025, 3, 3, 3, tzinfo=UTC)),
    ],
)
def test_indonesian_dates_through_parse_feed(pub_date: str, expected: datetime) -> None:
    body = rss(f"<item><title>A</title><link>https://contoh.id/a</link><pubDate>{pub_date}</pubDate></item>")
    [item] = parse_feed(body, url=URL, now=NOW).items
    assert item.published == expected


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("plain  text\n here", "plain text here"),
        ("<p>a</p><p>b</p>", "a b"),
        ("a<br/>b", "a b"),
        ("x &lt; y &amp; z", "x < y & z"),
        ("5 < 6", "5 < 6"),
        ("<style>p{}</style>isi", "isi"),
        ("&lt;p&gt;dua kali&lt;/p&gt;", "dua kali"),  # escaped twice
        ("<img src=x>", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def _corpus_files() -> list[Path]:
    roots = [SHARED / "data" / "feeds", SHARED / "data" / "feedparser-corpus"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*") if p.is_file())


@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="shared data directory not present")
def test_real_world_corpus_raises_only_parse_error() -> None:
    files = _corpus_files()
    assert files
    started = time.monotonic()
    parsed = failed = 0
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), url="http://127.0.0.1/" + path.name, now=NOW)
        except ParseError:
            failed += 1
            continue
        parsed += 1
        for item in feed.items:
            assert item.title or item.link, path
            assert item.published is None or item.published.tzinfo is UTC, path
    assert parsed > len(files) // 2
    assert time.monotonic() - started < 60


@pytest.mark.skipif(not (SHARED / "data" / "feeds").is_dir(), reason="shared data directory not present")
@pytest.mark.parametrize(
    "name",
    [
        "detik__NewsCrawler__detikcom.xml",
        "tempo__twitter-clustering__tempo.xml",
        "viva__NewsCrawler__all.xml",
        "antaranews__NewsAggregatorTartar__antara.xml",
    ],
)
def test_indonesian_sample_feeds(name: str) -> None:
    feed = parse_feed((SHARED / "data" / "feeds" / name).read_bytes(), url="https://example.id/rss", now=NOW)
    assert feed.items
    assert all(i.link.startswith("http") and i.title and i.published for i in feed.items)
