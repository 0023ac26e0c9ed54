"""normalize_link and is_http_url tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.feeds.urls import is_http_url, normalize_link


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Solopos.COM/berita", "https://www.solopos.com/berita"),
        ("https://solopos.com:443/a", "https://solopos.com/a"),
        ("http://solopos.com:80/a", "http://solopos.com/a"),
        ("http://solopos.com:8080/a", "http://solopos.com:8080/a"),
        ("https://solopos.com./a", "https://solopos.com/a"),
        ("https://solopos.com", "https://solopos.com/"),
        ("https://solopos.com/", "https://solopos.com/"),
        ("https://solopos.com/a/b/", "https://solopos.com/a/b"),
        ("https://solopos.com/a#komentar", "https://solopos.com/a"),
        ("  https://solopos.com/a \n", "https://solopos.com/a"),
        # trackers
        ("https://x.id/a?utm_source=rss&utm_medium=feed&UTM_Campaign=x", "https://x.id/a"),
        ("https://x.id/a?fbclid=abc&gclid=def&msclkid=1&_ga=2", "https://x.id/a"),
        (
            "https://news.detik.com/berita/d-1/judul?tag_from=wp_hl&single=1",
            "https://news.detik.com/berita/d-1/judul?single=1",
        ),
        ("https://x.id/a?pk_campaign=a&mtm_source=b&id=5", "https://x.id/a?id=5"),
        # remaining params sorted, encoding kept
        ("https://x.id/search?q=banjir%20solo&page=2", "https://x.id/search?page=2&q=banjir%20solo"),
        ("https://x.id/a?b=2&a=1&utm_source=x", "https://x.id/a?a=1&b=2"),
        ("https://x.id/a?", "https://x.id/a"),
        ("https://x.id/a?&&id=1&", "https://x.id/a?id=1"),
        # AMP variants
        (
            "https://solo.tribunnews.com/amp/2025/03/03/banjir",
            "https://solo.tribunnews.com/2025/03/03/banjir",
        ),
        ("https://x.id/read/123/judul/amp", "https://x.id/read/123/judul"),
        ("https://x.id/read/123/judul/amp/", "https://x.id/read/123/judul"),
        ("https://x.id/read/123?amp=1", "https://x.id/read/123"),
        ("https://x.id/read/123?amp", "https://x.id/read/123"),
        ("https://x.id/read/123?outputType=amp", "https://x.id/read/123"),
        ("https://amp.kompas.com/read/1", "https://kompas.com/read/1"),
        ("https://x.id/ampera/1", "https://x.id/ampera/1"),  # only a whole "amp" segment
        ("https://x.id/read/1?amp=0", "https://x.id/read/1?amp=0"),
        # left alone on purpose
        ("https://m.detik.com/news/berita/d-1", "https://m.detik.com/news/berita/d-1"),
        ("http://x.id/a", "http://x.id/a"),
        ("https://x.id/Berita/A", "https://x.id/Berita/A"),
        ("https://user:pw@x.id/a", "https://user:pw@x.id/a"),
        ("https://[2001:DB8::1]:443/a", "https://[2001:db8::1]/a"),
        # not http(s) or not parsable: unchanged
        ("mailto:redaksi@x.id", "mailto:redaksi@x.id"),
        ("/relative/path", "/relative/path"),
        ("https://x.id:99999/a", "https://x.id:99999/a"),
        ("", ""),
    ],
)
def test_normalize_link(url: str, expected: str) -> None:
    assert normalize_link(url) == expected


@given(
    st.sampled_from(["http", "https", "HTTPS"]),
    st.from_regex(r"[a-zA-Z0-9.-]{1,20}", fullmatch=True),
    st.lists(st.sampled_from(["amp", "a", "b", "", "Amp", "x y", "%20"]), max_size=5),
    st.lists(
        st.tuples(
            st.sampled_from(["utm_source", "amp", "id", "q", "fbclid", "b"]),
            st.sampled_from(["", "1", "x", "amp"]),
        ),
        max_size=4,
    ),
    st.sampled_from(["", "#frag", "#"]),
)
def test_normalize_link_is_idempotent(
    scheme: str, host: str, segments: list[str], params: list[tuple[str, str]], fragment: str
) -> None:
    query = "&".join(f"{k}={v}" for k, v in params)
    url = f"{scheme}://{host}/{'/'.join(segments)}" + (f"?{query}" if query else "") + fragment
    once = normalize_link(url)
    assert normalize_link(once) == once


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.solopos.com/feed", True),
        ("http://127.0.0.1:8080/rss", True),
        ("HTTPS://X.ID", True),
        ("ftp://x.id/feed", False),
        ("file:///etc/passwd", False),
        ("javascript:alert(1)", False),
        ("www.solopos.com/feed", False),
        ("/feed", False),
        ("https://", False),
        ("https://x.id:99999/", False),
        ("https://x.id/a b", False),
        ("https://x.id/\n", False),
        ("", False),
    ],
)
def test_is_http_url(url: str, ok: bool) -> None:
    assert is_http_url(url) is ok
