"""Pure rendering of alerts: Telegram HTML (escaped, ≤ 4,096 characters) and plain console text."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from bot.models import Article, Sentiment
from bot.text import shorten

WIB = timezone(timedelta(hours=7), "WIB")
TELEGRAM_MAX_TEXT = 4096
LEAD_MAX = 300
TITLE_MAX = 250
ALSO_NAMES = 4  # outlets named under an alert; the rest are counted ("+2")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
SENTIMENT_LABEL = {
    Sentiment.POSITIVE: "Positif",
    Sentiment.NEUTRAL: "Netral",
    Sentiment.NEGATIVE: "Negatif",
}
CASE_LABEL_FALLBACK = "tidak ada kasus"
# Shown when the article page was wanted but could not be read in time: the labels rest on a teaser.
TEASER_NOTE = "Label dari cuplikan feed; halaman berita tidak terbaca."
CORRECTED = " (dikoreksi)"  # after a label an analyst corrected (issue #14)


def _mark(article: Article, field: str) -> str:
    return CORRECTED if field in article.corrected else ""


def format_wib(moment: datetime) -> str:
    """ "18 Des 2024 06.23 WIB" — the way Indonesian newsrooms write times."""
    local = moment.astimezone(WIB)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} {local:%H.%M} WIB"


def lead(text: str, limit: int = LEAD_MAX) -> str:
    """The first `limit` characters of the body, cut at a word boundary, with an ellipsis if cut."""
    return shorten(text, limit)


def _place_line(article: Article) -> str:
    cls = article.classification
    if cls.city is None:
        where = cls.province or "tidak spesifik / nasional"
        return f"Wilayah: {where}{_mark(article, 'city')}"
    line = f"Wilayah: {cls.city.name}, {cls.city.province}"
    if cls.other_cities:
        line += " (juga: " + ", ".join(p.name for p in cls.other_cities) + ")"
    return line + _mark(article, "city")


def case_labels(cases: Sequence[str]) -> str:
    """ "kecelakaan, tanah_longsor" → "Kecelakaan, Tanah longsor" (labels from the case taxonomy)."""
    from bot.classify import case_label  # the taxonomy loads lazily; keep this module import-light

    return ", ".join(case_label(key) for key in cases)


def _cases_line(article: Article) -> str:
    cases = article.classification.cases
    return "Kasus: " + (case_labels(cases) if cases else CASE_LABEL_FALLBACK) + _mark(article, "cases")


def _short_place(article: Article) -> str:
    cls = article.classification
    if cls.city is not None:
        return cls.city.name
    return cls.province or "nasional"


def confidence_words(confidence: int) -> str:
    """How sure the sentiment is, in words: a percentage on one news story reads as false precision."""
    if confidence >= 80:
        return "yakin"
    if confidence >= 60:
        return "cukup yakin"
    return "kurang yakin"


def _sentiment_line(article: Article) -> str:
    cls = article.classification
    if "sentiment" in article.corrected:  # the classifier's confidence no longer applies
        return f"Sentimen: {SENTIMENT_LABEL[cls.sentiment]}{CORRECTED}"
    return f"Sentimen: {SENTIMENT_LABEL[cls.sentiment]} ({confidence_words(cls.confidence)})"


def age_note(article: Article) -> str:
    """ " (3 hari lalu)" for a story published a day or more before it was fetched (alerts go out at fetch
    time, so this is its age when the alert arrives); "" for fresh news."""
    if article.published_at is None:
        return ""
    days = (article.fetched_at - article.published_at).days
    return f" ({days} hari lalu)" if days >= 1 else ""


def _source_line(article: Article) -> str:
    moment = article.published_at or article.fetched_at
    source = article.source or "sumber tidak diketahui"
    return f"{source} · {format_wib(moment)}{age_note(article)}"


def _web_link(article: Article) -> str:
    """The article's link if it is a web address, else "". An item without a usable link is stored under a
    `guid:` key, and a feed may carry javascript:/tg:/data: links; none of those may become an href."""
    link = article.link
    return link if link[:8].lower().startswith(("https://", "http://")) else ""


def also_reported(alerted: Article, reports: Sequence[Article]) -> list[Article]:
    """The story's other outlets, one report each (their first), in order of first report: what
    "Juga diberitakan" names under the alert of `alerted`. The alert's own outlet is left out."""
    seen = {alerted.source or ""}
    out: list[Article] = []
    for report in reports:
        source = report.source or ""
        if report.id == alerted.id or source in seen:
            continue
        seen.add(source)
        out.append(report)
    return out


def _outlet_name(report: Article) -> str:
    return lead(report.source or "sumber lain", 60)


def render_also_html(others: Sequence[Article], names: int = ALSO_NAMES) -> str:
    """ "Juga diberitakan: Tribun Solo, detikJateng (+2)" with each outlet linked to its report; "" if none."""
    if not others:
        return ""
    esc = html.escape
    shown = [
        f'<a href="{esc(_web_link(r), quote=True)}">{esc(_outlet_name(r))}</a>'
        if _web_link(r)
        else esc(_outlet_name(r))
        for r in others[:names]
    ]
    rest = len(others) - len(shown)
    if not shown:
        return f"Juga diberitakan {rest} media lain"
    return "Juga diberitakan: " + ", ".join(shown) + (f" (+{rest})" if rest else "")


def render_also_text(others: Sequence[Article], names: int = ALSO_NAMES) -> str:
    if not others:
        return ""
    shown = [_outlet_name(r) for r in others[:names]]
    rest = len(others) - len(shown)
    return "Juga diberitakan: " + ", ".join(shown) + (f" (+{rest})" if rest else "")


def render_alert_html(
    article: Article, reason: str | None = None, also: Sequence[Article] = (), *, limit: int = TELEGRAM_MAX_TEXT
) -> str:
    """The Telegram alert. Every piece of article text is escaped; the whole fits in one message.

    `also` are the story's other outlets' reports (see `also_reported`); as many are named as fit.
    """
    text = _alert_html(article, reason, render_also_html(also))
    names = min(len(also), ALSO_NAMES)
    while len(text) > limit and names > 0:  # fewer names (the count stays) before anything else goes
        names -= 1
        text = _alert_html(article, reason, render_also_html(also, names))
    return text


def _alert_html(article: Article, reason: str | None, also_line: str) -> str:
    esc = html.escape
    link = _web_link(article)
    title = esc(lead(article.title or link, TITLE_MAX))  # a 1,000-character "title" is a feed's bug
    head = f'<b><a href="{esc(link, quote=True)}">{title}</a></b>' if link else f"<b>{title}</b>"
    lines = [
        head,
        esc(_sentiment_line(article)),
        esc(_place_line(article)),
        esc(_cases_line(article)),
        esc(_source_line(article)),
    ]
    if also_line:
        lines.append(also_line)
    body_lead = lead(article.body)
    if body_lead:
        lines.append("")
        lines.append(esc(body_lead))
    if article.page_error:
        lines.append(f"<i>{esc(TEASER_NOTE)}</i>")
    if reason:
        lines.append("")
        lines.append(f"<i>{esc(reason)}</i>")
    text = "\n".join(lines)
    if len(text) > TELEGRAM_MAX_TEXT:
        # Only a pathological title can get here (lead is capped); drop the lead, then shorten the title.
        short_title = esc(lead(article.title, 1000))
        lines[0] = f'<b><a href="{esc(link, quote=True)}">{short_title}</a></b>' if link else f"<b>{short_title}</b>"
        keep = 6 if also_line else 5
        text = "\n".join(line for i, line in enumerate(lines) if i < keep or line.startswith("<i>"))
    return text


def render_alert_text(article: Article, reason: str | None = None, also: Sequence[Article] = ()) -> str:
    """The same alert as plain text, for console mode and `pantau demo`."""
    lines = [
        article.title,
        *([_web_link(article)] if _web_link(article) else []),
        _sentiment_line(article),
        _place_line(article),
        _cases_line(article),
        _source_line(article),
    ]
    if also:
        lines.append(render_also_text(also))
    body_lead = lead(article.body)
    if body_lead:
        lines.append(body_lead)
    if article.page_error:
        lines.append(TEASER_NOTE)
    if reason:
        lines.append(reason)
    return "\n".join(lines)


def media_suffix(outlets: int) -> str:
    """ " — 4 media" after a story's title when more than one outlet reported it."""
    return f" — {outlets} media" if outlets > 1 else ""


def _item_lines(
    number: int, article: Article, *, reason: str | None = None, aged: bool = False, outlets: int = 1
) -> str:
    """One numbered row of a digest or a list: the linked title (with "— 3 media" for a story several
    outlets reported), then place · case · sentiment · WIB time · source (and the "Cocok" line when the
    rows of one message matched different subscriptions)."""
    esc = html.escape
    link = _web_link(article)
    title = esc(lead(article.title or link, 200))
    head = f'{number}. <a href="{esc(link, quote=True)}">{title}</a>' if link else f"{number}. {title}"
    head += esc(media_suffix(outlets))
    cls = article.classification
    facts = [
        _short_place(article),
        case_labels(cls.cases) if cls.cases else CASE_LABEL_FALLBACK,
        SENTIMENT_LABEL[cls.sentiment],
        format_wib(article.published_at or article.fetched_at) + (age_note(article) if aged else ""),
    ]
    if article.source:
        facts.append(lead(article.source, 60))
    line = head + "\n    " + esc(" · ".join(facts))
    if reason:
        line += f"\n    <i>{esc(reason)}</i>"
    return line


def _pack(header: str, items: list[str], limit: int) -> list[str]:
    """Items under a header, as few messages as fit in `limit` characters each."""
    messages: list[str] = []
    current: list[str] = []
    size = len(header)
    for item in items:
        item = item[: limit - len(header) - 20]  # an item alone always fits
        if current and size + 2 + len(item) > limit:
            messages.append(header + "\n\n" + "\n".join(current))
            current, size = [], len(header)
        current.append(item)
        size += len(item) + 1
    if current or not messages:
        messages.append(header + "\n\n" + "\n".join(current))
    return messages


def render_digest_html(
    articles: Sequence[Article],
    limit: int = TELEGRAM_MAX_TEXT,
    reasons: Sequence[str | None] = (),
    *,
    outlets: Sequence[int] = (),
) -> tuple[str, int]:
    """Many alerts for one chat at once → one message listing them; returns (text, how many fit).

    Each row keeps what the single alert says in its header (place, case, sentiment, WIB time, source).
    Each alert is the first report of a story; `outlets` (parallel to `articles`) is how many media
    reported that story, shown as "— 4 media".
    `reasons` are the rows' "Cocok" lines: one line under the header when they are all the same, else one
    per row, so a chat with several subscriptions sees which one brought each story.

    The caller leaves the articles that did not fit in the queue for the next message, so one digest is
    always exactly one Telegram message (which keeps the pacing exact).
    """
    distinct = {r for r in reasons if r}
    per_row = len(distinct) > 1
    counts = list(outlets) + [1] * (len(articles) - len(outlets))
    items = [
        _item_lines(
            i,
            a,
            reason=reasons[i - 1] if per_row and i - 1 < len(reasons) else None,
            aged=True,
            outlets=counts[i - 1],
        )
        for i, a in enumerate(articles, 1)
    ]
    shared = f"\n<i>{html.escape(next(iter(distinct)))}</i>" if len(distinct) == 1 else ""
    count = 0
    size = 80 + len(shared)  # the header
    for item in items:
        if count and size + len(item) + 1 > limit:
            break
        size += len(item) + 1
        count += 1
    header = f"<b>📰 {count} berita baru yang cocok dengan langganan Anda</b>{shared}"
    return header + "\n\n" + "\n".join(items[:count]), count


def render_digest_text(
    articles: Sequence[Article], reasons: Sequence[str | None] = (), *, outlets: Sequence[int] = ()
) -> str:
    """The digest without markup (when Telegram refuses our HTML)."""
    counts = list(outlets) + [1] * (len(articles) - len(outlets))
    lines = [f"{len(articles)} berita baru yang cocok dengan langganan Anda", ""]
    for i, a in enumerate(articles, 1):
        facts = [_short_place(a), case_labels(a.classification.cases), SENTIMENT_LABEL[a.classification.sentiment]]
        facts.append(format_wib(a.published_at or a.fetched_at))
        reason = reasons[i - 1] if i - 1 < len(reasons) and reasons[i - 1] else None
        lines.append(
            f"{i}. {lead(a.title, 200)}{media_suffix(counts[i - 1])}\n    {' · '.join(facts)}\n    {_web_link(a)}"
            + (f"\n    {reason}" if reason else "")
        )
    return "\n".join(lines)[:TELEGRAM_MAX_TEXT]


def describe_change(new_cases: Sequence[str], death_toll: int | None) -> str:
    """What a "Pembaruan" says changed: "Kasus baru: Pembunuhan · Korban tewas: 3"."""
    parts = []
    if new_cases:
        parts.append("Kasus baru: " + case_labels(new_cases))
    if death_toll is not None:
        parts.append(f"Korban tewas: {death_toll}")
    return " · ".join(parts)


def render_update_html(article: Article, change: str, also: Sequence[Article] = ()) -> str:
    """A "Pembaruan" of a story, sent as a reply to its first alert: what changed, then the new report."""
    header = "🔄 <b>Pembaruan</b>" + (f" · {html.escape(change)}" if change else "")
    body = render_alert_html(article, None, also, limit=TELEGRAM_MAX_TEXT - len(header) - 2)
    return clip_html_safe(header + "\n" + body)


def render_update_text(article: Article, change: str, also: Sequence[Article] = ()) -> str:
    header = "Pembaruan" + (f" · {change}" if change else "")
    return header + "\n" + render_alert_text(article, None, also)


def clip_html_safe(text: str) -> str:
    """`text` if it fits one message; else without its last lines (whole lines, so no tag is cut)."""
    lines = text.split("\n")
    while len("\n".join(lines)) > TELEGRAM_MAX_TEXT and len(lines) > 2:
        lines.pop()
    return "\n".join(lines)


def render_story_list_html(header: str, entries: Sequence[tuple[Article, int]], *, start: int = 1) -> str:
    """A page of /latest or /search by story: one line per story (its newest matching report, and how
    many media reported it); `header` is already-safe HTML."""
    if not entries:
        return header + "\n\nBelum ada berita yang cocok."
    items = [_item_lines(start + i, a, outlets=n) for i, (a, n) in enumerate(entries)]
    return _pack(header, items, TELEGRAM_MAX_TEXT)[0]


def render_story_reports_html(title: str, reports: Sequence[Article]) -> str:
    """Every report of one story, oldest first: outlet, time and link (for the 📰 button and /liputan)."""
    esc = html.escape
    outlets = len({r.source or "" for r in reports})
    header = f"<b>{esc(lead(title, 300))}</b>\n{len(reports)} berita dari {outlets} media"
    items = []
    for i, r in enumerate(reports, 1):
        name = esc(_outlet_name(r))
        when = format_wib(r.published_at or r.fetched_at)
        web = _web_link(r)
        title_html = esc(lead(r.title or web, 200))
        link = f'<a href="{esc(web, quote=True)}">{title_html}</a>' if web else title_html
        items.append(f"{i}. {link}\n    {name} · {esc(when)}")
    return _pack(header, items, TELEGRAM_MAX_TEXT)[0]


def render_article_list_html(header: str, articles: Sequence[Article], *, start: int = 1) -> str:
    """A page of /latest or /search results; `header` is already-safe HTML."""
    if not articles:
        return header + "\n\nBelum ada berita yang cocok."
    items = [_item_lines(start + i, a) for i, a in enumerate(articles)]
    return _pack(header, items, TELEGRAM_MAX_TEXT)[0]
