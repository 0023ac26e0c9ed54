"""/ringkasan and the daily brief, pure: aggregated counts (storage.reports.summary) → the chart's data
(`ChartSpec`, drawn by bot.reports.chart) and the caption (Telegram HTML, ≤ 1,024 characters).

Tests check the chart through its spec — counts, colours per sentiment, labels — not through pixels.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.models import Sentiment, SummaryData
from bot.reports.periods import Period, bucket_label, buckets, describe_window, fmt_int, fmt_percent
from bot.text import shorten

# One colour per sentiment everywhere (chart, legend): red, grey, green — readable for red-green weak
# eyes too, since they also differ in lightness.
SENTIMENT_COLOURS: dict[Sentiment, str] = {
    Sentiment.NEGATIVE: "#d7301f",
    Sentiment.NEUTRAL: "#a6a6a6",
    Sentiment.POSITIVE: "#1a9850",
}
SENTIMENT_NAMES: dict[Sentiment, str] = {
    Sentiment.NEGATIVE: "Negatif",
    Sentiment.NEUTRAL: "Netral",
    Sentiment.POSITIVE: "Positif",
}
# A story (one incident, however many outlets report it) is a "peristiwa"; an article a "berita".
UNIT_WORD = {"stories": "peristiwa", "articles": "berita"}
CAPTION_MAX = 1024  # Telegram's limit for a photo caption
MAX_X_LABELS = 12  # more tick labels than this overlap at 1080 px


@dataclass(frozen=True, slots=True)
class Series:
    sentiment: Sentiment
    label: str
    colour: str
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ChartSpec:
    title: str
    subtitle: str
    x_labels: tuple[str, ...]
    tick_every: int  # label every n-th bar so labels never overlap
    y_label: str
    series: tuple[Series, ...]  # stacked bottom to top: negatif, netral, positif
    cases: tuple[tuple[str, int], ...]  # (label, count), biggest first
    cities: tuple[tuple[str, int], ...]
    cases_title: str
    cities_title: str


def unit_word(unit: str) -> str:
    return UNIT_WORD.get(unit, "berita")


def chart_spec(data: SummaryData, period: Period, scope: str, tz_name: str) -> ChartSpec:
    """What the chart shows; every bucket of the period gets a bar, empty ones at zero."""
    from bot.classify import case_label  # the taxonomy loads lazily

    keys = buckets(period.window)
    counts = {key: (neg, neu, pos) for key, neg, neu, pos in data.timeline}
    series = tuple(
        Series(
            sentiment=sentiment,
            label=SENTIMENT_NAMES[sentiment],
            colour=SENTIMENT_COLOURS[sentiment],
            values=tuple(counts.get(key, (0, 0, 0))[index] for key in keys),
        )
        for index, sentiment in enumerate((Sentiment.NEGATIVE, Sentiment.NEUTRAL, Sentiment.POSITIVE))
    )
    word = unit_word(data.unit)
    per = "per jam" if period.window.hourly else "per hari"
    return ChartSpec(
        title=f"Ringkasan {period.label}: {shorten(scope, 60)}",
        subtitle=f"{describe_window(period, tz_name)} · {fmt_int(data.total)} {word}",
        x_labels=tuple(bucket_label(key) for key in keys),
        tick_every=max(1, -(-len(keys) // MAX_X_LABELS)),
        y_label=f"Jumlah {word} {per} ({tz_name})",
        series=series,
        cases=tuple((case_label(key), n) for key, n in data.top_cases),
        cities=tuple((name, n) for name, n in data.top_cities),
        cases_title="Kasus terbanyak",
        cities_title="Kab/Kota terbanyak",
    )


def _change(data: SummaryData) -> str:
    if not data.previous_total:
        return ""
    now = round(100 * data.negative / data.total) if data.total else 0
    before = round(100 * data.previous_negative / data.previous_total)
    diff = now - before
    return f"{diff:+d} poin" if diff else "tetap"


def caption_html(data: SummaryData, period: Period, scope: str, tz_name: str) -> str:
    """Totals, the negative share and its change, the biggest stories with links, the most negative places."""
    from bot.classify import case_label

    esc = html.escape
    word = unit_word(data.unit)
    lines = [f"<b>Ringkasan {esc(period.label)}</b> — {esc(shorten(scope, 80))}"]
    lines.append(esc(describe_window(period, tz_name)))
    change = _change(data)
    previous = (
        f" ({change} dari {esc(period.previous_label)})"
        if change
        else f" (tidak ada data {esc(period.previous_label)})"
    )
    total_line = f"{fmt_int(data.total)} {word}"
    if data.previous_total:
        total_line += f" ({esc(period.previous_label)}: {fmt_int(data.previous_total)})"
    lines.append(total_line)
    lines.append(f"Negatif {fmt_percent(data.negative, data.total)}{previous}")
    if data.top_cases:
        lines.append("Kasus: " + ", ".join(f"{esc(case_label(k).lower())} {fmt_int(n)}" for k, n in data.top_cases[:3]))
    if data.negative_cities:
        lines.append(
            "Paling banyak negatif: " + ", ".join(f"{esc(name)} ({fmt_int(n)})" for name, n in data.negative_cities)
        )
    if data.unit == "stories":
        lines.append("<i>Dihitung per peristiwa: satu kejadian yang diberitakan beberapa media dihitung satu.</i>")
    else:
        lines.append("<i>Dihitung per berita (belum ada pengelompokan peristiwa).</i>")
    head = "\n".join(lines)
    # The biggest stories as links, as many as fit in the caption.
    stories: list[str] = []
    for n, story in enumerate(data.top_stories, start=1):
        media = f"{story.outlets} media" if story.outlets > 1 else "1 media"
        entry = f'{n}. <a href="{esc(story.link, quote=True)}">{esc(shorten(story.title, 90))}</a> · {media}'
        candidate = "\n".join([head, "<b>Terbesar:</b>", *stories, entry])
        if len(candidate) > CAPTION_MAX:
            break
        stories.append(entry)
    if stories:
        return "\n".join([head, "<b>Terbesar:</b>", *stories])
    return head[:CAPTION_MAX]


def empty_text(period: Period, scope: str, tz_name: str) -> str:
    return (
        f"Tidak ada berita yang cocok untuk {html.escape(scope)} pada {html.escape(period.label)} "
        f"({html.escape(describe_window(period, tz_name))})."
    )
