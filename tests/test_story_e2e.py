"""Done-when of issue #10 through `pantau run`: three outlets' feeds (loopback) carry one warehouse fire in
Solo, one of them also a second, distinct fire of the same city and case. A `Solo kebakaran` subscriber
gets exactly two alerts, and the first is edited in place to name the other two outlets. PTB's real HTTP
stack against the fake Bot API on 127.0.0.1; every feed text is written for this test."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fake_botapi import TOKEN, FakeBotAPIServer
from feed_server import FeedServer
from test_telegram_e2e import Pantau, db_value, wait_for

from tests.processes import service_environ

USER = 5151
DATE_OLD = "Mon, 16 Dec 2024 08:00:00 +0700"


def rss(channel: str, items: list[tuple[str, str, str, str]]) -> bytes:
    body = "".join(
        f"<item><guid>{guid}</guid><link>https://{channel.lower().replace(' ', '')}.example/{guid}</link>"
        f"<title>{title}</title><description>{text}</description><pubDate>{date}</pubDate></item>"
        for guid, title, text, date in items
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{channel}</title>'
        f"{body}</channel></rss>"
    ).encode()


# Something each feed already had before the test: remembered on the first poll, alerted to nobody.
OLD = {
    "Warta Solo": ("ws-old", "Wali Kota Solo Resmikan Taman Baru", "SOLO — Taman baru diresmikan.", DATE_OLD),
    "Kabar Jateng": ("kj-old", "Festival Kuliner di Semarang Ramai", "SEMARANG — Festival kuliner.", DATE_OLD),
    "Nusantara Daring": ("nd-old", "Harga Cabai di Klaten Turun", "KLATEN — Harga cabai turun.", DATE_OLD),
}
FIRE = {
    "Warta Solo": (
        "ws-1",
        "Gudang Mebel di Pasar Kliwon Solo Terbakar",
        "SOLO — Sebuah gudang mebel di Kelurahan Semanggi, Kecamatan Pasar Kliwon, Kota Surakarta, terbakar "
        "Selasa (17/12/2024) dini hari. Empat unit mobil pemadam dikerahkan untuk menjinakkan api.",
        "Tue, 17 Dec 2024 03:10:00 +0700",
    ),
    "Kabar Jateng": (
        "kj-1",
        "Api Lalap Gudang Mebel Semanggi, Empat Mobil Damkar Dikerahkan",
        "SURAKARTA — Kebakaran melanda gudang mebel di Semanggi, Pasar Kliwon, Solo, Selasa dini hari. Petugas "
        "damkar mengerahkan empat unit mobil pemadam untuk memadamkan api di gudang mebel tersebut.",
        "Tue, 17 Dec 2024 03:40:00 +0700",
    ),
    "Nusantara Daring": (
        "nd-1",
        "Kebakaran Gudang Mebel di Pasar Kliwon, Kerugian Ditaksir Ratusan Juta",
        "SOLO — Gudang mebel di Semanggi, Pasar Kliwon, Kota Surakarta, ludes terbakar Selasa dini hari. Empat "
        "mobil pemadam dikerahkan; kerugian pemilik gudang mebel ditaksir ratusan juta rupiah.",
        "Tue, 17 Dec 2024 04:05:00 +0700",
    ),
}
HOUSE_FIRE = (
    "kj-2",
    "Rumah Warga di Nusukan Solo Terbakar Akibat Korsleting",
    "SOLO — Sebuah rumah warga di Kelurahan Nusukan, Kecamatan Banjarsari, Kota Surakarta, terbakar Selasa "
    "siang. Api diduga berasal dari korsleting listrik di dapur.",
    "Tue, 17 Dec 2024 12:30:00 +0700",
)


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def outlets_named(text: str) -> list[str]:
    line = next((ln for ln in text.split("\n") if ln.startswith("Juga diberitakan")), "")
    return [part.split(">", 1)[1].split("<", 1)[0] for part in line.split("<a ")[1:]]


async def test_three_outlets_one_incident_plus_another_give_two_alerts_the_first_edited(tmp_path: Path) -> None:
    db_path = tmp_path / "pantau.db"
    paths = {name: f"/{name.lower().replace(' ', '-')}.xml" for name in OLD}
    with FeedServer() as feeds:
        routes = {name: feeds.route(path, body=rss(name, [OLD[name]])) for name, path in paths.items()}
        async with FakeBotAPIServer() as api:
            core = api.core
            core.unchanged_edit_fails = True
            env = service_environ(
                db_path,
                api_base_url=api.base_url,
                token=TOKEN,
                PANTAU_POLL_INTERVAL="1",
                PANTAU_EDIT_INTERVAL="2",
                PANTAU_MAX_ALERT_AGE="0",  # the items are dated December 2024
                PANTAU_LOG_LEVEL="INFO",
            )
            bot = Pantau(env, tmp_path / "pantau.log")
            for path in paths.values():
                # Links name *.example: no article pages are fetched.
                await bot.cli("feeds", "add", feeds.url(path), "--full-text", "never")
            await bot.start()
            try:
                await wait_for(lambda: bool(core.calls_of("getUpdates")), 30, "getUpdates")
                core.push_text(USER, "/start")
                core.push_text(USER, "/subscribe Solo kebakaran")
                await wait_for(lambda: len(core.texts(USER)) >= 2, 20, "replies to /start and /subscribe")
                assert "Kota Surakarta · kasus kebakaran" in core.texts(USER)[1]
                await wait_for(
                    lambda: db_value(db_path, "SELECT min(initial_polled) FROM feeds") == 1, 20, "first polls"
                )

                # The first outlet reports the fire: one alert.
                routes["Warta Solo"].body = rss("Warta Solo", [FIRE["Warta Solo"], OLD["Warta Solo"]])
                await wait_for(lambda: len(core.texts(USER)) >= 3, 30, "the first alert")
                first = core.sent(USER)[2]
                assert "Gudang Mebel di Pasar Kliwon Solo Terbakar" in first["text"]
                assert "Juga diberitakan" not in first["text"]

                # Two more outlets report it; one of them also reports another fire in Solo.
                routes["Kabar Jateng"].body = rss(
                    "Kabar Jateng", [HOUSE_FIRE, FIRE["Kabar Jateng"], OLD["Kabar Jateng"]]
                )
                routes["Nusantara Daring"].body = rss(
                    "Nusantara Daring", [FIRE["Nusantara Daring"], OLD["Nusantara Daring"]]
                )

                def alert_names() -> list[str]:
                    [message_id] = [
                        c.params.get("message_id") for c in core.calls_of("editMessageText") if c.status == 200
                    ][-1:] or [None]
                    text = core.message_text(USER, message_id) if message_id is not None else None
                    return outlets_named(text or "")

                await wait_for(lambda: len(core.texts(USER)) >= 4, 30, "the second incident's alert")
                await wait_for(lambda: sorted(alert_names()) == ["Kabar Jateng", "Nusantara Daring"], 30, "the edits")
                # Settle: every feed polled twice more, nothing left in the outbox.
                hits = {p: feeds.hits[p] for p in paths.values()}
                await wait_for(lambda: all(feeds.hits[p] >= hits[p] + 2 for p in paths.values()), 20, "polls")
                await wait_for(
                    lambda: db_value(db_path, "SELECT count(*) FROM deliveries WHERE status != 'sent'") == 0,
                    20,
                    "outbox drained",
                )
                await asyncio.sleep(2.5)  # longer than the edit interval: a late edit or alert would show
            finally:
                code = await bot.stop()
            assert code == 0

    alerts = core.sent(USER)[2:]
    assert len(alerts) == 2, [a["text"][:80] for a in alerts]
    fire, house = alerts
    assert "Rumah Warga di Nusukan Solo Terbakar" in house["text"]
    assert "Juga diberitakan" not in house["text"]
    assert "reply_parameters" not in fire and "reply_parameters" not in house
    # Every edit targeted the first alert; its text now names the two other outlets, linked.
    edits = core.edits(USER)
    assert 1 <= len(edits) <= 2
    fire_id = {e["message_id"] for e in edits}
    assert len(fire_id) == 1
    final = core.message_text(USER, fire_id.pop())
    assert final is not None and final.startswith(fire["text"].split("\n")[0])
    assert sorted(outlets_named(final)) == ["Kabar Jateng", "Nusantara Daring"]
    assert "https://kabarjateng.example/kj-1" in final and "https://nusantaradaring.example/nd-1" in final
    assert db_value(db_path, "SELECT count(*) FROM stories WHERE reports = 3") == 1
    log = (tmp_path / "pantau.log").read_text()
    assert TOKEN.split(":")[1] not in log
