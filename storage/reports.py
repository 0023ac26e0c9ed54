"""Report queries: /ringkasan aggregates, spike counts, the export stream, the report settings of chats, and
queueing daily briefs and spike alerts into the outbox.

Aggregation is GROUP BY in SQL over the period's rows, reached through articles_fetched (and for spikes
articles_city); only small results come back to Python. The export reads through a cursor in batches, so
a 30-day export of a busy chat never holds all its rows in memory.

What is counted: when the schema has stories (articles.story_id), one story is one unit however many
outlets carried it, and a story's time, place and sentiment are those of its first article in the period;
without stories every article is a unit. `counting_unit` says which, and SummaryData.unit carries it to
the text.

A chat's scope is its subscriptions' filters, OR-ed, each one's dimensions AND-ed, as in
bot.subscriptions.matching: an area matches the article's Kab/Kota or any other place it names (a province
code covers its Kab/Kota), a case any of its cases, keywords through the full-text index (whole words,
case-insensitive). An empty list of filters means every article.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.models import (
    ExportRow,
    PairCount,
    ReportWindow,
    Sentiment,
    Subscription,
    SubscriptionFilter,
    SummaryData,
    TopStory,
)
from storage.backend import SQLITE, Dialect, Row, SearchQuery, Term, insert_returning_id
from storage.db import Database
from storage.subscriptions import list_subscriptions
from storage.timeutil import from_db, to_db

TOP_CASES = 6
TOP_STORIES = 5
EXPORT_BATCH = 1000


async def counting_unit(db: Database) -> str:
    """'stories' when articles are grouped into stories (articles.story_id exists), else 'articles'."""
    if db.dialect is not SQLITE:  # PostgreSQL's history starts after stories (storage/schema_pg.py)
        return "stories"
    async with db.reader.execute("SELECT 1 FROM pragma_table_info('articles') WHERE name = 'story_id'") as cursor:
        return "stories" if await cursor.fetchone() else "articles"


def _unit_expr(unit: str) -> str:
    # An article not (yet) put in a story is a story of its own; negative ids cannot collide with story ids.
    return "coalesce(a.story_id, -a.id)" if unit == "stories" else "a.id"


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _phrase(keyword: str) -> str | None:
    """A keyword as one phrase to search (quoted when searched: operators typed by the user stay plain words)."""
    cleaned = " ".join(keyword.replace('"', " ").split())
    return cleaned or None


_TRUE = "1 = 1"


def filter_sql(flt: SubscriptionFilter, dialect: Dialect = SQLITE) -> tuple[str, list[object]]:
    """One filter as an SQL condition on `articles a`, with its parameters in order."""
    elements, first = dialect.json_elements("a.other_cities", "j")
    parts: list[str] = []
    params: list[object] = []
    if flt.area_codes:
        cities = sorted(c for c in flt.area_codes if "." in c)
        provinces = sorted(c for c in flt.area_codes if "." not in c)
        direct: list[str] = []
        other: list[str] = []
        other_params: list[object] = []
        if cities:
            direct.append(f"a.city_code IN ({_marks(cities)})")
            params += cities
            other.append(f"{first} IN ({_marks(cities)})")
            other_params += cities
        if provinces:
            direct.append(f"substr(a.city_code, 1, 2) IN ({_marks(provinces)})")
            params += provinces
            other.append(f"substr({first}, 1, 2) IN ({_marks(provinces)})")
            other_params += provinces
        direct.append(
            f"(a.other_cities <> '[]' AND EXISTS (SELECT 1 FROM {elements} WHERE " + " OR ".join(other) + "))"
        )
        params += other_params
        parts.append("(" + " OR ".join(direct) + ")")
    if flt.cases:
        cases = sorted(flt.cases)
        parts.append(
            f"EXISTS (SELECT 1 FROM article_cases ac WHERE ac.article_id = a.id AND ac.case_key IN ({_marks(cases)}))"
        )
        params += cases
    if flt.sentiments:
        sentiments = sorted(s.value for s in flt.sentiments)
        parts.append(f"a.sentiment IN ({_marks(sentiments)})")
        params += sentiments
    for keyword, negate in [(k, False) for k in flt.include_keywords] + [(k, True) for k in flt.exclude_keywords]:
        phrase = _phrase(keyword)
        if phrase is None:
            continue
        ids, ids_params, _ = dialect.fts_ids(SearchQuery(groups=((Term(phrase, prefix=False),),), negative=()))
        parts.append(f"a.id {'NOT IN' if negate else 'IN'} ({ids})")
        params += ids_params
    return (" AND ".join(parts) or _TRUE), params


def scope_sql(filters: Sequence[SubscriptionFilter], dialect: Dialect = SQLITE) -> tuple[str, list[object]]:
    """The filters OR-ed (an empty list: every article)."""
    if not filters:
        return _TRUE, []
    sqls: list[str] = []
    params: list[object] = []
    for flt in filters:
        sql, p = filter_sql(flt, dialect)
        sqls.append(f"({sql})")
        params += p
    return " OR ".join(sqls), params


def _bucket_expr(dialect: Dialect, window: ReportWindow, column: str) -> str:
    return dialect.shifted_time(column, int(window.utc_offset_hours), "hour" if window.hourly else "day")


def _count_if(condition: str) -> str:
    return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)"


_NEGATIVE = _count_if("sentiment = 'negative'")
_NEUTRAL = _count_if("sentiment = 'neutral'")
_POSITIVE = _count_if("sentiment = 'positive'")


async def summary(
    db: Database, filters: Sequence[SubscriptionFilter], window: ReportWindow, *, previous: tuple[datetime, datetime]
) -> SummaryData:
    """The aggregates of /ringkasan for `window`, and the totals of the `previous` period [start, end)."""
    unit = await counting_unit(db)
    scope, scope_params = scope_sql(filters, db.dialect)
    story_col = "a.story_id" if unit == "stories" else "NULL"
    matched = (
        f"SELECT a.id, {_unit_expr(unit)} AS unit, {story_col} AS story_id, a.fetched_at, a.sentiment, a.city_code,"
        " a.city_name, coalesce(a.source, CAST(a.feed_id AS TEXT), '') AS outlet, a.title, a.url"
        f" FROM articles a WHERE a.fetched_at >= ? AND a.fetched_at < ? AND ({scope})"
    )
    # A story's first article in the period stands for it (SQLite takes the bare columns from the min row).
    units = db.dialect.first_per_group("unit, fetched_at, sentiment, city_code, city_name", "m", "unit", "id")
    if unit == "articles":
        units = "SELECT * FROM m"
    cte = f"WITH m AS ({matched}), u AS ({units}) "
    params = [to_db(window.start), to_db(window.end), *scope_params]

    async def rows(select: str, extra: Sequence[object] = (), base: Sequence[object] = params) -> list[Row]:
        async with db.reader.execute(f"{cte}{select}", [*base, *extra]) as cursor:
            return list(await cursor.fetchall())

    timeline = tuple(
        (str(r[0]), int(r[1]), int(r[2]), int(r[3]))
        for r in await rows(
            f"SELECT {_bucket_expr(db.dialect, window, 'fetched_at')} AS b, {_NEGATIVE},"
            f" {_NEUTRAL}, {_POSITIVE}"
            " FROM u GROUP BY b ORDER BY b"
        )
    )
    before = await rows(
        f"SELECT count(*), coalesce({_NEGATIVE}, 0) FROM u",
        base=[to_db(previous[0]), to_db(previous[1]), *scope_params],
    )
    cases = await rows(
        "SELECT ac.case_key, count(DISTINCT m.unit) AS n FROM m JOIN article_cases ac ON ac.article_id = m.id"
        " GROUP BY ac.case_key ORDER BY n DESC, ac.case_key LIMIT ?",
        [TOP_CASES],
    )
    cities = await rows(
        f"SELECT max(city_name), count(*) AS n, {_NEGATIVE} AS neg FROM u"
        " WHERE city_code IS NOT NULL GROUP BY city_code"
    )
    # Biggest stories by outlets; without stories, one headline carried by several outlets is one story.
    group = "unit" if unit == "stories" else "lower(trim(title))"
    if db.dialect is SQLITE:  # bare columns come from the row min(id) picked
        top = (
            "SELECT min(id) AS id, title, url, city_name, sentiment, count(DISTINCT outlet) AS outlets, count(*) AS n"
            f" FROM m GROUP BY {group} ORDER BY outlets DESC, n DESC, id DESC LIMIT ?"
        )
    else:
        top = (
            "SELECT g.id, m.title, m.url, m.city_name, m.sentiment, g.outlets, g.n FROM (SELECT min(id) AS id,"
            f" count(DISTINCT outlet) AS outlets, count(*) AS n FROM m GROUP BY {group}"
            " ORDER BY outlets DESC, n DESC, id DESC LIMIT ?) g JOIN m ON m.id = g.id"
            " ORDER BY g.outlets DESC, g.n DESC, g.id DESC"
        )
    stories = await rows(top, [TOP_STORIES])
    by_count = sorted(cities, key=lambda r: (-int(r[1]), str(r[0])))
    by_negative = sorted((r for r in cities if int(r[2]) > 0), key=lambda r: (-int(r[2]), str(r[0])))
    return SummaryData(
        unit=unit,
        timeline=timeline,
        total=sum(n + e + p for _, n, e, p in timeline),
        negative=sum(n for _, n, _e, _p in timeline),
        previous_total=int(before[0][0]),
        previous_negative=int(before[0][1]),
        top_cases=tuple((str(r[0]), int(r[1])) for r in cases),
        top_cities=tuple((str(r[0]), int(r[1])) for r in by_count[:TOP_CASES]),
        negative_cities=tuple((str(r[0]), int(r[2])) for r in by_negative[:3]),
        top_stories=tuple(
            TopStory(
                article_id=int(r["id"]),
                title=str(r["title"]),
                link=str(r["url"]),
                outlets=int(r["outlets"]),
                articles=int(r["n"]),
                city_name=r["city_name"],
                sentiment=Sentiment(r["sentiment"]),
            )
            for r in stories
        ),
    )


# ---- spikes -----------------------------------------------------------------------------------------


async def spike_counts(
    db: Database, *, recent_start: datetime, end: datetime, baseline_start: datetime, min_recent: int
) -> list[PairCount]:
    """Kab/Kota × kasus pairs with at least `min_recent` units in [recent_start, end), each with its units
    in the same hours of the day over the baseline days [baseline_start, recent_start) (news has a daily
    rhythm: an afternoon is compared with past afternoons, not with nights). Only pairs busy now are looked
    up in the baseline, each through articles_city, so the check costs the recent window plus a few index
    ranges."""
    unit = _unit_expr(await counting_unit(db))
    async with db.reader.execute(
        f"SELECT a.city_code, max(a.city_name), ac.case_key, count(DISTINCT {unit}) AS n"
        " FROM articles a JOIN article_cases ac ON ac.article_id = a.id"
        " WHERE a.fetched_at >= ? AND a.fetched_at < ? AND a.city_code IS NOT NULL"
        f" GROUP BY a.city_code, ac.case_key HAVING count(DISTINCT {unit}) >= ?",
        (to_db(recent_start), to_db(end), min_recent),
    ) as cursor:
        busy = list(await cursor.fetchall())
    found: list[PairCount] = []
    since = f"({db.dialect.days('a.fetched_at')} - {db.dialect.days('?')})"
    for city_code, city_name, case_key, recent in busy:
        async with db.reader.execute(
            f"SELECT count(DISTINCT {unit}) FROM articles a"
            " JOIN article_cases ac ON ac.article_id = a.id AND ac.case_key = ?"
            " WHERE a.city_code = ? AND a.fetched_at >= ? AND a.fetched_at < ?"
            # Same hours of the day only: the fraction of a day since recent_start is below the window's.
            f" AND ({since} + 100000) - {db.dialect.floor(since + ' + 100000')} < ?",
            (
                case_key,
                city_code,
                to_db(baseline_start),
                to_db(recent_start),
                to_db(recent_start),
                to_db(recent_start),
                (end - recent_start).total_seconds() / 86400,
            ),
        ) as cursor:
            row = await cursor.fetchone()
        found.append(
            PairCount(
                city_code=str(city_code),
                city_name=str(city_name or city_code),
                case_key=str(case_key),
                recent=int(recent),
                baseline=int(row[0]) if row else 0,
            )
        )
    return found


async def spike_article_ids(
    db: Database, city_code: str, case_key: str, *, start: datetime, end: datetime, limit: int = 10
) -> list[int]:
    """One article per story of the pair in [start, end), newest first."""
    unit = _unit_expr(await counting_unit(db))
    async with db.reader.execute(
        f"SELECT max(a.id) AS id FROM articles a JOIN article_cases ac ON ac.article_id = a.id AND ac.case_key = ?"
        f" WHERE a.city_code = ? AND a.fetched_at >= ? AND a.fetched_at < ? GROUP BY {unit} ORDER BY id DESC LIMIT ?",
        (case_key, city_code, to_db(start), to_db(end), limit),
    ) as cursor:
        return [int(r[0]) for r in await cursor.fetchall()]


@dataclass(frozen=True, slots=True)
class Spike:
    id: int
    city_code: str
    city_name: str
    case_key: str
    detected_at: datetime
    window_hours: int
    count: int
    expected: float
    unit: str
    article_ids: tuple[int, ...]


async def spike_subscriptions(db: Database) -> list[Subscription]:
    """Subscriptions of active chats that opted in to spike alerts (/lonjakan on)."""
    async with db.reader.execute(
        "SELECT id FROM chats WHERE spike_alerts = 1 AND active = 1 AND paused = 0 ORDER BY id"
    ) as cursor:
        chat_ids = [int(r[0]) for r in await cursor.fetchall()]
    subs: list[Subscription] = []
    for chat_id in chat_ids:
        subs += await list_subscriptions(db, chat_id)
    return subs


async def record_spike(
    db: Database,
    *,
    pair: PairCount,
    expected: float,
    p_value: float,
    window_hours: int,
    unit: str,
    article_ids: Sequence[int],
    recipients: Sequence[tuple[int, int | None]],
    now: datetime,
    quiet_since: datetime,
) -> int | None:
    """Store a spike and queue its alert for each (chat, topic), in one transaction; None (nothing written)
    when the pair already had a spike since `quiet_since` (at most one per pair per quiet period)."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT 1 FROM spikes WHERE city_code = ? AND case_key = ? AND detected_at >= ? LIMIT 1",
            (pair.city_code, pair.case_key, to_db(quiet_since)),
        ) as cursor:
            if await cursor.fetchone():
                return None
        spike_id = await insert_returning_id(
            conn,
            "INSERT INTO spikes (city_code, city_name, case_key, detected_at, window_hours, count, expected, p_value,"
            " unit, article_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                pair.city_code,
                pair.city_name,
                pair.case_key,
                to_db(now),
                window_hours,
                pair.recent,
                expected,
                p_value,
                unit,
                json.dumps(list(article_ids)),
            ),
        )
        assert spike_id is not None
        await conn.executemany(
            "INSERT INTO deliveries (chat_id, thread_id, kind, report_key, next_attempt_at, created_at)"
            " VALUES (?, ?, 'spike', ?, ?, ?) ON CONFLICT DO NOTHING",
            [(chat_id, thread_id, str(spike_id), to_db(now), to_db(now)) for chat_id, thread_id in recipients],
        )
        return int(spike_id)


async def get_spike(db: Database, spike_id: int) -> Spike | None:
    async with db.reader.execute("SELECT * FROM spikes WHERE id = ?", (spike_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    detected = from_db(row["detected_at"])
    assert detected is not None
    return Spike(
        id=int(row["id"]),
        city_code=row["city_code"],
        city_name=row["city_name"],
        case_key=row["case_key"],
        detected_at=detected,
        window_hours=int(row["window_hours"]),
        count=int(row["count"]),
        expected=float(row["expected"]),
        unit=row["unit"],
        article_ids=tuple(int(i) for i in json.loads(row["article_ids"])),
    )


async def first_article_at(db: Database) -> datetime | None:
    """When the oldest stored article was fetched: how much history a baseline can have."""
    async with db.reader.execute("SELECT min(fetched_at) FROM articles") as cursor:
        row = await cursor.fetchone()
    return from_db(row[0]) if row else None


async def count_spikes(db: Database) -> int:
    async with db.reader.execute("SELECT count(*) FROM spikes") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


# ---- report settings of a chat and the daily brief -------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportSettings:
    chat_id: int
    tz: str  # WIB | WITA | WIT
    brief_time: str | None  # "07:00" local; None: no daily brief
    brief_since: datetime | None
    brief_thread_id: int | None
    spike_alerts: bool


def _settings(row: Row) -> ReportSettings:
    return ReportSettings(
        chat_id=int(row["id"]),
        tz=row["tz"],
        brief_time=row["brief_time"],
        brief_since=from_db(row["brief_since"]),
        brief_thread_id=row["brief_thread_id"],
        spike_alerts=bool(row["spike_alerts"]),
    )


async def report_settings(db: Database, chat_id: int) -> ReportSettings | None:
    async with db.reader.execute(
        "SELECT id, tz, brief_time, brief_since, brief_thread_id, spike_alerts FROM chats WHERE id = ?", (chat_id,)
    ) as cursor:
        row = await cursor.fetchone()
    return _settings(row) if row else None


async def set_timezone(db: Database, chat_id: int, tz: str, *, now: datetime) -> None:
    async with db.transaction() as conn:
        await conn.execute("UPDATE chats SET tz = ?, updated_at = ? WHERE id = ?", (tz, to_db(now), chat_id))


async def set_brief(
    db: Database, chat_id: int, brief_time: str | None, *, thread_id: int | None, now: datetime
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE chats SET brief_time = ?, brief_since = ?, brief_thread_id = ?, updated_at = ? WHERE id = ?",
            (brief_time, to_db(now) if brief_time else None, thread_id, to_db(now), chat_id),
        )


async def set_spike_alerts(db: Database, chat_id: int, on: bool, *, now: datetime) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE chats SET spike_alerts = ?, updated_at = ? WHERE id = ?", (int(on), to_db(now), chat_id)
        )


async def brief_chats(db: Database) -> list[ReportSettings]:
    """Active, unpaused chats with a daily brief set."""
    async with db.reader.execute(
        "SELECT id, tz, brief_time, brief_since, brief_thread_id, spike_alerts FROM chats"
        " WHERE brief_time IS NOT NULL AND active = 1 AND paused = 0 ORDER BY id"
    ) as cursor:
        return [_settings(row) for row in await cursor.fetchall()]


async def queue_brief(
    db: Database, chat_id: int, *, day: str, period_end: datetime, thread_id: int | None, now: datetime
) -> bool:
    """Queue the chat's brief of local `day` unless it already has one (sent, pending or failed): the
    unique (chat, kind, day) key makes the schedule idempotent across restarts. True when queued now."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO deliveries (chat_id, thread_id, kind, report_key, payload, next_attempt_at,"
            " created_at) VALUES (?, ?, 'brief', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (chat_id, thread_id, day, json.dumps({"end": to_db(period_end)}), to_db(now), to_db(now)),
        )
        return cursor.rowcount == 1


# ---- export ------------------------------------------------------------------------------------------


async def export_rows(
    db: Database,
    filters: Sequence[SubscriptionFilter],
    *,
    start: datetime,
    end: datetime,
    subscription_ids: Sequence[int | None] | None = None,
    batch: int = EXPORT_BATCH,
) -> AsyncIterator[ExportRow]:
    """The matching articles of [start, end), oldest first, read `batch` rows at a time.

    `subscription_ids` (parallel to `filters`) names, per row, the first filter that matched it.
    """
    unit = await counting_unit(db)
    scope, params = scope_sql(filters, db.dialect)
    which = "NULL"
    which_params: list[object] = []
    if subscription_ids is not None and filters:
        cases: list[str] = []
        for flt, sub_id in zip(filters, subscription_ids, strict=True):
            sql, p = filter_sql(flt, db.dialect)
            cases.append(f"WHEN ({sql}) THEN ?")
            which_params += [*p, sub_id]
        which = "CASE " + " ".join(cases) + " END"
    story = "a.story_id" if unit == "stories" else "NULL"
    async with db.reader.execute(
        f"SELECT coalesce(a.published_at, a.fetched_at) AS at, coalesce(a.source, f.name, f.title, '') AS outlet,"
        f" a.title, a.url, a.city_name, a.province, a.cases, a.sentiment, a.confidence, {story} AS story_id,"
        f" {which} AS sub FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id"
        f" WHERE a.fetched_at >= ? AND a.fetched_at < ? AND ({scope}) ORDER BY a.fetched_at, a.id",
        [*which_params, to_db(start), to_db(end), *params],
    ) as cursor:
        while rows := await cursor.fetchmany(batch):
            for r in rows:
                at = from_db(r["at"])
                assert at is not None
                yield ExportRow(
                    at=at,
                    outlet=str(r["outlet"]),
                    title=str(r["title"]),
                    link=str(r["url"]),
                    city_name=r["city_name"] or "",
                    province=r["province"] or "",
                    cases=tuple(json.loads(r["cases"])),
                    sentiment=Sentiment(r["sentiment"]),
                    confidence=int(r["confidence"]),
                    story_id=r["story_id"],
                    subscription_id=r["sub"],
                )
