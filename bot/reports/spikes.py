"""Spike detection, pure: is the number of stories of one Kab/Kota × kasus in the last hours unusual
against its own baseline, who should hear about it, and what the alert says.

The model: stories of a pair arrive as a Poisson process whose rate is the pair's average in the same
hours of the day over the baseline (28 days before the window, fewer when the database is younger) —
news has a daily rhythm, so an afternoon is compared with past afternoons. A window is a spike when
all three hold:

- at least MIN_COUNT stories (1 → 2 is never a spike),
- the Poisson tail P(X ≥ count | expected) is below P_MAX (one false alarm in ~1,000 busy windows),
- count ≥ RATIO × expected: for a busy place (Jakarta crime) day-to-day variation is wider than
  Poisson, which the tail alone would call significant; it needs double.

Chat-independent: the counts are over every article; subscriptions only decide who is told.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.models import PairCount, Subscription
from bot.reports.periods import fmt_decimal
from bot.reports.summary import unit_word
from bot.text import shorten

WINDOW = timedelta(hours=6)
BASELINE = timedelta(days=28)
MIN_HISTORY = timedelta(days=3)  # a younger database has no baseline worth the name: no spike alerts
QUIET = timedelta(hours=12)  # at most one alert per Kab/Kota × kasus within this
MIN_COUNT = 3
P_MAX = 1e-3
RATIO = 2.0
FLOOR_RATE = 0.05  # expected stories per window never below this (a pair never seen before)
MAX_LISTED = 8


def poisson_tail(count: int, expected: float) -> float:
    """P(X ≥ count) for X ~ Poisson(expected), summed over the upper tail (exact for tiny values)."""
    if count <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    term = math.exp(-expected + count * math.log(expected) - math.lgamma(count + 1))
    total, k = 0.0, count
    while term > 0 and (term > total * 1e-17):
        total += term
        k += 1
        term *= expected / k
        if k > count + 10_000:
            break
    return min(1.0, total)


@dataclass(frozen=True, slots=True)
class SpikeVerdict:
    pair: PairCount
    expected: float  # stories per window at the baseline's rate
    p_value: float
    spike: bool


def judge(pair: PairCount, *, baseline_span: timedelta) -> SpikeVerdict:
    """Compare one pair's recent count with its baseline, summed over the days of `baseline_span`."""
    days = max(baseline_span / timedelta(days=1), 1.0)
    expected = max(pair.baseline / days, FLOOR_RATE)
    p_value = poisson_tail(pair.recent, expected)
    spike = pair.recent >= MIN_COUNT and p_value < P_MAX and pair.recent >= RATIO * expected
    return SpikeVerdict(pair=pair, expected=expected, p_value=p_value, spike=spike)


def _covers(sub: Subscription, city_code: str, case_key: str) -> bool:
    """Does the subscription watch this Kab/Kota × kasus? Area and case only: a spike is about a place
    and a case, not about one article's sentiment or words."""
    flt = sub.filter
    if flt.area_codes and city_code not in flt.area_codes and city_code.split(".", 1)[0] not in flt.area_codes:
        return False
    return not flt.cases or case_key in flt.cases


def recipients(subscriptions: Sequence[Subscription], city_code: str, case_key: str) -> list[tuple[int, int | None]]:
    """(chat, topic) of each chat with a subscription covering the pair, once per chat."""
    chosen: dict[int, int | None] = {}
    for sub in subscriptions:
        if sub.chat_id not in chosen and _covers(sub, city_code, case_key):
            chosen[sub.chat_id] = sub.thread_id
    return sorted(chosen.items())


def alert_html(
    *,
    count: int,
    expected: float,
    case_key: str,
    city_name: str,
    window_hours: int,
    unit: str,
    stories: Sequence[tuple[str, str, str]],
) -> str:
    """ "⚠️ Lonjakan: 6 berita kebakaran di Kabupaten Klaten dalam 6 jam (biasanya 0,4)" and the stories
    as (title, link, source) links."""
    from bot.classify import case_label

    esc = html.escape
    lines = [
        f"⚠️ <b>Lonjakan: {count} {unit_word(unit)} {esc(case_label(case_key).lower())} di {esc(city_name)} "
        f"dalam {window_hours} jam</b> (biasanya {fmt_decimal(expected)})"
    ]
    for n, (title, link, source) in enumerate(stories[:MAX_LISTED], start=1):
        where = f" · {esc(source)}" if source else ""
        lines.append(f'{n}. <a href="{esc(link, quote=True)}">{esc(shorten(title, 120))}</a>{where}')
    if len(stories) > MAX_LISTED:
        lines.append(f"… dan {len(stories) - MAX_LISTED} lainnya")
    lines.append("<i>Matikan peringatan lonjakan: /lonjakan off</i>")
    return "\n".join(lines)
