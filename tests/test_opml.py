"""parse_opml / export_opml, including the bundled default feed list."""

from __future__ import annotations

from importlib import resources

import pytest

from bot.errors import InputError
from bot.feeds.opml import OpmlFeed, export_opml, parse_opml
from bot.feeds.urls import is_http_url

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0" xmlns:pantau="https://github.com/pantau/opml">
  <head><title>Langganan</title></head>
  <body>
    <outline text="Solo Raya" pantau:city="Kota Surakarta">
      <outline type="rss" text="Solopos" xmlUrl="https://www.solopos.com/feed"/>
      <outline type="rss" text="Espos Sragen" title="Espos Sragen" xmlUrl=" https://x.id/sragen "
        pantau:city="Kabupaten Sragen"/>
      <outline text="Sub">
        <outline text="Deep" xmlUrl="https://x.id/deep"/>
      </outline>
    </outline>
    <outline text="Tanpa feed" htmlUrl="https://x.id/"/>
    <outline type="rss" text="Nasional" xmlUrl="https://www.antaranews.com/rss/terkini.xml"
      city="Kota Jakarta Pusat"/>
    <outline type="rss" text="Duplikat" xmlUrl="https://www.solopos.com/feed"/>
    <outline type="rss" xmlURL="https://x.id/case"/>
  </body>
</opml>"""


def test_parse_nested_with_cities() -> None:
    assert parse_opml(NESTED) == [
        OpmlFeed(url="https://www.solopos.com/feed", title="Solopos", city="Kota Surakarta"),
        OpmlFeed(url="https://x.id/sragen", title="Espos Sragen", city="Kabupaten Sragen"),
        OpmlFeed(url="https://x.id/deep", title="Deep", city="Kota Surakarta"),
        OpmlFeed(url="https://www.antaranews.com/rss/terkini.xml", title="Nasional", city="Kota Jakarta Pusat"),
        OpmlFeed(url="https://x.id/case", title=None, city=None),
    ]


def test_opml_1_without_namespace() -> None:
    data = b'<opml version="1.0"><head/><body><outline title="T" xmlUrl="http://a.id/rss"/></body></opml>'
    assert parse_opml(data) == [OpmlFeed(url="http://a.id/rss", title="T", city=None)]


def test_empty_body_gives_no_feeds() -> None:
    assert parse_opml(b'<opml version="2.0"><head/><body/></opml>') == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "OPML file is empty"),
        (
            b'<opml version="2.0"><body><outline xmlUrl="x"></body></opml>',
            r"not valid XML: line 1, column \d+: mismatched tag",
        ),
        (b'<opml version="2.0">\n<body>\n<outline text="a & b"/></body></opml>', "line 3, column"),
        (b"<html><body>nope</body></html>", "root element is <html>"),
        (b'<opml version="2.0"><head/></opml>', "no <body>"),
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>', "entity"),
        (b'<opml><body><outline pantau:city="x" xmlUrl="http://a"/></body></opml>', "unbound prefix"),
    ],
)
def test_errors(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_opml(data)


def test_export_roundtrip_and_escaping() -> None:
    feeds = [
        OpmlFeed(url="https://x.id/rss?a=1&b=2", title='Berita "Solo" & <Sekitar>', city="Kota Surakarta"),
        OpmlFeed(url="https://y.id/feed", title=None, city=None),
        OpmlFeed(url="https://z.id/feed", title="Kontrol\x00\x1b char", city=None),
    ]
    text = export_opml(feeds, title="Pantau & teman")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert 'version="2.0"' in text
    assert "Pantau &amp; teman" in text
    assert "a=1&amp;b=2" in text
    assert parse_opml(text.encode()) == [
        feeds[0],
        OpmlFeed(url="https://y.id/feed", title="https://y.id/feed", city=None),  # text falls back to the URL
        OpmlFeed(url="https://z.id/feed", title="Kontrol char", city=None),
    ]


def test_bundled_default_feeds() -> None:
    data = resources.files("bot.feeds").joinpath("default_feeds.opml").read_bytes()
    feeds = parse_opml(data)
    assert len(feeds) >= 15
    assert all(is_http_url(f.url) and f.title for f in feeds)
    assert len({f.url for f in feeds}) == len(feeds)
    by_url = {f.url: f for f in feeds}
    assert by_url["https://www.solopos.com/feed"].city == "Kota Surakarta"
    assert by_url["https://www.antaranews.com/rss/terkini.xml"].city is None


def test_full_text_is_read_inherited_and_written_back() -> None:
    data = b"""<opml version="2.0" xmlns:p="urn:any"><head/><body>
      <outline text="Teaser" p:fullText="always">
        <outline xmlUrl="https://a.id/rss"/>
        <outline xmlUrl="https://b.id/rss" p:fullText="NEVER"/>
      </outline>
      <outline xmlUrl="https://c.id/rss"/>
    </body></opml>"""
    feeds = parse_opml(data)
    assert [(f.url, f.full_text) for f in feeds] == [
        ("https://a.id/rss", "always"),
        ("https://b.id/rss", "never"),
        ("https://c.id/rss", None),
    ]
    exported = export_opml([OpmlFeed(url=f.url, title=None, full_text=f.full_text or "auto") for f in feeds], title="x")
    assert 'pantau:fullText="always"' in exported and 'pantau:fullText="never"' in exported
    assert exported.count("fullText") == 2  # the default is not written
    assert [(f.url, f.full_text) for f in parse_opml(exported.encode())] == [
        ("https://a.id/rss", "always"),
        ("https://b.id/rss", "never"),
        ("https://c.id/rss", None),
    ]


def test_unknown_full_text_value_is_refused_naming_the_feed() -> None:
    data = b'<opml version="2.0"><head/><body><outline xmlUrl="https://a.id/rss" fullText="kadang"/></body></opml>'
    with pytest.raises(
        InputError, match=r"fullText must be auto, always or never, got 'kadang' \(at https://a.id/rss\)"
    ):
        parse_opml(data)
