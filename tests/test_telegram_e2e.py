"""End to end through `pantau run`: a subprocess with PTB's real HTTP stack, the fake Bot API on
127.0.0.1, and a loopback feed server. A user sends /start and /subscribe; the feed publishes matching
and non-matching items; exactly the matching alerts arrive, once each, in order; a restart sends nothing
twice."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_botapi import TOKEN, FakeBotAPIServer
from feed_server import FeedServer

from tests.processes import clean_environ, service_environ

USER = 4242

OLD_ITEM = (
    "old-1",
    "Pasar murah digelar di Solo",
    "SOLO - Pasar murah digelar di Kota Surakarta.",
    "Mon, 16 Dec 2024 08:00:00 +0700",
)
NEW_ITEMS = [  # listed newest first, as feeds do
    (
        "n5",
        "Festival kuliner meriahkan akhir pekan di Solo",
        "SOLO - Festival kuliner digelar di Kota Surakarta dan dipadati pengunjung.",
        "Tue, 17 Dec 2024 08:20:00 +0700",
    ),
    (
        "n4",
        "Bus terguling di Surakarta, 5 penumpang luka",
        "SURAKARTA - Bus antarkota terguling di ruas jalan Surakarta. Lima penumpang mengalami luka dan dibawa "
        "ke rumah sakit.",
        "Tue, 17 Dec 2024 08:15:00 +0700",
    ),
    (
        "n3",
        "Banjir rendam ratusan rumah di Bandung",
        "BANDUNG - Banjir merendam ratusan rumah warga di Kota Bandung setelah hujan deras semalaman.",
        "Tue, 17 Dec 2024 08:10:00 +0700",
    ),
    (
        "n2",
        "Truk tabrak motor di Solo, pengendara tewas",
        "SOLO - Sebuah truk menabrak sepeda motor di Kota Surakarta. Pengendara motor meninggal di lokasi kejadian.",
        "Tue, 17 Dec 2024 08:05:00 +0700",
    ),
    (
        "n1",
        "Kecelakaan beruntun di Jalan Slamet Riyadi Solo, tiga mobil ringsek",
        "SOLO - Kecelakaan beruntun melibatkan tiga mobil terjadi di Jalan Slamet Riyadi, Kota Surakarta, "
        "Selasa pagi. Dua pengendara luka-luka.",
        "Tue, 17 Dec 2024 08:00:00 +0700",
    ),
]
EXPECTED_TITLES = [
    "Kecelakaan beruntun di Jalan Slamet Riyadi Solo, tiga mobil ringsek",
    "Truk tabrak motor di Solo, pengendara tewas",
    "Bus terguling di Surakarta, 5 penumpang luka",
]


def rss(items: list[tuple[str, str, str, str]]) -> bytes:
    body = "".join(
        f"<item><guid>{guid}</guid><link>https://warta.example/{guid}</link><title>{title}</title>"
        f"<description>{text}</description><pubDate>{date}</pubDate></item>"
        for guid, title, text, date in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Warta Solo</title>'
        f"{body}</channel></rss>"
    ).encode()


async def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def db_value(path: Path, query: str) -> object:
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute(query).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return row[0] if row else None


class Pantau:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def cli(self, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()

    async def start(self) -> None:
        handle = self.log.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=self.env, stdout=handle, stderr=handle
        )
        handle.close()

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout=20)
        except TimeoutError:
            self.process.kill()
            raise


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


async def test_pantau_run_delivers_matching_alerts_once_in_order(tmp_path: Path) -> None:
    db_path = tmp_path / "pantau.db"
    with FeedServer() as feeds:
        route = feeds.route("/solo.xml", body=rss([OLD_ITEM]))
        async with FakeBotAPIServer() as api:
            core = api.core
            env = service_environ(
                db_path,
                api_base_url=api.base_url,
                token=TOKEN,
                PANTAU_POLL_INTERVAL="1",
                PANTAU_MAX_ALERT_AGE="0",  # the stories are dated December 2024
                PANTAU_LOG_LEVEL="INFO",
            )
            bot = Pantau(env, tmp_path / "pantau.log")
            # Its links name warta.example: no article pages (test_fulltext_e2e.py reads pages on loopback).
            await bot.cli("feeds", "add", feeds.url("/solo.xml"), "--full-text", "never")
            await bot.start()
            try:
                # The bot comes up: menu set, polling Telegram.
                await wait_for(lambda: bool(core.calls_of("getUpdates")), 30, "getUpdates")
                assert [c["command"] for c in core.commands][:6] == [
                    "mulai",
                    "bantuan",
                    "langganan",
                    "daftar",
                    "berhenti",
                    "terbaru",
                ]

                core.push_text(USER, "/start")
                core.push_text(USER, "/subscribe Solo kecelakaan")
                await wait_for(lambda: len(core.texts(USER)) >= 2, 20, "replies to /start and /subscribe")
                greeting, saved = core.texts(USER)
                assert "Pantau" in greeting
                assert "Langganan <b>#1</b> disimpan: Kota Surakarta · kasus kecelakaan" in saved

                # The feed's first poll remembers what is already there and alerts nobody.
                await wait_for(lambda: db_value(db_path, "SELECT initial_polled FROM feeds") == 1, 20, "first poll")
                route.body = rss(NEW_ITEMS + [OLD_ITEM])
                await wait_for(lambda: len(core.texts(USER)) >= 5, 30, "three alerts")
                hits = feeds.hits["/solo.xml"]
                await wait_for(lambda: feeds.hits["/solo.xml"] >= hits + 2, 20, "two more polls")
                alerts = core.texts(USER)[2:]
                assert len(alerts) == 3
                for alert, title in zip(alerts, EXPECTED_TITLES, strict=True):
                    assert f">{title}</a></b>" in alert
                    assert "Sentimen: Negatif (" in alert
                    assert "Wilayah: Kota Surakarta, Jawa Tengah" in alert
                    assert "Kasus: Kecelakaan" in alert
                    assert "Warta Solo · 17 Des 2024 08." in alert and " WIB" in alert
                    assert "Cocok: Kota Surakarta · kecelakaan" in alert
                    assert len(alert) <= 4096
                assert "17 Des 2024 08.00 WIB" in alerts[0]
                # Paced at ≤ 1/s for this private chat, measured at the fake server.
                sends = [c.at for c in core.calls_of("sendMessage") if c.params["chat_id"] == USER][2:]
                assert all(b - a >= 0.95 for a, b in zip(sends, sends[1:], strict=False))
            finally:
                code = await bot.stop()
            assert code == 0
            assert db_value(db_path, "SELECT count(*) FROM deliveries WHERE status != 'sent'") == 0

            # A restart: same feed, same updates already confirmed → nothing is sent again.
            calls_before = len(core.calls)
            sent_before = len(core.sent())
            hits = feeds.hits["/solo.xml"]
            await bot.start()
            try:
                await wait_for(
                    lambda: (
                        len(core.calls_of("getUpdates"))
                        and core.calls[-1].at > 0
                        and len(core.calls) > calls_before + 3
                    ),
                    30,
                    "restart",
                )
                await wait_for(lambda: feeds.hits["/solo.xml"] >= hits + 2, 20, "polls after restart")
                await asyncio.sleep(1.5)
                assert len(core.sent()) == sent_before
            finally:
                assert await bot.stop() == 0
    log = (tmp_path / "pantau.log").read_text()
    assert TOKEN not in log and TOKEN.split(":")[1] not in log


async def test_rejected_token_is_a_one_line_error_without_the_token(tmp_path: Path) -> None:
    async with FakeBotAPIServer() as api:
        api.core.token = "999:another-token"  # the server knows a different bot: 401 on getMe
        base = clean_environ()
        env = {
            **base,
            "PANTAU_DB": str(tmp_path / "p.db"),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.base_url,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    text = (out + err).decode()
    assert "TELEGRAM_BOT_TOKEN was rejected" in text
    assert TOKEN.split(":")[1] not in text


async def test_unreachable_bot_api_is_a_clear_error(tmp_path: Path) -> None:
    base = clean_environ()
    env = {
        **base,
        "PANTAU_DB": str(tmp_path / "p.db"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",  # discard port: connection refused
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    text = (out + err).decode()
    assert process.returncode == 1, text
    assert "cannot reach the Bot API at http://127.0.0.1:9/bot" in text
    assert TOKEN.split(":")[1] not in text
