"""Issue #14, done-when: through `pantau run` (PTB's real HTTP stack against the fake Bot API on 127.0.0.1)
an analyst presses ✏️ Koreksi → Kasus salah → toggles a key → Simpan, with a restart of the service between
the presses; a forged press is refused; `pantau feedback export` then prints the article with the corrected
label in the dev-set format, and `pantau eval` accepts the file."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from fake_botapi import TOKEN, FakeBotAPIServer, FakeBotCore, callback_payload
from feed_server import FeedServer
from test_telegram_e2e import OLD_ITEM, Pantau, db_value, rss, wait_for

from tests.processes import service_environ

ANALYST = 5151
CRASH = (
    "k1",
    "Truk tabrak motor di Solo, pengendara tewas",
    "SOLO - Sebuah truk menabrak sepeda motor di Kota Surakarta. Pengendara motor meninggal di lokasi kejadian.",
    "Tue, 17 Dec 2024 08:05:00 +0700",
)


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


async def press(core: FakeBotCore, message_id: int, data: str) -> str:
    """Push a button press as Telegram would and wait for the bot's answerCallbackQuery."""
    before = len(core.answers())
    core.push_update({"callback_query": callback_payload(ANALYST, data, message_id=message_id)})
    await wait_for(lambda: len(core.answers()) > before, 20, f"answer to {data}")
    return core.answers()[before]


async def button(core: FakeBotCore, message_id: int, label: str) -> str:
    """The callback data of a button once the bot's keyboard edit shows it: the bot answers a press before
    it edits the keyboard, so the edit may land a moment after the answer."""
    await wait_for(lambda: label in core.buttons(ANALYST, message_id), 20, f"button {label}")
    return core.buttons(ANALYST, message_id)[label]


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_correct_cases_across_a_restart_then_export_and_eval(tmp_path: Path) -> None:
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
                PANTAU_ADMIN_IDS=str(ANALYST),  # a trusted corrector: the stored labels change
            )
            bot = Pantau(env, tmp_path / "pantau.log")
            await bot.cli("feeds", "add", feeds.url("/solo.xml"), "--full-text", "never")
            await bot.start()
            try:
                core.push_text(ANALYST, "/start")
                core.push_text(ANALYST, "/langganan Solo")
                await wait_for(lambda: len(core.texts(ANALYST)) >= 2, 30, "replies to /start and /langganan")
                await wait_for(lambda: db_value(db_path, "SELECT initial_polled FROM feeds") == 1, 20, "first poll")
                route.body = rss([CRASH, OLD_ITEM])
                await wait_for(lambda: len(core.texts(ANALYST)) >= 3, 30, "the alert")
                alert = core.sent(ANALYST)[-1]
                assert "Kasus: Kecelakaan" in alert["text"]
                message_id = max(mid for (chat, mid) in core.messages if chat == ANALYST)
                # The sender records which message carried the alert in a batched write just after the
                # send; a press is checked against it, so wait for it as a person's reaction time would.
                await wait_for(
                    lambda: db_value(db_path, f"SELECT count(*) FROM deliveries WHERE message_id = {message_id}") == 1,
                    10,
                    "the alert's message id recorded",
                )
                assert list(core.buttons(ANALYST, message_id)) == ["✏️ Koreksi", "🔇 Bisukan sumber"]

                assert await press(core, message_id, await button(core, message_id, "✏️ Koreksi")) == ""
                assert await press(core, message_id, await button(core, message_id, "🏷 Kasus salah")) == ""
                assert "✅ Kecelakaan" in core.buttons(ANALYST, message_id)
                await press(core, message_id, await button(core, message_id, "Banjir"))
                await wait_for(lambda: "✅ Banjir" in core.buttons(ANALYST, message_id), 10, "the toggle shown")
            finally:
                assert await bot.stop() == 0

            # A new process: the draft (Kecelakaan + Banjir toggled) is in the database, not in memory.
            await bot.start()
            try:
                keyboard = core.buttons(ANALYST, message_id)
                await press(core, message_id, keyboard["✅ Kecelakaan"])  # untoggle the wrong one
                assert await press(core, message_id, await button(core, message_id, "✔️ Simpan")) == (
                    "Terima kasih — tercatat"
                )
                shown = core.message(ANALYST, message_id)
                assert "Kasus: Banjir (dikoreksi)" in shown["text"]
                assert list(core.buttons(ANALYST, message_id)) == ["✏️ Koreksi", "🔇 Bisukan sumber"]
                # Forged presses: another article on this message, a made-up draft, a key outside the taxonomy.
                article_id = db_value(db_path, "SELECT id FROM articles WHERE title LIKE 'Truk%'")
                assert "tidak berlaku" in await press(core, message_id, f"fb:{int(str(article_id)) + 1}:k")
                assert "kedaluwarsa" in await press(core, message_id, "cr:ZZZZZZZZ:save")
                assert "kedaluwarsa" in await press(core, message_id, "cr:ZZZZZZZZ:t:perang")
            finally:
                assert await bot.stop() == 0
    assert db_value(db_path, "SELECT count(*) FROM corrections") == 1
    assert db_value(db_path, "SELECT cases FROM articles WHERE title LIKE 'Truk%'") == '["banjir"]'

    code, out, err = await run_cli(env, "feedback", "export")
    assert code == 0, err
    [line] = out.splitlines()
    record = json.loads(line)
    assert record["title"] == CRASH[1] and record["outlet"] == "Warta Solo"
    assert record["labels"] == {
        "city": "Kota Surakarta",
        "province": "Jawa Tengah",
        "other_cities": [],
        "cases": ["banjir"],
        "cases_also_ok": [],
        "sentiment": "negative",
        "sentiment_also_ok": [],
    }
    assert "exported 1 corrected articles; 0 conflicts resolved" in err

    out_file = tmp_path / "corrected.jsonl"
    code, _, err = await run_cli(env, "feedback", "export", "--trusted", "-o", str(out_file))
    assert code == 0 and out_file.read_text(encoding="utf-8").strip() == line
    code, report, err = await run_cli(env, "eval", str(out_file))
    assert code == 0, err
    assert f"{out_file}: 1 articles" in report
    code, stats, _ = await run_cli(env, "feedback", "stats")
    assert code == 0 and "kecelakaan" in stats and "banjir" in stats
    code, _, err = await run_cli(env, "feedback", "export", "-o", str(tmp_path / "missing" / "x.jsonl"))
    assert code == 2 and "does not exist" in err
