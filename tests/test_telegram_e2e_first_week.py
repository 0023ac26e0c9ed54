"""End to end through `pantau run` (subprocess, PTB's real HTTP stack, fake Bot API and a feed server on
127.0.0.1) for what a first-week user tripped over (issue 11): forum topics, pause and resume, region
aliases, the empty filter, English case words, /cari with OR and its order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fake_botapi import TOKEN, FakeBotAPIServer
from feed_server import FeedServer
from test_telegram_e2e import Pantau, db_value, rss, wait_for

from tests.processes import service_environ

FORUM, ADMIN = -100123, 7
ANALYST, SKEPTIC = 5001, 5002

OLD = ("old", "Pasar murah di Solo", "SOLO - Pasar murah digelar di Kota Surakarta.", "Mon, 16 Dec 2024 08:00:00 +0700")
NEW = [  # newest first, as feeds list them
    (
        "n8",
        "Demo buruh di Bandung",
        "BANDUNG - Ratusan buruh berunjuk rasa di depan Gedung Sate, Kota Bandung.",
        "Tue, 17 Dec 2024 08:40:00 +0700",
    ),
    (
        "n7",
        "Longsor tutup jalan di Wonogiri",
        "WONOGIRI - Tanah longsor menutup jalan desa di Kabupaten Wonogiri.",
        "Tue, 17 Dec 2024 08:35:00 +0700",
    ),
    (
        "n6",
        "Pasar murah di Sukoharjo",
        "SUKOHARJO - Pemkab Sukoharjo menggelar pasar murah bagi warga.",
        "Tue, 17 Dec 2024 08:30:00 +0700",
    ),
    (
        "n5",
        "Festival kuliner digelar di Solo",
        "SOLO - Festival kuliner digelar di Kota Surakarta dan dipadati pengunjung.",
        "Tue, 17 Dec 2024 08:25:00 +0700",
    ),
    (
        "n4",
        "Pencurian motor marak di Solo",
        "SOLO - Polisi menangkap pelaku pencurian sepeda motor di Kota Surakarta.",
        "Tue, 17 Dec 2024 08:20:00 +0700",
    ),
    (
        "n3",
        "Kebakaran gudang mebel di Solo",
        "SOLO - Kebakaran melanda gudang mebel di Kota Surakarta. Api dipadamkan setelah dua jam.",
        "Tue, 17 Dec 2024 08:15:00 +0700",
    ),
    (
        "n2",
        "Truk tabrak motor di Klaten, pengendara tewas",
        "KLATEN - Sebuah truk menabrak sepeda motor di jalan raya Kabupaten Klaten. Pengendara motor meninggal.",
        "Tue, 17 Dec 2024 08:10:00 +0700",
    ),
    (
        "n1",
        "Banjir rendam puluhan rumah di Klaten",
        "KLATEN - Banjir merendam puluhan rumah warga di Kabupaten Klaten setelah hujan deras semalaman.",
        "Tue, 17 Dec 2024 08:05:00 +0700",
    ),
]
SOLO_RAYA_TITLES = [title for guid, title, _, _ in NEW if guid != "n8"]


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


async def test_first_week_fixes_through_pantau_run(tmp_path: Path) -> None:
    db_path = tmp_path / "pantau.db"
    with FeedServer() as feeds:
        route = feeds.route("/warta.xml", body=rss([OLD]))
        async with FakeBotAPIServer() as api:
            core = api.core
            core.admins[FORUM] = {ADMIN}
            env = service_environ(
                db_path,
                api_base_url=api.base_url,
                token=TOKEN,
                PANTAU_POLL_INTERVAL="1",
                PANTAU_MAX_ALERT_AGE="0",  # the stories are dated December 2024
            )
            bot = Pantau(env, tmp_path / "pantau.log")
            await bot.cli("feeds", "add", feeds.url("/warta.xml"), "--name", "Warta")
            await bot.start()
            try:
                await wait_for(lambda: bool(core.calls_of("getUpdates")), 30, "getUpdates")

                # Forum topics: two topics follow Klaten, a third follows floods.
                for topic, words in ((42, "Klaten"), (43, "Klaten"), (44, "banjir")):
                    core.push_text(FORUM, f"/langganan {words}", user_id=ADMIN, thread_id=topic)
                # Region alias, then a pause that holds.
                core.push_text(ANALYST, "/langganan Soloraya")
                core.push_text(ANALYST, "/jeda")
                # The empty filter is refused; English case words are understood.
                core.push_text(SKEPTIC, "/langganan -")
                core.push_text(SKEPTIC, "/langganan Klaten accident")
                await wait_for(lambda: len(core.texts(FORUM)) >= 3 and len(core.texts(SKEPTIC)) >= 2, 20, "replies")
                await wait_for(lambda: len(core.texts(ANALYST)) >= 2, 20, "analyst replies")

                region, paused = core.texts(ANALYST)[:2]
                assert "Soloraya → Kota Surakarta, Kabupaten Boyolali" in region and "Kabupaten Klaten" in region
                assert "Simalungun" not in region
                assert "ditahan" in paused
                refused, english = core.texts(SKEPTIC)[:2]
                assert "paling sedikit satu" in refused
                assert "Kabupaten Klaten · kasus kecelakaan" in english

                await wait_for(lambda: db_value(db_path, "SELECT initial_polled FROM feeds") == 1, 20, "first poll")
                route.body = rss(NEW + [OLD])

                # Topic 42 and 43 get both Klaten stories, 44 the flood: one message per matching topic.
                # Group pacing alone spaces 8 sends over ~21 s; the bound leaves room for a loaded machine.
                await wait_for(lambda: len(core.sent(FORUM)) >= 8, 90, "forum alerts")
                await wait_for(lambda: len(core.texts(SKEPTIC)) >= 3, 20, "the accident alert")
                forum = core.sent(FORUM)[3:]
                by_topic: dict[int, list[str]] = {}
                for message in forum:
                    by_topic.setdefault(message["message_thread_id"], []).append(message["text"])
                assert {t: len(v) for t, v in by_topic.items()} == {42: 2, 43: 2, 44: 1}
                assert "Banjir rendam puluhan rumah di Klaten" in by_topic[44][0]
                assert "Truk tabrak motor di Klaten" in core.texts(SKEPTIC)[2]

                # The paused analyst got nothing yet; /lanjut brings the seven held stories as one digest.
                await asyncio.sleep(1.5)
                assert len(core.texts(ANALYST)) == 2
                assert db_value(db_path, f"SELECT count(*) FROM deliveries WHERE chat_id = {ANALYST}") == 7
                core.push_text(ANALYST, "/lanjut")
                await wait_for(lambda: len(core.texts(ANALYST)) >= 4, 20, "resume and the digest")
                resumed, digest = core.texts(ANALYST)[2:4]
                assert "7 berita yang ditahan" in resumed
                assert all(title in digest for title in SOLO_RAYA_TITLES)

                # /cari: OR, newest first.
                core.push_text(SKEPTIC, "/cari banjir OR kebakaran")
                await wait_for(lambda: len(core.texts(SKEPTIC)) >= 4, 20, "search")
                found = core.texts(SKEPTIC)[3]
                fire, flood = found.index("Kebakaran gudang mebel"), found.index("Banjir rendam puluhan")
                assert fire < flood  # 08.15 before 08.05
                assert "Demo buruh" not in found and "Longsor" not in found
            finally:
                assert await bot.stop() == 0
