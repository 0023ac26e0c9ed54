"""Webhook mode (issue #15): `pantau run` with PANTAU_WEBHOOK_URL sets the webhook at the (fake) Bot API and
answers updates POSTed to it on loopback — only those carrying the secret-token header."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx
import pytest
from fake_botapi import FakeBotAPIServer, message_payload
from test_single_instance import bot_env
from test_telegram_e2e import Pantau, wait_for

from bot.config import Settings
from bot.errors import ConfigError

SECRET = "s3cret-Token_for-tests"


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def update(update_id: int, chat_id: int, text: str) -> bytes:
    return json.dumps({"update_id": update_id, "message": message_payload(chat_id, text)}).encode()


async def test_webhook_mode_answers_updates_with_the_secret_and_refuses_the_rest(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with FakeBotAPIServer() as api:
        env = {
            **await bot_env(tmp_path, api),
            "PANTAU_WEBHOOK_URL": url,
            "PANTAU_WEBHOOK_LISTEN": f"127.0.0.1:{port}",
            "PANTAU_WEBHOOK_SECRET": SECRET,
        }
        bot = Pantau(env, tmp_path / "pantau.log")
        await bot.start()
        try:
            await wait_for(lambda: bool(api.core.webhook), 30, "setWebhook")
            assert api.core.webhook["url"] == url and api.core.webhook["secret_token"] == SECRET
            async with httpx.AsyncClient(timeout=5) as client:
                # The server is up once it answers at all (PTB starts it right after setWebhook).
                for _ in range(100):
                    try:
                        await client.get(f"http://127.0.0.1:{port}/")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                headers = {"Content-Type": "application/json"}
                header = "X-Telegram-Bot-Api-Secret-Token"
                wrong = await client.post(url, content=update(1, 501, "/start"), headers={**headers, header: "no"})
                missing = await client.post(url, content=update(2, 502, "/start"), headers=headers)
                right = await client.post(url, content=update(3, 503, "/start"), headers={**headers, header: SECRET})
            assert (wrong.status_code, missing.status_code, right.status_code) == (403, 403, 200)
            await wait_for(lambda: bool(api.core.sent(503)), 20, "the answer to /start")
            await asyncio.sleep(1.0)  # time enough for a wrongly accepted update to be answered too
            assert not api.core.sent(501) and not api.core.sent(502)
            assert not api.core.calls_of("getUpdates")  # no long polling in webhook mode
        finally:
            code = await bot.stop()
    assert code == 0, (tmp_path / "pantau.log").read_text()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PANTAU_WEBHOOK_URL": "https://bot.example.org/hook"}, "PANTAU_WEBHOOK_SECRET is not set"),
        ({"PANTAU_WEBHOOK_URL": "http://bot.example.org/hook", "PANTAU_WEBHOOK_SECRET": "x"}, "https://"),
        ({"PANTAU_WEBHOOK_URL": "https://bot.example.org/hook", "PANTAU_WEBHOOK_SECRET": "a b"}, "only A-Z"),
        ({"PANTAU_WEBHOOK_SECRET": "abc"}, "PANTAU_WEBHOOK_URL is not"),
        (
            {
                "PANTAU_WEBHOOK_URL": "https://bot.example.org/hook",
                "PANTAU_WEBHOOK_SECRET": "abc",
                "PANTAU_WEBHOOK_LISTEN": "8080",
            },
            "host:port",
        ),
    ],
)
def test_bad_webhook_settings_are_refused_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_webhook_settings_parse() -> None:
    settings = Settings.from_env(
        {
            "PANTAU_WEBHOOK_URL": "https://bot.example.org/telegram",
            "PANTAU_WEBHOOK_SECRET": "abc_DEF-123",
            "PANTAU_WEBHOOK_LISTEN": "[::]:8443",
        }
    )
    assert settings.webhook_url == "https://bot.example.org/telegram"
    assert settings.webhook_listen == ("::", 8443)
    assert settings.webhook_secret is not None and settings.webhook_secret.reveal() == "abc_DEF-123"
    assert "abc_DEF" not in repr(settings)
