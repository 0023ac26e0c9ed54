"""One poller per bot token: a second `pantau run` on the same database stops at the lock before it
talks to Telegram, and a poller elsewhere (Telegram's 409 Conflict on getUpdates) makes `pantau run`
stop with a clear message instead of retrying forever."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from chat_fixtures import NOW
from fake_botapi import TOKEN, FakeBotAPIServer
from test_telegram_e2e import Pantau, wait_for

from storage import feeds as feed_store
from storage.db import open_database
from tests.processes import clean_environ

USER = 4242


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


async def bot_env(tmp_path: Path, api: FakeBotAPIServer) -> dict[str, str]:
    """The environment of a `pantau run` against the fake Bot API, with one loopback feed configured
    (with no feed at all, the bot would import the bundled ones and look them up on the internet)."""
    db = await open_database(tmp_path / "pantau.db")
    try:
        await feed_store.add_feed(db, "http://127.0.0.1:9/feed.xml", now=NOW)  # discard port: refused
    finally:
        await db.close()
    base = clean_environ()
    return {
        **base,
        "PANTAU_DB": str(tmp_path / "pantau.db"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "PANTAU_POLL_INTERVAL": "60",
        "PANTAU_LOG_LEVEL": "INFO",
    }


async def run_to_exit(env: dict[str, str], within: float) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=within)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


async def test_second_run_on_the_same_database_exits_at_once_without_touching_telegram(tmp_path: Path) -> None:
    async with FakeBotAPIServer() as api:
        env = await bot_env(tmp_path, api)
        first = Pantau(env, tmp_path / "first.log")
        await first.start()
        try:
            await wait_for(lambda: bool(api.core.calls_of("getUpdates")), 30, "the first run polling")
            started = time.monotonic()
            code, text = await run_to_exit(env, within=20)
            assert code == 1, text
            assert "already" in text and "pantau.db.lock" in text
            assert time.monotonic() - started < 10
            assert len(api.core.calls_of("getMe")) == 1  # the second run never reached the Bot API
        finally:
            assert await first.stop() == 0


async def test_another_poller_on_the_token_stops_the_run_with_a_clear_message(tmp_path: Path) -> None:
    async with FakeBotAPIServer() as api:
        api.core.conflict = True  # another machine polls this token: every getUpdates is a 409
        started = time.monotonic()
        code, text = await run_to_exit(await bot_env(tmp_path, api), within=30)
        elapsed = time.monotonic() - started
        polls = [c.at for c in api.core.calls_of("getUpdates")]
    assert code == 1, text
    assert "another process is polling Telegram with this bot token (getUpdates answered 409 Conflict)" in text
    assert text.count("409 Conflict 3 times") == 1
    assert "Traceback" not in text.split("stopping")[0]  # warnings, not handler tracebacks, before giving up
    # PTB waits longer after each 409: a handful of calls over seconds, not a tight loop.
    assert 3 <= len(polls) <= 6, polls
    assert polls[-1] - polls[0] >= 2.0
    assert elapsed < 20
    assert TOKEN.split(":")[1] not in text


async def test_one_conflict_is_only_a_warning(tmp_path: Path) -> None:
    async with FakeBotAPIServer() as api:
        api.core.fail_next("conflict", method="getUpdates", times=1)  # e.g. the previous instance's last poll
        env = await bot_env(tmp_path, api)
        bot = Pantau(env, tmp_path / "pantau.log")
        await bot.start()
        try:
            await wait_for(lambda: len(api.core.calls_of("getUpdates")) >= 2, 30, "polling after the 409")
            api.core.push_text(USER, "/start")
            await wait_for(lambda: bool(api.core.texts(USER)), 20, "the reply to /start")
        finally:
            assert await bot.stop() == 0
    log = (tmp_path / "pantau.log").read_text()
    assert "409 Conflict: is another process polling this bot token?" in log


async def test_a_401_on_get_updates_is_retried_and_sigterm_still_ends_the_run(tmp_path: Path) -> None:
    """Issue #12.3: one 401 on getUpdates (a self-hosted Bot API server restarting, a token revoked and
    restored) ended PTB's polling for good: the process went on polling feeds, deaf to every command, and
    SIGTERM did not end it within 120 s."""
    async with FakeBotAPIServer() as api:
        api.core.fail_next("unauthorized", method="getUpdates", times=3)
        bot = Pantau(await bot_env(tmp_path, api), tmp_path / "pantau.log")
        await bot.start()
        try:
            await wait_for(lambda: len(api.core.calls_of("getUpdates")) >= 4, 30, "polling after the 401s")
            api.core.push_text(USER, "/start")
            await wait_for(lambda: bool(api.core.texts(USER)), 20, "the reply to /start")
        finally:
            started = time.monotonic()
            assert await bot.stop() == 0
            assert time.monotonic() - started < 10
    log = (tmp_path / "pantau.log").read_text()
    assert log.count("does not accept the bot token for getUpdates (401)") == 3
    assert "Traceback" not in log
    assert TOKEN.split(":")[1] not in log
