"""Alert rendering: escaped HTML, Telegram's 4,096 characters, Indonesian time, digests and lists."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.formatting import (
    TELEGRAM_MAX_TEXT,
    confidence_words,
    format_wib,
    lead,
    render_alert_html,
    render_alert_text,
    render_article_list_html,
    render_digest_html,
)
from bot.models import Article, Classification, Place, Sentiment

SOLO = Place(name="Kota Surakarta", code="33.72", province="Jawa Tengah")
NOW = datetime(2024, 12, 17, 23, 23, tzinfo=UTC)


def article(
    title: str = "Tabrakan di Solo", body: str = "Isi.", link: str = "https://x.example/a?b=1&c=2", **kw: object
) -> Article:
    cls = Classification(
        city=kw.get("city", SOLO),  # type: ignore[arg-type]
        other_cities=(),
        province="Jawa Tengah",
        cases=kw.get("cases", ("kecelakaan", "tanah_longsor")),  # type: ignore[arg-type]
        sentiment=Sentiment.NEGATIVE,
        confidence=87,
    )
    return Article(
        id=1,
        feed_id=1,
        link=link,
        title=title,
        body=body,
        author=None,
        source="Warta <Solo>",
        published_at=NOW,
        fetched_at=NOW,
        classification=cls,
    )


class _Checker(HTMLParser):
    """Telegram's HTML subset: every tag closed, only the tags we emit."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in {"b", "a", "i"}, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible(markup: str) -> str:
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    assert checker.stack == []
    return "".join(checker.text)


def test_alert_has_every_part() -> None:
    text = render_alert_html(article(body="x " * 400), "Cocok: Kota Surakarta · kecelakaan")
    lines = text.split("\n")
    assert lines[0] == '<b><a href="https://x.example/a?b=1&amp;c=2">Tabrakan di Solo</a></b>'
    assert lines[1] == "Sentimen: Negatif (yakin)"
    assert lines[2] == "Wilayah: Kota Surakarta, Jawa Tengah"
    assert lines[3] == "Kasus: Kecelakaan, Tanah longsor"
    assert lines[4] == "Warta &lt;Solo&gt; · 18 Des 2024 06.23 WIB"
    assert len(lines[6]) <= 300 and lines[6].endswith("…")
    assert lines[-1] == "<i>Cocok: Kota Surakarta · kecelakaan</i>"


def test_everything_from_the_feed_is_escaped() -> None:
    evil = article(title='<script>alert("x")</script> & co', body="<b>tebal</b>", link='https://x.example/"><b>')
    markup = render_alert_html(evil, "Cocok: <i>")
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert 'href="https://x.example/&quot;&gt;&lt;b&gt;"' in markup
    visible(markup)


def test_pathological_title_still_fits() -> None:
    markup = render_alert_html(article(title="Judul " * 3000, body="isi " * 3000), "Cocok: semua wilayah")
    assert len(markup) <= TELEGRAM_MAX_TEXT
    assert "Cocok: semua wilayah" in markup
    visible(markup)


@settings(max_examples=150, deadline=None)
@given(title=st.text(max_size=6000), body=st.text(max_size=6000), reason=st.text(max_size=200))
def test_any_text_renders_valid_html_within_the_limit(title: str, body: str, reason: str) -> None:
    markup = render_alert_html(article(title=title, body=body), reason or None)
    assert len(markup) <= TELEGRAM_MAX_TEXT
    shown = visible(markup)
    assert "Sentimen: Negatif (yakin)" in shown


def test_wib_time_and_lead() -> None:
    assert format_wib(datetime(2024, 12, 17, 23, 23, tzinfo=UTC)) == "18 Des 2024 06.23 WIB"
    assert format_wib(datetime(2024, 1, 1, 0, 5, tzinfo=UTC)) == "1 Jan 2024 07.05 WIB"
    assert lead("a b c", 300) == "a b c"
    cut = lead("kata " * 100, 50)
    assert len(cut) <= 50 and cut.endswith("…") and not cut.endswith(" …")


def test_plain_text_alert_for_console() -> None:
    text = render_alert_text(article(), "Cocok: x")
    assert text.splitlines()[:2] == ["Tabrakan di Solo", "https://x.example/a?b=1&c=2"]
    assert "<" in text  # source name is not escaped in plain text


def test_digest_lists_title_place_case_link_and_fits_one_message() -> None:
    items = [article(title=f"Berita {n} " + "panjang " * 20, link=f"https://x.example/{n}") for n in range(60)]
    markup, fit = render_digest_html(items)
    assert 1 < fit < 60 and len(markup) <= TELEGRAM_MAX_TEXT
    assert f"{fit} berita baru" in markup
    assert '<a href="https://x.example/0">' in markup and "Kota Surakarta · Kecelakaan, Tanah longsor" in markup
    visible(markup)
    small, all_fit = render_digest_html(items[:6])
    assert all_fit == 6 and small.count("<a href=") == 6


def test_article_list_page() -> None:
    markup = render_article_list_html("<b>Hasil</b>", [article(), article(title="Kedua")], start=6)
    assert "6. <a href" in markup and "7. <a href" in markup and "18 Des 2024 06.23 WIB" in markup
    assert "Belum ada berita" in render_article_list_html("<b>Hasil</b>", [])
    assert re.search(r"Negatif", markup)
    assert html.unescape(visible(markup)).count("Kota Surakarta") == 2


def test_digest_rows_keep_sentiment_time_source_and_which_subscription() -> None:
    items = [article(title=f"Berita {n}", link=f"https://x.example/{n}") for n in range(4)]
    same, _ = render_digest_html(items, reasons=["Cocok: Kota Surakarta"] * 4)
    assert same.count("Cocok: Kota Surakarta") == 1  # said once, under the header
    row = visible(same).split("1. ")[1]
    assert "Negatif" in row and "18 Des 2024 06.23 WIB" in row
    mixed, _ = render_digest_html(items, reasons=["Cocok: Kota Surakarta", "Cocok: kecelakaan"] * 2)
    assert mixed.count("Cocok: kecelakaan") == 2 and mixed.count("Cocok: Kota Surakarta") == 2


def test_an_old_story_says_how_old() -> None:
    fresh = article()
    assert "hari lalu" not in render_alert_html(fresh)
    old = dataclasses.replace(fresh, published_at=fresh.fetched_at - timedelta(days=3, hours=2))
    assert "(3 hari lalu)" in render_alert_html(old)
    digest, _ = render_digest_html([old, fresh, fresh])
    assert digest.count("hari lalu") == 1


@pytest.mark.parametrize(
    ("confidence", "words"), [(100, "yakin"), (80, "yakin"), (79, "cukup yakin"), (55, "kurang yakin")]
)
def test_confidence_in_words(confidence: int, words: str) -> None:
    assert confidence_words(confidence) == words
