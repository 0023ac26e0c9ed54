from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_API_BASE_URL, Secret, Settings
from bot.errors import ConfigError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.telegram_token is None
    assert settings.api_base_url == DEFAULT_API_BASE_URL
    assert settings.db_path == Path("pantau.db")
    assert settings.poll_interval == 300
    assert settings.admin_ids == frozenset()
    assert settings.log_level == "INFO"
    assert settings.page_timeout == 20.0 and settings.page_workers == 2


def test_all_values() -> None:
    settings = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "123456:ABC-def_ghi",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "PANTAU_DB": "/tmp/x.db",
            "PANTAU_POLL_INTERVAL": "60",
            "PANTAU_ADMIN_IDS": " 1, 2 ,3,",
            "PANTAU_LOG_LEVEL": "debug",
            "PANTAU_SEND_RATE": "10",
            "PANTAU_PAGE_TIMEOUT": "7.5",
            "PANTAU_PAGE_WORKERS": "4",
        }
    )
    assert settings.telegram_token is not None
    assert settings.telegram_token.reveal() == "123456:ABC-def_ghi"
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.db_path == Path("/tmp/x.db")
    assert settings.poll_interval == 60
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.log_level == "DEBUG"
    assert settings.send_rate == 10.0
    assert settings.page_timeout == 7.5 and settings.page_workers == 4


def test_empty_token_means_console_mode() -> None:
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": "  "}).telegram_token is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PANTAU_POLL_INTERVAL", "abc"),
        ("PANTAU_POLL_INTERVAL", "0"),
        ("PANTAU_POLL_INTERVAL", "-5"),
        ("PANTAU_ADMIN_IDS", "12,abc"),
        ("PANTAU_LOG_LEVEL", "LOUD"),
        ("TELEGRAM_BOT_TOKEN", "no-colon"),
        ("TELEGRAM_API_BASE_URL", "ftp://example.org"),
        ("PANTAU_SEND_RATE", "0"),
        ("PANTAU_SEND_RATE", "fast"),
        ("PANTAU_PAGE_TIMEOUT", "0"),
        ("PANTAU_PAGE_TIMEOUT", "nan"),
        ("PANTAU_PAGE_TIMEOUT", "301"),
        ("PANTAU_PAGE_WORKERS", "0"),
        ("PANTAU_PAGE_WORKERS", "2.5"),
    ],
)
def test_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: value})
    assert str(info.value).startswith(name + ":")


def test_token_never_shows() -> None:
    token = Secret("123456:SECRETSECRET")
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": token.reveal()})
    for text in (repr(settings), str(settings), f"{settings.telegram_token}", "%s" % settings.telegram_token):  # noqa: UP031 (old-style formatting is the point)
        assert "SECRETSECRET" not in text
