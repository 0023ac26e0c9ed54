"""What a first-week user trips over (issue 11), in-process: real Updates → handlers → fake Bot API → sender."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from chat_fixtures import ADMIN_ID, NOW, SOLO, Harness, classification, harness, new_article, publish
from fake_botapi import callback_payload, message_payload, my_chat_member_payload

from bot.delivery.sender import Sender
from bot.models import Place, Sentiment
from storage import button_state
from storage import deliveries as delivery_store
from storage import feeds as feed_store
from storage import subscriptions as sub_store
from storage.db import open_database
from storage.schema import MIGRATIONS

USER = 42
FORUM = -100500
KLATEN = Place(name="Kabupaten Klaten", code="33.10", province="Jawa Tengah")


class Ticking:
    """A monotonic clock that moves a second per reading, so group pacing (20/min) does not slow the test."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


async def deliver(h: Harness) -> None:
    await Sender(h.db, h.app.bot, clock=Ticking(), wall_clock=h.clock).drain()


def picker_prefix(h: Harness, chat_id: int) -> str:
    """ "pk:<token>" of the picker the bot just sent to the chat."""
    keyboard = h.core.sent(chat_id)[-1]["reply_markup"]["inline_keyboard"]
    return str(keyboard[0][0]["callback_data"]).rsplit(":", 1)[0]


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


async def test_forum_story_reaches_every_topic_whose_subscription_matches(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.core.admins[FORUM] = {7}
        await h.text(FORUM, "/langganan Klaten", user_id=7, thread_id=42)
        await h.text(FORUM, "/langganan Klaten", user_id=7, thread_id=43)
        await h.text(FORUM, "/langganan banjir", user_id=7, thread_id=44)
        await h.text(FORUM, "/langganan kebakaran", user_id=7, thread_id=45)
        place = KLATEN
        result = await publish(h.db, new_article(1, classification(place, ["banjir"]), title="Banjir di Klaten"))
        assert result.queued == 3
        before = len(h.core.sent(FORUM))
        await deliver(h)
        alerts = h.core.sent(FORUM)[before:]
        assert sorted(a["message_thread_id"] for a in alerts) == [42, 43, 44]
        assert all("Banjir di Klaten" in a["text"] for a in alerts)
        by_topic = {a["message_thread_id"]: a["text"] for a in alerts}
        assert "Cocok: Kabupaten Klaten" in by_topic[42] and "Cocok: semua wilayah · banjir" in by_topic[44]
        # The same story again (another feed) is not sent twice to any topic.
        assert (await publish(h.db, new_article(1, classification(place, ["banjir"])))).queued == 0


async def test_outbox_from_before_topics_is_upgraded_keeping_rows(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    raw = sqlite3.connect(path)
    raw.executescript(f"{MIGRATIONS[1]}\n{MIGRATIONS[2]}\nPRAGMA user_version = 2;")  # type: ignore[str-bytes-safe]
    stamp = "2024-12-01T00:00:00+00:00"
    raw.execute("INSERT INTO chats (id, created_at, updated_at) VALUES (-5, ?, ?)", (stamp, stamp))
    raw.execute(
        "INSERT INTO articles (link, url, title, fetched_at, sentiment, confidence)"
        " VALUES ('l', 'u', 't', ?, 'neutral', 50)",
        (stamp,),
    )
    raw.execute(
        "INSERT INTO deliveries (chat_id, article_id, thread_id, reason, next_attempt_at, created_at)"
        " VALUES (-5, 1, 42, 'r', ?, ?)",
        (stamp, stamp),
    )
    raw.commit()
    raw.close()
    db = await open_database(path)
    try:
        async with db.conn.execute("SELECT chat_id, thread_id, reason, status FROM deliveries") as cur:
            assert [tuple(r) for r in await cur.fetchall()] == [(-5, 42, "r", "pending")]
        async with db.transaction() as conn:
            insert = (
                "INSERT OR IGNORE INTO deliveries (chat_id, article_id, thread_id, next_attempt_at, created_at)"
                " VALUES (-5, 1, ?, ?, ?)"
            )
            assert (await conn.execute(insert, (43, stamp, stamp))).rowcount == 1  # another topic
            assert (await conn.execute(insert, (42, stamp, stamp))).rowcount == 0  # same topic
            assert (await conn.execute(insert, (None, stamp, stamp))).rowcount == 1  # the chat itself
            assert (await conn.execute(insert, (None, stamp, stamp))).rowcount == 0  # NULL collides too
    finally:
        await db.close()


async def test_pause_holds_news_and_resume_brings_it_as_one_digest(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER, "/langganan Solo")
        [paused] = await h.text(USER, "/jeda")
        assert "ditahan" in paused and "ringkasan" in paused
        [again] = await h.text(USER, "/jeda")
        assert "tidak ada yang berubah" in again
        result = await publish(h.db, *[new_article(n, classification(SOLO), title=f"Solo {n}") for n in range(1, 9)])
        assert result.queued == 8
        await deliver(h)
        assert len(h.core.texts(USER)) == 3  # only the replies
        [listing] = await h.text(USER, "/daftar")
        assert "dijeda" in listing and "/lanjut" in listing
        [resumed] = await h.text(USER, "/lanjut")
        assert "8 berita yang ditahan" in resumed and "ringkasan" in resumed
        before = len(h.core.texts(USER))
        await deliver(h)
        [digest] = h.core.texts(USER)[before:]
        assert all(f"Solo {n}" in digest for n in range(1, 9))
        [not_paused] = await h.text(USER, "/lanjut")
        assert "tidak sedang dijeda" in not_paused


async def test_timed_pause_ends_by_itself(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER, "/langganan Solo")
        [paused] = await h.text(USER, "/jeda 2 jam")
        assert "dijeda sampai 18 Des 2024 08.23 WIB" in paused
        [bad] = await h.text(USER, "/jeda besok pagi")
        assert "tidak dimengerti" in bad and "/jeda 2 jam" in bad
        await publish(h.db, new_article(1, classification(SOLO), title="Solo satu"))
        await deliver(h)
        assert not any("Solo satu" in t for t in h.core.texts(USER))
        assert await delivery_store.next_attempt_at(h.db) == h.clock.now + timedelta(hours=2)
        h.clock.advance(2 * 3600 + 1)
        await deliver(h)
        assert "Solo satu" in h.core.texts(USER)[-1]


async def test_picker_prompt_in_a_group_replies_to_the_admin_and_a_region_is_added_at_once(tmp_path: Path) -> None:
    group = -100777
    async with harness(tmp_path) as h:
        h.core.admins[group] = {7}
        command = message_payload(group, "/langganan", user_id=7)
        await h.send({"message": command})
        pk = picker_prefix(h, group)
        await h.send({"callback_query": callback_payload(group, f"{pk}:find", message_id=1, user_id=7)})
        prompt = h.core.calls_of("sendMessage")[-1].params
        assert prompt["reply_markup"]["force_reply"] is True and prompt["reply_markup"]["selective"] is True
        assert prompt["reply_parameters"]["message_id"] == command["message_id"]
        [added] = await h.text(group, "Solo Raya", user_id=7)
        assert "Ditambahkan: Kota Surakarta, Kabupaten Boyolali" in added
        await h.send({"callback_query": callback_payload(group, f"{pk}:ok", message_id=1, user_id=7)})
        [sub] = await sub_store.list_subscriptions(h.db, group)
        assert len(sub.filter.area_codes) == 7


@pytest.mark.parametrize("words", ["-", '""', '"', "-Solo", '-"jalan tol"', "dan atau"])
async def test_a_filter_without_a_filter_word_is_refused(tmp_path: Path, words: str) -> None:
    async with harness(tmp_path) as h:
        [refused] = await h.text(USER, f"/langganan {words}")
        assert "paling sedikit satu" in refused
        assert await sub_store.list_subscriptions(h.db, USER) == []


async def test_a_nationwide_every_case_subscription_needs_a_yes(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        [question] = await h.text(USER, "/langganan negatif")
        assert "seluruh Indonesia" in question and "Simpan juga?" in question
        assert await sub_store.list_subscriptions(h.db, USER) == []
        buttons = h.core.sent(USER)[-1]["reply_markup"]["inline_keyboard"][0]
        ok, cancel = (b["callback_data"] for b in buttons)
        assert re.fullmatch(r"bs:[A-Za-z0-9_-]{8}:ok", ok) and cancel == ok.replace(":ok", ":x")
        # Kept in the database, not in this process's memory: any bot instance can take the press.
        assert await button_state.get(h.db, ok.split(":")[1], chat_id=USER, kind="bs") is not None
        await h.send({"callback_query": callback_payload(USER, ok, message_id=1)})
        [sub] = await sub_store.list_subscriptions(h.db, USER)
        assert not sub.filter.area_codes and not sub.filter.cases
        assert "disimpan" in h.core.calls_of("editMessageText")[-1].params["text"]
        # Cancelled: nothing saved; pressing again: expired.
        await h.text(USER, "/langganan positif")
        ok, cancel = (b["callback_data"] for b in h.core.sent(USER)[-1]["reply_markup"]["inline_keyboard"][0])
        await h.send({"callback_query": callback_payload(USER, cancel, message_id=1)})
        assert "Tidak ada yang disimpan" in h.core.calls_of("editMessageText")[-1].params["text"]
        await h.send({"callback_query": callback_payload(USER, ok, message_id=1)})
        assert h.core.calls_of("answerCallbackQuery")[-1].params.get("show_alert") is True
        assert len(await sub_store.list_subscriptions(h.db, USER)) == 1
        # Narrow enough needs no question.
        [saved] = await h.text(USER, "/langganan kecelakaan")
        assert "disimpan" in saved


async def test_empty_picker_is_refused_and_a_broad_one_asks(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER, "/langganan")
        pk = picker_prefix(h, USER)
        await h.send({"callback_query": callback_payload(USER, f"{pk}:ok", message_id=1)})
        answer = h.core.calls_of("answerCallbackQuery")[-1].params
        assert answer.get("show_alert") is True and "Pilih paling sedikit satu" in answer["text"]
        await h.send({"callback_query": callback_payload(USER, f"{pk}:s:neg", message_id=1)})
        await h.send({"callback_query": callback_payload(USER, f"{pk}:ok", message_id=1)})
        question = h.core.calls_of("editMessageText")[-1].params
        assert "seluruh Indonesia" in question["text"]
        assert await sub_store.list_subscriptions(h.db, USER) == []
        ok = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        await h.send({"callback_query": callback_payload(USER, ok, message_id=1)})
        assert len(await sub_store.list_subscriptions(h.db, USER)) == 1


async def test_stats_counts_every_failing_feed(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        for n in range(19):
            feed = await feed_store.add_feed(h.db, f"https://f{n}.example/rss", now=h.clock.now)
            await feed_store.record_failure(h.db, feed.id, now=h.clock.now, error="HTTP 500", next_check_at=h.clock.now)
        [stats] = await h.text(ADMIN_ID, "/stats")
        assert "19 total, 19 bermasalah" in stats
        assert "dan 14 feed bermasalah lain" in stats


async def test_province_wide_story_reaches_the_province_not_its_kab_kota(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER, "/langganan DKI Jakarta")
        await h.text(USER + 1, "/langganan Jakarta Pusat")
        await h.text(USER + 2, "/langganan pemilu")
        await h.text(USER + 3, "/langganan Jabodetabek")
        pilkada = classification(None, ["pemilu"], Sentiment.NEUTRAL)
        pilkada = dataclasses.replace(pilkada, province="DKI Jakarta")
        article = new_article(1, pilkada, title="KPU DKI Jakarta Tetapkan Hasil Rekapitulasi Pilkada Gubernur")
        assert (await publish(h.db, article)).queued == 3
        await deliver(h)
        [alert] = h.core.texts(USER)[1:]
        assert "Cocok: Provinsi DKI Jakarta (seluruh provinsi)" in alert
        assert len(h.core.texts(USER + 1)) == 1  # only the reply: a Kab/Kota subscription does not get it
        assert len(h.core.texts(USER + 2)) == 2 and len(h.core.texts(USER + 3)) == 2
        [latest] = await h.text(USER, "/terbaru DKI Jakarta")
        assert "Rekapitulasi Pilkada" in latest
        [none] = await h.text(USER, "/terbaru Jakarta Pusat")
        assert "Rekapitulasi Pilkada" not in none


async def test_search_or_and_newest_first_across_pages(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        # Stored in an order unlike their news time: ids and dates disagree.
        hours = [5, 1, 9, 3, 7, 2, 8, 6, 4, 10, 0]
        articles = []
        for n, hour in enumerate(hours, start=1):
            word = "banjir" if n % 2 else "kebakaran"
            when = NOW - timedelta(hours=hour)
            articles.append(new_article(n, classification(SOLO), title=f"{word} jam {hour}", published=when))
        await publish(h.db, *articles)
        await publish(h.db, new_article(99, classification(SOLO), title="Longsor di Wonogiri"))
        [first] = await h.text(USER, "/cari banjir OR kebakaran")
        assert "Longsor" not in first
        buttons = h.core.sent(USER)[-1]["reply_markup"]["inline_keyboard"][0]
        shown = [f"jam {hour}<" for hour in sorted(hours)]
        pages = [first]
        while buttons and buttons[-1]["text"].startswith("Berikutnya"):
            await h.send({"callback_query": callback_payload(USER, buttons[-1]["callback_data"], message_id=1)})
            edit = h.core.calls_of("editMessageText")[-1].params
            pages.append(edit["text"])
            buttons = (edit.get("reply_markup") or {"inline_keyboard": [[]]})["inline_keyboard"][0]
        text = "".join(pages)
        positions = [text.index(label) for label in shown]
        assert positions == sorted(positions)  # newest first, page after page
        [atau] = await h.text(USER, "/cari banjir atau longsor")
        assert "Longsor di Wonogiri" in atau and "banjir jam 0" in atau and "kebakaran" not in atau


async def test_private_text_and_unknown_commands_get_a_hint(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        [solo] = await h.text(USER, "Solo")
        assert "Mau berlangganan berita Kota Surakarta" in solo and "<code>/langganan Solo</code>" in solo
        [halo] = await h.text(USER, "halo")
        assert "/langganan Solo kecelakaan" in halo
        [foo] = await h.text(USER, "/foo")
        assert "/foo tidak dikenal" in foo
        assert await h.text(-100900, "halo semua", user_id=7) == []  # groups talk among themselves
        assert await h.text(-100900, "/foo", user_id=7) == []  # maybe another bot's command


async def test_added_to_a_group_the_bot_says_who_manages_it(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.send({"my_chat_member": my_chat_member_payload(-100901, "left", "member")})
        [greeting] = h.core.texts(-100901)
        assert "Admin grup" in greeting and "/langganan" in greeting


async def test_latest_without_words_follows_the_chats_subscriptions(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await publish(
            h.db,
            new_article(1, classification(SOLO, ["banjir"]), title="Banjir di Solo"),
            new_article(2, classification(KLATEN, ["kebakaran"]), title="Kebakaran di Klaten"),
        )
        [everything] = await h.text(USER, "/terbaru")  # no subscriptions yet: all news
        assert "Banjir di Solo" in everything and "Kebakaran di Klaten" in everything
        await h.text(USER, "/langganan Klaten")
        [mine] = await h.text(USER, "/terbaru")
        assert "Kebakaran di Klaten" in mine and "Banjir di Solo" not in mine
        assert "langganan chat ini" in mine
        button = h.core.sent(USER)[-1]["reply_markup"]["inline_keyboard"][-1][0]
        assert button["text"].startswith("🌐")
        await h.send({"callback_query": callback_payload(USER, button["callback_data"], message_id=1)})
        assert "Banjir di Solo" in h.core.calls_of("editMessageText")[-1].params["text"]


async def test_a_place_only_named_says_so_in_the_reason(tmp_path: Path) -> None:
    subang = Place(name="Kabupaten Subang", code="32.13", province="Jawa Barat")
    async with harness(tmp_path) as h:
        await h.text(USER, "/langganan Klaten")
        crash = classification(subang, ["kecelakaan"], others=[KLATEN])
        await publish(h.db, new_article(1, crash, title="Warga Klaten tewas dalam kecelakaan di Subang"))
        await deliver(h)
        assert "Cocok: Kabupaten Klaten (disebut; lokasi kejadian Kabupaten Subang)" in h.core.texts(USER)[-1]


async def test_small_things(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER + 9, "/langganan Bandung")  # another chat's subscription takes row id 1
        [first] = await h.text(USER, "/langganan Solo")
        assert "Langganan <b>#1</b> disimpan" in first  # numbers are per chat
        await h.text(USER, "/langganan Klaten")
        await h.text(USER, "/langganan banjir")
        [both] = await h.text(USER, "/berhenti 1 3")
        assert "#1, #3 dihapus" in both
        [listing] = await h.text(USER, "/daftar")
        assert "<b>#2</b> — Kabupaten Klaten" in listing and "#1" not in listing
        [missing] = await h.text(USER, "/berhenti 2 7")
        assert "#2 dihapus" in missing and "Tidak ada langganan #7" in missing
        [none] = await h.text(USER, "/berhenti all")
        assert "tidak ada yang berubah" in none and "0 langganan" not in none
        [again] = await h.text(USER, "/langganan Solo")
        assert "#1" in again  # numbering starts over in an empty chat
        for url in ("ftp://contoh.id/rss", "file:///etc/passwd", "javascript:alert(1)"):
            [refused] = await h.text(ADMIN_ID, f"/addfeed {url}")
            assert "hanya alamat http:// atau https://" in refused
        long_title = "Kata " * 300
        await publish(h.db, new_article(1, classification(SOLO), title=long_title))
        await deliver(h)
        alert = h.core.texts(USER)[-1]
        assert alert.count("Kata") < 60 and "…" in alert.split("</a>")[0]


async def test_existing_subscriptions_get_per_chat_numbers_on_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    raw = sqlite3.connect(path)
    raw.executescript("\n".join(str(MIGRATIONS[v]) for v in (1, 2, 3, 4)) + "\nPRAGMA user_version = 4;")
    stamp = "2024-12-01T00:00:00+00:00"
    for chat in (-1, -2, -1):
        raw.execute("INSERT OR IGNORE INTO chats (id, created_at, updated_at) VALUES (?, ?, ?)", (chat, stamp, stamp))
        raw.execute(
            "INSERT INTO subscriptions (chat_id, any_area, any_case, created_at) VALUES (?, 1, 1, ?)", (chat, stamp)
        )
    raw.commit()
    raw.close()
    db = await open_database(path)
    try:
        assert [s.number for s in await sub_store.list_subscriptions(db, -1)] == [1, 2]
        assert [s.number for s in await sub_store.list_subscriptions(db, -2)] == [1]
    finally:
        await db.close()
