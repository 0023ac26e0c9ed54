"""bot/feeds/pages.py: when a page is needed, what extraction keeps and drops, site backoff; ftfy repair."""

from __future__ import annotations

import pytest

from bot.errors import FetchError, PageError
from bot.feeds.pages import (
    SiteBackoff,
    clean_article_text,
    counts_against_site,
    extract_article,
    is_teaser,
    needs_page,
)
from bot.text import repair_text
from tests.news_site import KLATEN_FIRE, SOLO_FESTIVAL, render_page

LONG = "Warga memadati alun-alun sejak pagi untuk menyaksikan kirab budaya. " * 8  # ~550 characters


@pytest.mark.parametrize(
    ("text", "teaser"),
    [
        ("Ringkas saja.", True),
        (LONG, False),
        (LONG + "...", True),
        (LONG + " …", True),
        (LONG + "[…]", True),
        (LONG + " [...]", True),
        (LONG + " (...)", True),
        (LONG + " [Selengkapnya]", True),
        (LONG + " Baca selengkapnya", True),
        ("   " + "a " * 150, True),  # whitespace does not count
    ],
)
def test_is_teaser(text: str, teaser: bool) -> None:
    assert is_teaser(text) is teaser


@pytest.mark.parametrize(
    ("mode", "summary", "link", "wanted"),
    [
        ("auto", "Singkat.", "https://a.id/1", True),
        ("auto", LONG, "https://a.id/1", False),
        ("always", LONG, "http://a.id/1", True),
        ("never", "Singkat.", "https://a.id/1", False),
        ("always", "Singkat.", "", False),  # no link, no page
        ("always", "Singkat.", "ftp://a.id/1", False),
    ],
)
def test_needs_page(mode: str, summary: str, link: str, wanted: bool) -> None:
    assert needs_page(mode, summary, link) is wanted


def test_extraction_keeps_the_article_and_drops_every_piece_of_furniture() -> None:
    title = repair_text(SOLO_FESTIVAL.title)
    text = extract_article(
        render_page(SOLO_FESTIVAL), url="http://x.id/", content_type="text/html", title=title, feed_text="x"
    )
    assert text.split("\n") == list(SOLO_FESTIVAL.paragraphs)  # paragraphs one per line, headline not repeated
    for furniture in ("Beranda", "Jepara", "Klaten", "Baca", "Terpopuler", "ADVERTISEMENT", "SCROLL", "Bagikan"):
        assert furniture not in text


def test_extraction_respects_the_declared_charset() -> None:
    page = render_page(KLATEN_FIRE).decode().replace('<meta charset="utf-8">', "").replace("—", "–")
    text = extract_article(
        page.encode("cp1252"),
        url="http://x.id/",
        content_type="text/html; charset=windows-1252",
        title=KLATEN_FIRE.title,
        feed_text="",
    )
    assert text.startswith("KLATEN – Sebuah gudang")


@pytest.mark.parametrize(
    ("page", "feed_text", "title", "reason"),
    [
        (b"", "", "Judul", "no article text"),
        (b"<html><body><nav><a href='/'>Beranda</a><a href='/x'>Solo</a></nav></body></html>", "", "J", "no article"),
        (render_page(KLATEN_FIRE), " ".join(KLATEN_FIRE.paragraphs) + " tambahan", KLATEN_FIRE.title, "not longer"),
        (render_page(KLATEN_FIRE), "", "Pengumuman Persetujuan Cookie", "does not match"),
    ],
)
def test_extraction_refuses_pages_that_are_no_better_than_the_feed(
    page: bytes, feed_text: str, title: str, reason: str
) -> None:
    with pytest.raises(PageError, match=reason):
        extract_article(page, url="http://x.id/", content_type="text/html", title=title, feed_text=feed_text)


def test_clean_article_text_drops_furniture_paragraphs_duplicates_and_the_headline() -> None:
    raw = "\n".join(
        [
            "Judul Berita Ini",
            "SEMARANG — Paragraf pertama berita.",
            "Baca juga: Kebakaran di Jepara",
            "BACA JUGA : Sabu di Klaten",
            "Simak Video: Banjir di Pati",
            "ADVERTISEMENT",
            "SCROLL TO CONTINUE WITH CONTENT",
            "Paragraf kedua   berita\u00a0dengan spasi.",
            "Paragraf kedua berita dengan spasi.",
            "Editor: Budi",
            "Redaksi | Kontak | Karir",
            "© 2024 Kabar Jateng Raya",
            "Ikuti berita terbaru di Google News",
        ]
    )
    assert clean_article_text(raw, title="judul berita ini") == (
        "SEMARANG — Paragraf pertama berita.\nParagraf kedua berita dengan spasi."
    )


def test_clean_article_text_caps_the_length_at_a_paragraph() -> None:
    paragraph = "Kalimat berita yang cukup panjang untuk diuji. " * 20
    text = clean_article_text("\n".join(f"{n} {paragraph}" for n in range(100)))
    assert 10_000 < len(text) <= 12_000 and text.endswith(".")


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ("Lâ€™Oreal Buka Pabrik di Jababeka", "L’Oreal Buka Pabrik di Jababeka"),
        ("Harga cabai naik â€” pedagang mengeluh", "Harga cabai naik — pedagang mengeluh"),
        ("Rp\u00c2\u00a05.000 per kilogram", "Rp\u00a05.000 per kilogram"),
        ("Café “Kopi Solo” tetap utuh", "Café “Kopi Solo” tetap utuh"),  # correct text is left alone
        ("Banjir rendam Sragen", "Banjir rendam Sragen"),
    ],
)
def test_repair_text_undoes_double_encoded_utf8(broken: str, fixed: str) -> None:
    assert repair_text(broken) == fixed


def test_site_backoff_counts_site_failures_not_one_articles_404() -> None:
    now = [1000.0]
    backoff = SiteBackoff(interval=300, threshold=2, clock=lambda: now[0])
    backoff.failure("a.id", FetchError("HTTP 404"))
    backoff.failure("a.id", PageError("no article text found on the page"))
    assert backoff.wait_left("a.id") == 0
    backoff.failure("a.id", FetchError("timeout after 60 s"))
    assert backoff.wait_left("a.id") == 0  # one failure may be chance
    backoff.failure("a.id", FetchError("HTTP 503"))
    assert backoff.wait_left("a.id") == 300
    backoff.failure("a.id", FetchError("connection refused"))
    assert backoff.wait_left("a.id") == 600  # doubles, like a failing feed
    assert backoff.wait_left("b.id") == 0  # other sites are not affected
    now[0] += 601
    assert backoff.wait_left("a.id") == 0
    backoff.success("a.id")
    backoff.failure("a.id", FetchError("HTTP 429", retry_after=3600))
    assert backoff.wait_left("a.id") == 3600  # the server's Retry-After wins at once


@pytest.mark.parametrize(
    ("error", "counts"),
    [
        (FetchError("HTTP 404"), False),
        (FetchError("HTTP 410"), False),
        (FetchError("HTTP 403"), True),
        (FetchError("HTTP 500"), True),
        (FetchError("refused: x resolves to non-public address 10.0.0.1"), True),
        (PageError("not an HTML page (application/pdf)"), False),
    ],
)
def test_counts_against_site(error: Exception, counts: bool) -> None:
    assert counts_against_site(error) is counts
