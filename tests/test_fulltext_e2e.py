"""End to end through `pantau run` (PTB's real HTTP stack, the fake Bot API) on a teaser-only loopback news
site: the alerts a subscriber receives carry the labels and the lead of the article page, and every page
is fetched exactly once however often the feed is polled."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_botapi import TOKEN, FakeBotAPIServer

from tests.feed_server import FeedServer
from tests.news_site import KLATEN_FIRE, SOLO_FESTIVAL, SRAGEN_GRAFT, NewsSite
from tests.processes import service_environ
from tests.test_telegram_e2e import Pantau, db_value, wait_for

USER = 5151


async def test_pantau_run_alerts_on_the_article_page_not_the_teaser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    db_path = tmp_path / "pantau.db"
    with FeedServer() as server:
        site = NewsSite(server)
        site.publish(SOLO_FESTIVAL)  # already in the feed when it is added: stored, not alerted
        async with FakeBotAPIServer() as api:
            core = api.core
            env = service_environ(
                db_path,
                api_base_url=api.base_url,
                token=TOKEN,
                PANTAU_POLL_INTERVAL="1",
                PANTAU_MAX_ALERT_AGE="0",  # the stories are dated December 2024
                PANTAU_PAGE_TIMEOUT="10",
            )
            bot = Pantau(env, tmp_path / "pantau.log")
            await bot.cli("feeds", "add", site.feed_url)  # --full-text auto, the default
            await bot.start()
            try:
                await wait_for(lambda: bool(core.calls_of("getUpdates")), 30, "getUpdates")
                core.push_text(USER, "/start")
                core.push_text(USER, "/langganan Klaten kebakaran")
                core.push_text(USER, "/langganan Sragen korupsi")
                core.push_text(USER, "/langganan narkoba")  # only the pages' sidebars mention drugs
                await wait_for(lambda: len(core.texts(USER)) >= 4, 20, "replies to /start and /langganan")
                await wait_for(lambda: db_value(db_path, "SELECT initial_polled FROM feeds") == 1, 20, "first poll")

                site.publish(SRAGEN_GRAFT, KLATEN_FIRE)
                await wait_for(lambda: len(core.texts(USER)) >= 6, 40, "two alerts")
                polls = server.hits["/rss"]
                await wait_for(lambda: server.hits["/rss"] >= polls + 2, 20, "two more polls")
            finally:
                assert await bot.stop() == 0
    alerts = core.texts(USER)[4:]
    assert len(alerts) == 2, alerts
    by_title = {alert.split("</a>", 1)[0]: alert for alert in alerts}
    [fire] = [a for t, a in by_title.items() if "Gudang Mebel" in t]
    [graft] = [a for t, a in by_title.items() if "Kepala Desa" in t]
    # Labels only the article page gives: the teasers name neither Klaten nor Sragen.
    assert "Wilayah: Kabupaten Klaten, Jawa Tengah" in fire and "Kasus: Kebakaran" in fire
    assert "KLATEN — Sebuah gudang mebel di Desa Ngawonggo, Kecamatan Ceper, Kabupaten Klaten" in fire
    assert "Wilayah: Kabupaten Sragen, Jawa Tengah" in graft and "Kasus: Korupsi" in graft
    assert "SRAGEN — Kejaksaan Negeri Sragen menetapkan" in graft
    for alert in alerts:
        assert "Jepara" not in alert and "Terpopuler" not in alert and "<p>" not in alert
    # Each page once: the first poll's (not alerted) item included, across every later poll.
    assert site.page_hits() == {SOLO_FESTIVAL.slug: 1, SRAGEN_GRAFT.slug: 1, KLATEN_FIRE.slug: 1}
    assert db_value(db_path, "SELECT count(*) FROM articles WHERE text_source = 'page'") == 3
