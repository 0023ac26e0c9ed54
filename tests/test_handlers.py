"""Handlers end to end in-process: real Update objects → application.process_update → fake Bot API."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from chat_fixtures import (
    ADMIN_ID,
    BANDUNG,
    NOW,
    SOLO,
    SUKOHARJO,
    classification,
    harness,
    new_article,
    publish,
    title_of,
)
from fake_botapi import callback_payload, message_payload, my_chat_member_payload

from bot.delivery.sender import Sender
from bot.ingest.store import store_and_queue
from bot.models import Sentiment
from handlers import texts
from storage import chats as chat_store
from storage import deliveries as delivery_store
from storage import feeds as feed_store
from storage import subscriptions as sub_store

USER = 42


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


async def test_start_subscribe_and_alert_arrives(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        [greeting] = await h.text(USER, "/start")
        assert "Pantau" in greeting and "/langganan" in greeting
        [saved] = await h.text(USER, '/subscribe Solo kecelakaan negatif "jalan tol" -"simulasi"')
        assert "Langganan <b>#1</b> disimpan" in saved
        assert "Kota Surakarta · kasus kecelakaan · sentimen negatif · memuat “jalan tol” · tanpa “simulasi”" in saved
        assert "Solo → Kota Surakarta" in saved

        match = new_article(1, classification(SOLO, ["kecelakaan"]), title="Tabrakan di jalan tol Solo")
        wrong_city = new_article(2, classification(BANDUNG, ["kecelakaan"]), title="Tabrakan di jalan tol Bandung")
        drill = new_article(3, classification(SOLO, ["kecelakaan"]), title="Simulasi tabrakan di jalan tol")
        result = await publish(h.db, match, wrong_city, drill)
        assert result.queued == 1
        await Sender(h.db, h.app.bot, clock=lambda: 0.0, wall_clock=h.clock).drain()
        [alert] = h.core.texts(USER)[2:]
        assert '<b><a href="https://berita.example/1">Tabrakan di jalan tol Solo</a></b>' in alert
        assert "Sentimen: Negatif (yakin)" in alert
        assert "Wilayah: Kota Surakarta, Jawa Tengah" in alert
        assert "Kasus: Kecelakaan" in alert
        assert "18 Des 2024 06.23 WIB" in alert
        assert "Cocok: Kota Surakarta · kecelakaan · negatif · “jalan tol”" in alert
        assert h.core.sent(USER)[-1]["parse_mode"] == "HTML"


async def test_indonesian_aliases_work(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER, "/langganan Jawa Tengah banjir")
        [listing] = await h.text(USER, "/daftar")
        assert "#1" in listing and "Provinsi Jawa Tengah · kasus banjir" in listing
        [gone] = await h.text(USER, "/berhenti 1")
        assert "dihapus" in gone
        assert await sub_store.list_subscriptions(h.db, USER) == []


async def test_unknown_word_names_it_suggests_and_saves_nothing(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        [reply] = await h.text(USER, "/subscribe Surakrta kecelakan")
        assert "“Surakrta” tidak dikenal" in reply and "Kota Surakarta" in reply
        assert "“kecelakan” tidak dikenal" in reply and "kecelakaan" in reply
        assert "Tidak ada yang disimpan" in reply
        assert await sub_store.list_subscriptions(h.db, USER) == []


async def test_same_subscription_twice_is_not_duplicated(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER, "/subscribe Solo kecelakaan")
        [again] = await h.text(USER, "/subscribe kecelakaan Surakarta")
        assert "sudah ada" in again
        assert len(await sub_store.list_subscriptions(h.db, USER)) == 1


async def test_unsubscribe_all_and_bad_ids(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER, "/subscribe Solo")
        await h.text(USER, "/subscribe Bandung")
        [bad] = await h.text(USER, "/unsubscribe 999")
        assert "Tidak ada langganan #999" in bad
        [word] = await h.text(USER, "/unsubscribe abc")
        assert "Tulis nomor langganan" in word
        [done] = await h.text(USER, "/unsubscribe all")
        assert "2 langganan dihapus" in done


async def test_unsubscribe_without_arguments_offers_buttons(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER, "/subscribe Solo")
        await h.text(USER, "/unsubscribe")
        markup = h.core.sent(USER)[-1]["reply_markup"]["inline_keyboard"]
        assert markup[0][0]["callback_data"] == "un:1"
        await h.send({"callback_query": callback_payload(USER, "un:1", message_id=5)})
        assert h.core.calls_of("answerCallbackQuery")
        assert "dihapus" in h.core.calls_of("editMessageText")[-1].params["text"]
        assert await sub_store.list_subscriptions(h.db, USER) == []


async def test_group_only_admins_change_subscriptions(tmp_path: Path) -> None:
    group = -1001
    async with harness(tmp_path) as h:
        h.core.admins[group] = {7}
        [refused] = await h.text(group, "/subscribe Solo", user_id=8)
        assert "hanya admin grup" in refused
        [ok] = await h.text(group, "/subscribe Solo", user_id=7)
        assert "disimpan" in ok
        [listing] = await h.text(group, "/daftar", user_id=8)  # reading is for everyone
        assert "#1" in listing


async def test_forum_topic_subscription_delivers_into_the_topic(tmp_path: Path) -> None:
    group = -1002
    async with harness(tmp_path) as h:
        h.core.admins[group] = {7}
        [saved] = await h.text(group, "/subscribe Solo", user_id=7, thread_id=55)
        assert "topik ini" in saved
        assert h.core.sent(group)[-1]["message_thread_id"] == 55
        await publish(h.db, new_article(1, classification(SOLO, ["kebakaran"])))
        await Sender(h.db, h.app.bot, clock=lambda: 0.0, wall_clock=h.clock).drain()
        assert h.core.sent(group)[-1]["message_thread_id"] == 55
        assert title_of(1) in h.core.sent(group)[-1]["text"]


async def test_pause_and_resume(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER, "/subscribe Solo")
        [paused] = await h.text(USER, "/jeda")
        assert "dijeda sampai /lanjut" in paused and "ditahan" in paused
        assert (await publish(h.db, new_article(1, classification(SOLO)))).queued == 1  # held, not dropped
        await Sender(h.db, h.app.bot, clock=lambda: 0.0, wall_clock=h.clock).drain()
        assert len(h.core.texts(USER)) == 2  # nothing sent during the pause
        [resumed] = await h.text(USER, "/lanjut")
        assert "dilanjutkan" in resumed and "1 berita yang ditahan" in resumed
        await Sender(h.db, h.app.bot, clock=lambda: 0.0, wall_clock=h.clock).drain()
        assert title_of(1) in h.core.texts(USER)[-1]


async def test_blocked_chat_is_deactivated_and_start_reactivates(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER, "/start")
        await h.text(USER, "/subscribe Solo")
        await h.send({"my_chat_member": my_chat_member_payload(USER, "member", "kicked", chat_type="private")})
        chat = await chat_store.get_chat(h.db, USER)
        assert chat is not None and not chat.active
        assert (await publish(h.db, new_article(1, classification(SOLO)))).queued == 0
        [welcome] = await h.text(USER, "/start")
        assert "Selamat datang kembali" in welcome
        assert len(await sub_store.list_subscriptions(h.db, USER)) == 1  # kept while inactive
        assert (await publish(h.db, new_article(2, classification(SOLO)))).queued == 1


async def test_removed_from_group_fails_queued_alerts_with_reason(tmp_path: Path) -> None:
    group = -1003
    async with harness(tmp_path) as h:
        h.core.admins[group] = {7}
        await h.text(group, "/subscribe", user_id=7)  # opens the picker; registers nothing yet
        await h.text(group, "/subscribe Solo", user_id=7)
        await publish(h.db, new_article(1, classification(SOLO)))
        await h.send({"my_chat_member": my_chat_member_payload(group, "member", "left")})
        assert (await delivery_store.count_by_status(h.db)) == {"failed": 1}


async def test_group_migration_message_moves_subscriptions(tmp_path: Path) -> None:
    old, new = -1004, -1009004
    async with harness(tmp_path) as h:
        h.core.admins[old] = {7}
        await h.text(old, "/subscribe Solo", user_id=7)
        payload = message_payload(old, "", user_id=7, chat_type="group")
        payload.pop("text")
        payload["migrate_to_chat_id"] = new
        await h.send({"message": payload})
        assert [s.chat_id for s in await sub_store.list_subscriptions(h.db, new)] == [new]


async def test_picker_toggles_search_and_saves(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER, "/subscribe")
        picker = h.core.sent(USER)[-1]
        keyboard = picker["reply_markup"]["inline_keyboard"]
        datas = [b["callback_data"] for row in keyboard for b in row]
        pk = datas[0].rsplit(":", 1)[0]  # "pk:<token>"
        assert f"{pk}:c:kecelakaan" in datas and f"{pk}:s:neg" in datas and f"{pk}:ok" in datas
        assert all(len(d.encode()) <= 64 for d in datas)
        await h.send({"callback_query": callback_payload(USER, f"{pk}:c:kecelakaan", message_id=1)})
        await h.send({"callback_query": callback_payload(USER, f"{pk}:s:neg", message_id=1)})
        edited = h.core.calls_of("editMessageText")[-1].params
        assert "kasus kecelakaan · sentimen negatif" in edited["text"]
        # Type a city that means one place: added at once, no ➕ to forget.
        [added] = await h.text(USER, "solo")
        assert "Ditambahkan: Kota Surakarta" in added
        assert "Kota Surakarta · kasus kecelakaan" in h.core.calls_of("editMessageText")[-1].params["text"]
        # An ambiguous name: the bot offers buttons for what it found.
        [found] = await h.text(USER, "bandung")
        assert "Hasil untuk “bandung”" in found
        add = h.core.sent(USER)[-1]["reply_markup"]["inline_keyboard"][0][0]
        assert add["text"] == "➕ Kota Bandung" and add["callback_data"] == f"{pk}:a:32.73"
        await h.send({"callback_query": callback_payload(USER, add["callback_data"], message_id=2)})
        await h.send({"callback_query": callback_payload(USER, f"{pk}:ok", message_id=1)})
        final = h.core.calls_of("editMessageText")[-1].params["text"]
        assert "Kota Bandung atau Kota Surakarta · kasus kecelakaan · sentimen negatif" in final and "#1" in final
        [sub] = await sub_store.list_subscriptions(h.db, USER)
        assert sub.filter.area_codes == {"33.72", "32.73"} and sub.filter.sentiments == {Sentiment.NEGATIVE}
        # The draft is gone: pressing again says the buttons expired.
        await h.send({"callback_query": callback_payload(USER, f"{pk}:ok", message_id=1)})
        assert h.core.calls_of("answerCallbackQuery")[-1].params.get("show_alert") is True


async def test_picker_refuses_other_users_in_groups(tmp_path: Path) -> None:
    group = -1005
    async with harness(tmp_path) as h:
        h.core.admins[group] = {7, 8}
        await h.text(group, "/subscribe", user_id=7)
        ok = h.core.sent(group)[-1]["reply_markup"]["inline_keyboard"][-1][0]["callback_data"]
        await h.send({"callback_query": callback_payload(group, ok, message_id=1, user_id=8)})
        assert "Hanya yang membuka" in h.core.calls_of("answerCallbackQuery")[-1].params["text"]
        assert await sub_store.list_subscriptions(h.db, group) == []


async def test_latest_pages_with_buttons(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await publish(h.db, *[new_article(n, classification(SOLO, ["banjir"])) for n in range(1, 8)])
        await publish(h.db, new_article(50, classification(BANDUNG, ["banjir"])))
        [first] = await h.text(USER, "/terbaru Solo banjir")
        assert first.count("Kota Surakarta · Banjir") == 5 and "Bandung" not in first
        buttons = h.core.sent(USER)[-1]["reply_markup"]["inline_keyboard"][0]
        [data] = [b["callback_data"] for b in buttons]
        assert re.fullmatch(r"pg:[A-Za-z0-9_-]{8}:1", data)
        await h.send({"callback_query": callback_payload(USER, data, message_id=1)})
        second = h.core.calls_of("editMessageText")[-1].params["text"]
        assert "halaman 2" in second and second.count("Kota Surakarta · Banjir") == 2


async def test_a_button_pressed_twice_is_no_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The second press of a page button asks Telegram for the text the message already shows; Telegram
    # answers "message is not modified". That is the result the user wanted, not an error to apologise for.
    async with harness(tmp_path) as h:
        await publish(h.db, *[new_article(n, classification(SOLO, ["banjir"])) for n in range(1, 8)])
        await h.text(USER, "/terbaru Solo banjir")
        [data] = [b["callback_data"] for b in h.core.sent(USER)[-1]["reply_markup"]["inline_keyboard"][0]]
        [listing] = [mid for (chat, mid) in h.core.messages if chat == USER]
        for _ in range(2):
            await h.send({"callback_query": callback_payload(USER, data, message_id=listing)})
        assert len(h.core.calls_of("editMessageText")) == 2
        assert h.core.answers() == ["", ""]  # each press answered once, quietly
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_search_full_text(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await publish(
            h.db,
            new_article(1, classification(SOLO), title="Banjir bandang melanda Solo"),
            new_article(2, classification(SOLO), title="Simulasi banjir di Sukoharjo"),
            new_article(3, classification(SOLO), title="Pasar murah"),
        )
        [found] = await h.text(USER, "/cari banjir -simulasi")
        assert "Banjir bandang melanda Solo" in found and "Simulasi" not in found and "Pasar" not in found
        [nothing] = await h.text(USER, '/cari "NEAR(" AND')
        assert "Belum ada berita" in nothing


async def test_cities_and_cases(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        [provinces] = await h.text(USER, "/kota")
        assert "Jawa Tengah" in provinces and len(provinces) <= 4096
        [sura] = await h.text(USER, "/cities Sura")
        assert "Kota Surakarta" in sura and "Kota Surabaya" in sura
        [cases] = await h.text(USER, "/kasus")
        assert "kecelakaan" in cases and "tabrakan" in cases


async def test_admin_commands_and_refusal(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        probed: list[str] = []

        async def probe(url: str) -> None:  # no network in tests; the SSRF guard is tested in test_ssrf.py
            probed.append(url)

        h.services.feed_probe = probe
        [refused] = await h.text(USER, "/addfeed https://contoh.id/rss")
        assert "khusus admin" in refused
        [added] = await h.text(ADMIN_ID, "/addfeed https://contoh.id/rss")
        assert "Feed <b>#1</b> ditambahkan" in added and probed == ["https://contoh.id/rss"]
        [dup] = await h.text(ADMIN_ID, "/addfeed https://contoh.id/rss")
        assert "sudah ada" in dup
        [listing] = await h.text(ADMIN_ID, "/feeds")
        assert "contoh.id/rss" in listing and "belum pernah" in listing and "teks penuh otomatis" in listing
        await publish(h.db, new_article(1, classification(SUKOHARJO, ["kebakaran"])))
        [stats] = await h.text(ADMIN_ID, "/stats")
        assert "Kabupaten Sukoharjo 1" in stats and "Kebakaran 1" in stats and "Antrean" in stats
        [removed] = await h.text(ADMIN_ID, "/removefeed 1")
        assert "dihapus" in removed
        assert await feed_store.list_feeds(h.db) == []


async def test_addfeed_takes_a_full_text_choice(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:

        async def probe(url: str) -> None:  # no network in tests; the SSRF guard is tested in test_ssrf.py
            pass

        h.services.feed_probe = probe
        [always] = await h.text(ADMIN_ID, "/addfeed https://contoh.id/rss selalu")
        assert "ditambahkan" in always and "teks penuh selalu" in always
        [never] = await h.text(ADMIN_ID, "/addfeed https://contoh.id/lain never")
        assert "tanpa teks penuh" in never
        [unknown] = await h.text(ADMIN_ID, "/addfeed https://contoh.id/baru kadang")
        assert "tidak dikenal" in unknown
        [too_many] = await h.text(ADMIN_ID, "/addfeed https://contoh.id/baru selalu lagi")
        assert "Tulis alamat feed lengkap" in too_many
        assert [
            (f.url, f.full_text, f.added_by.startswith("telegram:")) for f in await feed_store.list_feeds(h.db)
        ] == [
            ("https://contoh.id/rss", "always", True),
            ("https://contoh.id/lain", "never", True),
        ]
        [listing] = await h.text(ADMIN_ID, "/feeds")
        assert "teks penuh selalu" in listing and "tanpa teks penuh" in listing


async def test_help_lists_every_command_and_admin_extra(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        [text] = await h.text(USER, "/bantuan")
        for command in (
            "/subscribe",
            "/langganan",
            "/unsubscribe",
            "/daftar",
            "/terbaru",
            "/cari",
            "/kota",
            "/kasus",
            "/jeda",
            "/lanjut",
            "/bisukan",
            "/suarakan",
            "Koreksi",
        ):
            assert command in text
        assert "/addfeed" not in text
        [admin_text] = await h.text(ADMIN_ID, "/help")
        assert "/addfeed" in admin_text and "/stats" in admin_text


async def test_menu_is_registered(tmp_path: Path) -> None:
    import handlers

    async with harness(tmp_path) as h:
        await handlers.set_menu(h.app, frozenset({ADMIN_ID}))
        calls = h.core.calls_of("setMyCommands")
        public = [c["command"] for c in calls[0].params["commands"]]
        assert "subscribe" not in public and "addfeed" not in public and "tambahfeed" not in public
        # One entry per command, by its Indonesian name (English names still work when typed).
        for name in (
            "langganan",
            "daftar",
            "berhenti",
            "terbaru",
            "cari",
            "kota",
            "kasus",
            "jeda",
            "lanjut",
            "bantuan",
        ):
            assert name in public
        assert len(public) == len(set(public)) <= 100  # Telegram's limit
        assert calls[1].params["scope"] == {"type": "chat", "chat_id": ADMIN_ID}
        admin_menu = [c["command"] for c in calls[1].params["commands"]]
        assert "statistik" in admin_menu and "feeds" in admin_menu and len(admin_menu) == len(handlers.COMMANDS)


async def test_channel_posts_manage_the_channel(tmp_path: Path) -> None:
    channel = -1007
    async with harness(tmp_path) as h:
        [saved] = await h.text(channel, "/subscribe Solo banjir", chat_type="channel")
        assert "disimpan" in saved
        chat = await chat_store.get_chat(h.db, channel)
        assert chat is not None and chat.type == "channel"


async def test_command_addressed_to_the_bot_in_a_group_and_anonymous_admin(tmp_path: Path) -> None:
    group = -1008
    async with harness(tmp_path) as h:
        [saved] = await h.text(group, "/subscribe@pantau_test_bot Solo", user_id=7)
        assert "hanya admin grup" in saved  # 7 is not an admin here
        payload = message_payload(group, "/subscribe Solo", user_id=1087968824)
        payload["sender_chat"] = {"id": group, "type": "supergroup", "title": "G"}
        await h.send({"message": payload})
        assert "disimpan" in h.core.texts(group)[-1]
        assert not h.core.calls_of("getChatMember")[1:]  # the anonymous admin needed no lookup


def test_token_never_reaches_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from bot.runtime.telegram_app import TokenRedactor

    token = "123:SECRET-abc"
    handler = logging.StreamHandler()
    redactor = TokenRedactor(token)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url %s", ("https://h/bot123:SECRET-abc/getMe",), None)
    try:
        raise RuntimeError(f"The token `{token}` was rejected")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    assert redactor.filter(record)
    text = handler.format(record)
    assert token not in text and "**********" in text


async def test_picker_and_paging_buttons_survive_a_restart(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await publish(h.db, *[new_article(n, classification(SOLO, ["banjir"])) for n in range(1, 8)])
        await h.text(USER, "/terbaru banjir")
        [page] = [b["callback_data"] for b in h.core.sent(USER)[-1]["reply_markup"]["inline_keyboard"][0]]
        await h.text(USER, "/langganan")
        datas = [b["callback_data"] for row in h.core.sent(USER)[-1]["reply_markup"]["inline_keyboard"] for b in row]
        pk = datas[0].rsplit(":", 1)[0]
        await h.send({"callback_query": callback_payload(USER, f"{pk}:c:banjir", message_id=1)})
    # A new process on the same database (chat_data and every in-memory state are gone).
    async with harness(tmp_path) as h:
        await h.send({"callback_query": callback_payload(USER, page, message_id=1)})
        assert "halaman 2" in h.core.calls_of("editMessageText")[-1].params["text"]
        [found] = await h.text(USER, "solo")  # the picker still waits for a typed city (one place: added at once)
        assert "Ditambahkan: Kota Surakarta" in found
        await h.send({"callback_query": callback_payload(USER, f"{pk}:ok", message_id=1)})
        [sub] = await sub_store.list_subscriptions(h.db, USER)
        assert sub.filter.area_codes == {"33.72"} and sub.filter.cases == {"banjir"}
        assert h.core.answers()[-1] == "Disimpan"


async def test_latest_and_search_show_one_line_per_story_and_open_its_reports(tmp_path: Path) -> None:
    # One fire in Solo reported by three outlets (texts written for this test), and another incident.
    fire = [
        (
            "Warta Solo",
            "Gudang Mebel di Pasar Kliwon Solo Terbakar",
            "SOLO — Gudang mebel di Semanggi, Pasar Kliwon, terbakar dini hari.",
        ),
        (
            "Kabar Jateng",
            "Api Lalap Gudang Mebel Semanggi Pasar Kliwon",
            "SURAKARTA — Gudang mebel di Semanggi, Pasar Kliwon, Solo, terbakar.",
        ),
        (
            "Nusantara Daring",
            "Gudang Mebel Semanggi Ludes Terbakar",
            "SOLO — Kebakaran gudang mebel di Semanggi, Pasar Kliwon, Kota Surakarta.",
        ),
    ]
    async with harness(tmp_path) as h:
        for n, (outlet, title, body) in enumerate(fire, 1):
            item = new_article(n, classification(SOLO, ["kebakaran"]), title=title, body=body)
            await store_and_queue(h.db, None, [item], source=outlet, now=NOW)
        await publish(h.db, new_article(9, classification(SOLO, ["kebakaran"])))
        [listing] = await h.text(USER, "/terbaru Solo kebakaran")
        assert listing.count("Gudang Mebel") == 1 and "— 3 media" in listing
        assert listing.count("\n1. ") == 1 and "\n2. " in listing and "\n3. " not in listing
        keyboard = h.core.sent(USER)[-1]["reply_markup"]["inline_keyboard"]
        [story_button] = keyboard[0]
        assert story_button["callback_data"].startswith("st:") and len(story_button["callback_data"].encode()) <= 64
        [found] = await h.text(USER, "/cari gudang mebel")
        assert found.count("Gudang Mebel") == 1 and "— 3 media" in found
        before = len(h.core.sent(USER))
        await h.send({"callback_query": callback_payload(USER, story_button["callback_data"], message_id=1)})
        [reports] = [p["text"] for p in h.core.sent(USER)[before:]]
        assert "3 berita dari 3 media" in reports
        assert all(outlet in reports for outlet, _, _ in fire)
        await h.send({"callback_query": callback_payload(USER, "st:999999", message_id=1)})
        assert h.core.calls_of("answerCallbackQuery")[-1].params["text"] == texts.EXPIRED
