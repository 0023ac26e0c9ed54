"""Reports: /ringkasan data and chart, daily brief schedule through the outbox, spike alerts, exports."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import random
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chat_fixtures import ADMIN_ID, BANDUNG, SOLO, SUKOHARJO, Clock, classification, harness, new_article, publish
from fake_botapi import FakeBotCore, FakeRequest
from openpyxl import load_workbook
from telegram import Bot

from bot.cli import main
from bot.delivery.documents import compose_summary
from bot.delivery.sender import PacingPolicy, Sender
from bot.models import Place, Sentiment, SubscriptionFilter
from bot.reports import spikes
from bot.reports.chart import render_png
from bot.reports.export import open_writer, write_all
from bot.reports.periods import due_brief, fmt_decimal, fmt_percent, make_period, split_period
from bot.reports.summary import SENTIMENT_COLOURS, caption_html, chart_spec
from bot.runtime.reports import ReportScheduler
from storage import reports as report_store
from storage.articles import insert_article
from storage.chats import register_chat
from storage.db import Database, open_database
from storage.stories import add_report, create_story
from storage.subscriptions import add_subscription

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 1 Des 2026 10.00 WIB
KLATEN = Place(name="Kabupaten Klaten", code="33.10", province="Jawa Tengah")
JAKSEL = Place(name="Kota Adm. Jakarta Selatan", code="31.74", province="DKI Jakarta")


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


_seq = iter(range(1, 10_000_000))


async def put(
    db: Database,
    at: datetime,
    place: Place | None,
    cases: tuple[str, ...],
    sentiment: Sentiment = Sentiment.NEGATIVE,
    *,
    title: str | None = None,
    source: str = "Warta",
) -> int:
    n = next(_seq)
    async with db.transaction() as conn:
        art = await insert_article(
            conn,
            new_article(n, classification(place, cases, sentiment), title=title, published=at),
            feed_id=None,
            source=source,
            now=at,
        )
    assert art is not None
    return art.id


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# ---- /ringkasan data, chart and caption -------------------------------------------------------------


async def _seed_week(db: Database) -> None:
    """Solo: 3 negative fires yesterday, 1 positive today; Bandung: 2 neutral floods; last week: 1 negative."""
    for hours in (20, 21, 22):
        await put(db, T0 - timedelta(hours=hours), SOLO, ("kebakaran",), Sentiment.NEGATIVE)
    await put(db, T0 - timedelta(hours=1), SOLO, ("festival",), Sentiment.POSITIVE, title="Festival nomor 1 di Solo")
    await put(db, T0 - timedelta(hours=2), BANDUNG, ("banjir",), Sentiment.NEUTRAL)
    await put(db, T0 - timedelta(hours=30), BANDUNG, ("banjir",), Sentiment.NEUTRAL)
    await put(db, T0 - timedelta(days=8), SOLO, ("kebakaran",), Sentiment.NEUTRAL)
    await put(db, T0 - timedelta(days=9), SOLO, ("kebakaran",), Sentiment.NEGATIVE)


async def test_summary_counts_and_chart_data(db_target: Path | str) -> None:
    db = await open_database(db_target)
    await _seed_week(db)
    period = make_period("7hari", T0, "WIB")
    data = await report_store.summary(db, [], period.window, previous=period.previous)
    assert data.unit == "stories"  # articles stored without a story count as one story each
    assert (data.total, data.negative) == (6, 3)
    assert (data.previous_total, data.previous_negative) == (2, 1)
    assert dict(data.top_cases) == {"kebakaran": 3, "banjir": 2, "festival": 1}
    assert data.top_cities[0] == ("Kota Surakarta", 4)
    assert data.negative_cities == (("Kota Surakarta", 3),)

    spec = chart_spec(data, period, "semua berita", "WIB")
    assert len(spec.x_labels) == 7 and spec.x_labels[-1] == "1 Des"
    assert [s.label for s in spec.series] == ["Negatif", "Netral", "Positif"]
    assert [s.colour for s in spec.series] == [SENTIMENT_COLOURS[s.sentiment] for s in spec.series]
    assert len({s.colour for s in spec.series}) == 3
    by_label = {s.label: s.values for s in spec.series}
    # 30 Nov WIB: the three fires (20-22 h before 1 Des 10.00 WIB) and a flood (30 h before: 30 Nov 04.00).
    assert by_label["Negatif"][-2:] == (3, 0) and by_label["Netral"][-2:] == (1, 1) and by_label["Positif"][-1] == 1
    assert sum(sum(s.values) for s in spec.series) == data.total
    assert spec.cases[0] == ("Kebakaran", 3)
    assert "7 hari" in spec.title and "semua berita" in spec.title and "WIB" in spec.y_label

    caption = caption_html(data, period, "semua berita", "WIB")
    assert "Negatif 50 % (+0 poin" not in caption
    assert "Negatif 50 % (tetap dari minggu lalu)" in caption  # 1 of 2 last week: 50 % → 50 %
    assert "per peristiwa" in caption and "Terbesar" in caption and 'href="https://berita.example/' in caption
    width, height = png_size(render_png(spec))
    assert width == 1080 and height == 1080
    await db.close()


async def test_summary_follows_filters_and_hourly_buckets(db_target: Path | str) -> None:
    db = await open_database(db_target)
    await _seed_week(db)
    period = make_period("24jam", T0, "WIB")
    solo_fire = SubscriptionFilter(area_codes=frozenset({"33.72"}), cases=frozenset({"kebakaran"}))
    data = await report_store.summary(db, [solo_fire], period.window, previous=period.previous)
    assert (data.total, data.negative) == (3, 3)
    spec = chart_spec(data, period, "Kota Surakarta · kebakaran", "WIB")
    assert len(spec.x_labels) == 24 and spec.tick_every == 2 and spec.x_labels[0].endswith(".00")
    province = SubscriptionFilter(area_codes=frozenset({"32"}))  # Jawa Barat covers Kota Bandung
    data = await report_store.summary(db, [province], period.window, previous=period.previous)
    assert data.total == 1 and data.top_cities == (("Kota Bandung", 1),)
    keyword = SubscriptionFilter(include_keywords=("nomor",), sentiments=frozenset({Sentiment.POSITIVE}))
    data = await report_store.summary(db, [keyword], period.window, previous=period.previous)
    assert data.total == 1
    await db.close()


async def test_counts_stories_not_articles(db_target: Path | str) -> None:
    db = await open_database(db_target)
    story_id = None
    for h in (1, 2, 3):  # one fire reported by three outlets: one story
        at = T0 - timedelta(hours=h)
        cls = classification(SOLO, ("kebakaran",))
        async with db.transaction() as conn:
            art = await insert_article(
                conn,
                new_article(next(_seq), cls, title=f"Kebakaran {h}", published=at),
                feed_id=None,
                source=f"Media {h}",
                now=at,
            )
            assert art is not None
            if story_id is None:
                story_id = await create_story(conn, art, now=at)
            else:
                await add_report(conn, story_id, art, representative_id=None, now=at)
    await put(db, T0 - timedelta(hours=4), SOLO, ("banjir",), Sentiment.NEUTRAL)
    period = make_period("24jam", T0, "WIB")
    data = await report_store.summary(db, [], period.window, previous=period.previous)
    assert data.unit == "stories" and data.total == 2 and data.negative == 1
    assert dict(data.top_cases) == {"kebakaran": 1, "banjir": 1}
    assert data.top_stories[0].outlets == 3 and data.top_stories[0].articles == 3
    assert "per peristiwa" in caption_html(data, period, "semua", "WIB")
    rows = [r async for r in report_store.export_rows(db, [], start=period.window.start, end=T0)]
    assert len(rows) == 4 and sum(r.story_id == story_id for r in rows) == 3
    await db.close()


async def test_empty_period_is_one_line_without_chart(db_target: Path | str) -> None:
    db = await open_database(db_target)
    period = make_period("kemarin", T0, "WIB")
    composed = await compose_summary(db, [], period, "semua berita", "WIB")
    assert composed.png is None and composed.text.startswith("Tidak ada berita") and "\n" not in composed.text
    await db.close()


def test_period_words_and_number_formats() -> None:
    assert split_period("7 hari Solo banjir") == ("7hari", "Solo banjir")
    assert split_period("kemarin") == ("kemarin", "")
    assert split_period("Solo") == ("24jam", "Solo")
    with pytest.raises(Exception, match="Periode"):
        split_period("12 hari")
    assert fmt_percent(42, 100) == "42 %" and fmt_decimal(0.4) == "0,4" and fmt_decimal(1234.5) == "1.234,5"
    wit = make_period("kemarin", T0, "WIT")  # 1 Des 12.00 WIT → 30 Nov 00.00-24.00 WIT
    assert wit.window.start == datetime(2026, 11, 29, 15, tzinfo=UTC) and wit.window.hourly


# ---- /ringkasan in the chat: a photo upload ---------------------------------------------------------


async def test_ringkasan_sends_a_png_photo_with_caption(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.clock.now = T0
        await _seed_week(h.db)
        await h.text(1, "/langganan Solo")
        await h.text(1, "/ringkasan 7 hari")
        [call] = h.core.uploads("sendPhoto", 1)
        name, data = call.files["photo"]
        assert png_size(data) == (1080, 1080)
        assert "Ringkasan 7 hari" in call.params["caption"] and "Negatif 75 %" in call.params["caption"]
        # Filter words instead of subscriptions; an empty period answers in one line.
        replies = await h.text(1, "/summary kemarin Bandung kebakaran")
        assert len(replies) == 1 and replies[0].startswith("Tidak ada berita")
        replies = await h.text(2, "/ringkasan")
        assert "belum punya langganan" in replies[0]


# ---- the daily brief --------------------------------------------------------------------------------


def test_due_brief_rules() -> None:
    morning = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 07.00 WIB
    assert due_brief(1, "07:00", "WIB", None, None, morning - timedelta(minutes=1)) is None
    due = due_brief(1, "07:00", "WIB", None, None, morning + timedelta(hours=5))  # missed while down, same day
    assert due is not None and due.day == "2026-12-01" and due.period_end == morning
    set_late = morning + timedelta(hours=8)
    assert due_brief(1, "07:00", "WIB", set_late, None, set_late + timedelta(minutes=1)) is None
    next_day = due_brief(1, "07:00", "WIB", set_late, None, morning + timedelta(days=1))
    assert next_day is not None and next_day.day == "2026-12-02"
    wita = due_brief(1, "07:00", "WITA", None, None, morning)  # 08.00 WITA: 07.00 WITA was an hour ago
    assert wita is not None and wita.period_end == morning - timedelta(hours=1)


async def test_daily_brief_once_per_day_across_restarts_and_sent_as_photo(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.clock.now = datetime(2026, 11, 30, 12, tzinfo=UTC)
        await h.text(1, "/langganan Solo")
        reply = await h.text(1, "/ringkasan_harian 7:00")
        assert "pukul 07:00 WIB" in reply[0]
        assert "Ringkasan harian: setiap hari pukul 07:00 WIB" in (await h.text(1, "/daftar"))[0]
        await _seed_week(h.db)
        clock = Clock(datetime(2026, 11, 30, 23, 59, tzinfo=UTC))  # 06.59 WIB
        scheduler = ReportScheduler(h.db, clock=clock)
        assert await scheduler.queue_due_briefs() == 0
        clock.now = T0  # 10.00 WIB: missed at 07.00 (down), still the same day
        assert await scheduler.queue_due_briefs() == 1
        assert await scheduler.queue_due_briefs() == 0
        assert await ReportScheduler(h.db, clock=clock).queue_due_briefs() == 0  # a restart
        sender = Sender(h.db, h.app.bot, policy=PacingPolicy(overall_rate=1000), wall_clock=clock)
        await sender.drain()
        [call] = h.core.uploads("sendPhoto", 1)
        assert call.params["caption"].startswith("☀️") and png_size(call.files["photo"][1])[0] == 1080
        # Still the same day after the send (and after a crash that requeued it, the row is the same one).
        assert await ReportScheduler(h.db, clock=clock).queue_due_briefs() == 0
        clock.now = T0 + timedelta(days=1)
        assert await scheduler.queue_due_briefs() == 1
        assert "dimatikan" in (await h.text(1, "/ringkasan_harian off"))[0]
        clock.now = T0 + timedelta(days=2)
        assert await scheduler.queue_due_briefs() == 0


async def test_zone_command_and_bad_time(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        assert "WITA" in (await h.text(1, "/zona wita"))[0]
        assert "Zona waktu yang dikenal" in (await h.text(1, "/zona EST"))[0]
        assert "07:00" in (await h.text(1, "/ringkasan_harian 25:00"))[0]
        settings = await report_store.report_settings(h.db, 1)
        assert settings is not None and settings.tz == "WITA" and settings.brief_time is None


# ---- spikes -----------------------------------------------------------------------------------------


def test_poisson_tail() -> None:
    assert spikes.poisson_tail(0, 2.0) == 1.0
    assert spikes.poisson_tail(1, 0.4) == pytest.approx(1 - 2.718281828**-0.4)
    below = sum(math.exp(-0.4) * 0.4**i / math.factorial(i) for i in range(6))
    assert spikes.poisson_tail(6, 0.4) == pytest.approx(1 - below, rel=1e-6)
    assert 0 < spikes.poisson_tail(80, 20.0) < 1e-15


async def _history(db: Database, place: Place, case: str, per_day: float, days: int, rng: random.Random) -> None:
    """Steady stories with a daily rhythm (busy by day, quiet at night), like a big city's crime desk."""
    start = T0 - timedelta(days=days)
    hour = 0
    while start + timedelta(hours=hour) < T0 + timedelta(days=3):
        at = start + timedelta(hours=hour)
        local = (at.hour + 7) % 24
        rate = per_day / 24 * (1.6 if 8 <= local < 20 else 0.4)
        for _ in range(_poisson(rng, rate)):
            await put(db, at + timedelta(minutes=rng.randrange(60)), place, (case,))
        hour += 1


def _poisson(rng: random.Random, lam: float) -> int:
    count, threshold, product = 0, pow(2.718281828459045, -lam), rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


async def test_spikes_fire_once_for_a_real_spike_not_for_steady_or_single(db_target: Path | str) -> None:
    db = await open_database(db_target)
    rng = random.Random(5)
    now = T0
    await register_chat(db, 1, type="private", title=None, now=now)
    await register_chat(db, 2, type="private", title=None, now=now)
    await add_subscription(
        db, 1, SubscriptionFilter(area_codes=frozenset({"33"})), thread_id=None, now=now
    )  # Jawa Tengah
    await add_subscription(db, 2, SubscriptionFilter(area_codes=frozenset({"31"})), thread_id=None, now=now)  # Jakarta
    await report_store.set_spike_alerts(db, 1, True, now=now)
    await report_store.set_spike_alerts(db, 2, True, now=now)
    # 28 days of history: Klaten has a fire every ~2.5 days; Jakarta Selatan 40 thefts a day; Sukoharjo
    # nothing until one story today.
    for day in range(0, 28, 3):
        await put(db, now - timedelta(days=day, hours=5), KLATEN, ("kebakaran",))
    await _history(db, JAKSEL, "pencurian", 40, 28, rng)
    await put(db, now - timedelta(hours=1), SUKOHARJO, ("kebakaran",))
    clock = Clock(now - timedelta(days=3))
    scheduler = ReportScheduler(db, clock=clock)
    fired: list[int] = []
    for _ in range(3 * 24):  # three days of hourly checks before the spike: nothing
        fired += await scheduler.check_spikes()
        clock.advance(3600)
    assert fired == []
    # Six more fire stories in Klaten within two hours (with the usual one of that morning: seven).
    for k in range(6):
        await put(db, clock.now - timedelta(minutes=20 * k + 5), KLATEN, ("kebakaran",), title=f"Kebakaran {k}")
    fired = await scheduler.check_spikes()
    assert len(fired) == 1
    for _ in range(11):  # checks within the next 12 hours: no repeat
        clock.advance(3600)
        assert await scheduler.check_spikes() == []
    spike = await report_store.get_spike(db, fired[0])
    assert spike is not None and spike.city_name == "Kabupaten Klaten" and spike.count == 7
    assert spike.expected < 0.5 and len(spike.article_ids) == 7
    async with db.conn.execute("SELECT chat_id, kind FROM deliveries WHERE kind = 'spike'") as cursor:
        rows = [tuple(r) for r in await cursor.fetchall()]
    assert rows == [(1, "spike")]  # the Jawa Tengah chat, not the Jakarta one
    core = FakeBotCore()
    async with Bot(token=core.token, request=FakeRequest(core)) as bot:
        await Sender(db, bot, policy=PacingPolicy(overall_rate=1000), wall_clock=clock).drain()
    [text] = core.texts(1)
    assert text.startswith("⚠️ <b>Lonjakan: 7 peristiwa kebakaran di Kabupaten Klaten dalam 6 jam</b> (biasanya 0,")
    assert text.count('<a href="https://berita.example/') == 7
    await db.close()


# ---- exports ----------------------------------------------------------------------------------------


async def test_export_csv_with_bom_and_xlsx_with_real_dates(db_target: Path | str, tmp_path: Path) -> None:
    db = await open_database(db_target)
    await _seed_week(db)
    await put(db, T0 - timedelta(hours=3), SOLO, ("kebakaran",), title="Gudang di Pasar Klewer terbakar, “api besar”")
    flt = SubscriptionFilter(area_codes=frozenset({"33.72"}))
    other = SubscriptionFilter(area_codes=frozenset({"32"}))
    csv_path, xlsx_path = tmp_path / "x.csv", tmp_path / "x.xlsx"
    rows = report_store.export_rows(
        db, [flt, other], start=T0 - timedelta(days=7), end=T0, subscription_ids=[11, 12], batch=2
    )
    count = await write_all(rows, [open_writer("csv", csv_path), open_writer("xlsx", xlsx_path)])
    assert count == 7
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][:4] == ["Waktu (WIB)", "Media", "Judul", "Tautan"]
    fire = next(r for r in table if "Klewer" in r[2])
    assert fire[2] == "Gudang di Pasar Klewer terbakar, “api besar”"
    assert fire[4:8] == ["Kota Surakarta", "Jawa Tengah", "kebakaran", "negatif"] and fire[10] == "#11"
    assert next(r for r in table[1:] if r[4] == "Kota Bandung")[10] == "#12"
    sheet = load_workbook(xlsx_path).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 8 and isinstance(values[1][0], datetime)
    first_time = values[1][0]
    assert isinstance(first_time, datetime) and first_time == (T0 - timedelta(hours=30) + timedelta(hours=7)).replace(
        tzinfo=None
    )
    await db.close()


async def test_ekspor_sends_two_documents(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.clock.now = T0
        await _seed_week(h.db)
        await h.text(ADMIN_ID, "/langganan Solo")
        await h.text(ADMIN_ID, "/ekspor 30 hari")
        docs = h.core.uploads("sendDocument", ADMIN_ID)
        names = sorted(next(iter(c.files.values()))[0] for c in docs)
        assert [n.rsplit(".", 1)[1] for n in names] == ["csv", "xlsx"]
        csv_bytes = next(data for c in docs for name, data in c.files.values() if name.endswith(".csv"))
        assert csv_bytes.startswith(b"\xef\xbb\xbf") and csv_bytes.decode("utf-8-sig").count("Kota Surakarta") == 6


def test_cli_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "c.db"

    async def seed() -> None:
        db = await open_database(db_path)
        now = datetime.now(UTC).replace(microsecond=0)
        await put(db, now - timedelta(days=1), SOLO, ("kebakaran",), title="Kebakaran di Solo")
        await put(db, now - timedelta(days=2), BANDUNG, ("banjir",), title="Banjir di Bandung")
        await put(db, now - timedelta(days=20), SOLO, ("kebakaran",), title="Kebakaran lama")
        await db.close()

    asyncio.run(seed())
    monkeypatch.setenv("PANTAU_DB", str(db_path))
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--since", "7d", "--city", "Solo", "--format", "jsonl"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and '"Kebakaran di Solo"' in out[0]
    cases = tmp_path / "cases.csv"
    assert main(["export", "--since", "30d", "--case", "banjir", "--case", "kebakaran", "-o", str(cases)]) == 0
    assert len(cases.read_text(encoding="utf-8-sig").splitlines()) == 4
    target = tmp_path / "all.xlsx"
    assert main(["export", "--since", "30d", "--format", "xlsx", "-o", str(target)]) == 0
    assert len(list(load_workbook(target).active.iter_rows())) == 4  # type: ignore[union-attr]
    assert main(["export", "--since", "soon"]) == 2
    assert "--since" in capsys.readouterr().err
    assert main(["export", "--city", "Atlantis"]) == 2


async def test_brief_is_never_folded_into_a_digest(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.clock.now = T0
        await h.text(1, "/langganan Solo")
        await report_store.queue_brief(h.db, 1, day="2026-12-01", period_end=T0, thread_id=None, now=T0)
        for n in range(8):  # more alerts than the digest threshold, queued with the brief
            await publish(h.db, new_article(500 + n, classification(SOLO, ("kebakaran",))), now=T0)
        await put(h.db, T0 - timedelta(hours=2), SOLO, ("kebakaran",))
        sender = Sender(
            h.db, h.app.bot, policy=PacingPolicy(overall_rate=1000, private_interval=0.0), wall_clock=h.clock
        )
        await sender.drain()
        assert len(h.core.uploads("sendPhoto", 1)) == 1
        texts = h.core.texts(1)[1:]  # after the /langganan reply
        assert len(texts) == 1 and texts[0].count("berita.example/5") == 8  # the alerts: one digest
        async with h.db.conn.execute("SELECT kind, status, digest FROM deliveries ORDER BY id") as cursor:
            rows = [tuple(r) for r in await cursor.fetchall()]
        assert rows[0] == ("brief", "sent", 0) and rows[1:] == [("alert", "sent", 1)] * 8
