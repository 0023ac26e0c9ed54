from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import DEFAULT_API_BASE_URL, Secret, Settings, read_env_file, redact
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
            "PANTAU_DELIVERY_MAX_AGE": "7200",
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
    assert settings.delivery_max_age == 7200
    assert Settings.from_env({}).delivery_max_age == 3600


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
        # Out of range: a year-long interval would act as 24 h, a rate of 1e-300 never sends.
        ("PANTAU_POLL_INTERVAL", "100000000000000000000000"),
        ("PANTAU_POLL_INTERVAL", "86401"),
        ("PANTAU_SEND_RATE", "1e-300"),
        ("PANTAU_SEND_RATE", "nan"),
        ("PANTAU_SEND_RATE", "inf"),
        # Without a path ending in /bot, PTB glues the token onto the host or port.
        ("TELEGRAM_API_BASE_URL", "http://"),
        ("TELEGRAM_API_BASE_URL", "https://api.telegram.org"),
        ("TELEGRAM_API_BASE_URL", "http://telegram-bot-api"),
        ("TELEGRAM_API_BASE_URL", "http://telegram-bot-api:port/bot"),
        ("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot?x=1"),
        ("PANTAU_MAX_ALERT_AGE", "-1"),
        ("PANTAU_MAX_ALERT_AGE", "dua hari"),
        ("PANTAU_DELIVERY_MAX_AGE", "0"),
        ("PANTAU_DELIVERY_MAX_AGE", "1e23"),
        ("PANTAU_DELIVERY_MAX_AGE", "1h"),
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


def test_limits_themselves_are_accepted() -> None:
    settings = Settings.from_env({"PANTAU_POLL_INTERVAL": "86400", "PANTAU_SEND_RATE": "0.1"})
    assert (settings.poll_interval, settings.send_rate) == (86400, 0.1)


def test_self_hosted_base_url_accepted() -> None:
    url = "http://telegram-bot-api:8081/bot"
    assert Settings.from_env({"TELEGRAM_API_BASE_URL": url}).api_base_url == url


def test_db_path_expands_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings.from_env({"PANTAU_DB": "~/data/p.db"}).db_path == tmp_path / "data" / "p.db"


def test_db_path_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^PANTAU_DB: .* is a directory"):
        Settings.from_env({"PANTAU_DB": str(tmp_path)})


def test_redact_masks_whole_token_and_secret_part() -> None:
    token = Secret("123456:AAH-secret_part")
    text = "InvalidURL(\"Invalid port: 'AAH-secret_part'\") at https://x/bot123456:AAH-secret_part/getMe"
    redacted = redact(text, token)
    assert "AAH-secret_part" not in redacted
    assert redacted.count("**********") == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'PANTAU_POLL_INTERVAL=60\nTELEGRAM_BOT_TOKEN="1:abc\nPANTAU_DB=/x.db\n', r"line 2: .*TELEGRAM_BOT_TOKEN"),
        (b"PANTAU_DB=caf\xe9.db\n", r"line 1: not UTF-8"),
        (b"A=1\nB=2\x00\n", r"line 2: contains a NUL"),
    ],
)
def test_env_file_errors_name_the_line(tmp_path: Path, content: bytes, expected: str) -> None:
    env = tmp_path / ".env"
    env.write_bytes(content)
    with pytest.raises(ConfigError, match=expected) as info:
        read_env_file(env)
    assert "abc" not in str(info.value)  # the value (maybe the token) is never quoted


def test_env_file_values(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# comment\nexport A=1\nB='two words'\nC=\"${A}x\"\n", encoding="utf-8")
    assert read_env_file(env) == {"A": "1", "B": "two words", "C": "1x"}


def test_max_alert_age() -> None:
    assert Settings.from_env({}).max_alert_age == timedelta(hours=48)
    assert Settings.from_env({"PANTAU_MAX_ALERT_AGE": "0"}).max_alert_age is None
    assert Settings.from_env({"PANTAU_MAX_ALERT_AGE": "6"}).max_alert_age == timedelta(hours=6)


def test_pantau_db_selects_the_backend(tmp_path: Path) -> None:
    url = "postgresql://pantau:secret@db.example:5432/pantau"
    assert Settings.from_env({"PANTAU_DB": url}).database == url
    assert Settings.from_env({"PANTAU_DB": "postgres://db.example/pantau"}).database == "postgres://db.example/pantau"
    assert Settings.from_env({"PANTAU_DB": f"sqlite:///{tmp_path}/p.db"}).database == tmp_path / "p.db"
    assert Settings.from_env({"PANTAU_DB": "p.db"}).database == Path("p.db")
    with pytest.raises(ConfigError, match=r"^PANTAU_DB: mysql:// is not supported; .*$"):
        Settings.from_env({"PANTAU_DB": "mysql://db.example/pantau"})
    with pytest.raises(ConfigError, match=r"^PANTAU_DB: a PostgreSQL URL names its server"):
        Settings.from_env({"PANTAU_DB": "postgresql:///pantau"})
