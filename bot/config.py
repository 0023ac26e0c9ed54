"""Settings read once from the environment (and an optional .env file), validated, then passed down.

Nothing here runs at import time: `Settings.from_env` takes the mapping to read, so tests pass a dict.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bot.errors import ConfigError

N = TypeVar("N", int, float)

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_POLL_INTERVAL = 300
DEFAULT_SEND_RATE = 25.0
DEFAULT_PAGE_TIMEOUT = 20.0
DEFAULT_PAGE_WORKERS = 2
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Secret(str):
    """A string that never shows itself in repr() or logs (the bot token)."""

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:  # f-strings and %s formatting also stay masked
        return "**********"

    def reveal(self) -> str:
        return str.__str__(self)


@dataclass(frozen=True, slots=True)
class Settings:
    telegram_token: Secret | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    db_path: Path = Path("pantau.db")
    poll_interval: int = DEFAULT_POLL_INTERVAL
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    log_level: str = "INFO"
    send_rate: float = DEFAULT_SEND_RATE  # overall Telegram messages per second
    page_timeout: float = DEFAULT_PAGE_TIMEOUT  # seconds a poll waits for article pages before using teasers
    page_workers: int = DEFAULT_PAGE_WORKERS  # threads extracting article text from pages

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Validate every variable; the first bad one raises ConfigError naming it."""

        def get(name: str) -> str | None:
            value = environ.get(name)
            if value is None:
                return None
            value = value.strip()
            return value or None

        token = get("TELEGRAM_BOT_TOKEN")
        if token is not None and (":" not in token or any(c.isspace() for c in token)):
            raise ConfigError("TELEGRAM_BOT_TOKEN: expected the form 123456:ABC-DEF… given by @BotFather")

        base_url = get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"TELEGRAM_API_BASE_URL: must start with http:// or https://, got {base_url!r}")

        db_path = Path(get("PANTAU_DB") or "pantau.db")

        interval = _number(
            "PANTAU_POLL_INTERVAL",
            get("PANTAU_POLL_INTERVAL"),
            int,
            DEFAULT_POLL_INTERVAL,
            expected="whole seconds",
            valid=lambda v: v >= 1,
            limits="must be at least 1 second",
        )

        admin_ids: set[int] = set()
        raw = get("PANTAU_ADMIN_IDS")
        if raw is not None:
            for part in raw.split(","):
                part = part.strip()
                if not part:
                    continue
                try:
                    admin_ids.add(int(part))
                except ValueError:
                    raise ConfigError(
                        f"PANTAU_ADMIN_IDS: expected comma-separated Telegram user ids, got {part!r}"
                    ) from None

        level = (get("PANTAU_LOG_LEVEL") or "INFO").upper()
        if level not in _LOG_LEVELS:
            raise ConfigError(f"PANTAU_LOG_LEVEL: expected one of {', '.join(_LOG_LEVELS)}, got {level!r}")

        send_rate = _number(
            "PANTAU_SEND_RATE",
            get("PANTAU_SEND_RATE"),
            float,
            DEFAULT_SEND_RATE,
            expected="messages per second",
            valid=lambda v: 0 < v <= 1000,
            limits="must be between 0 and 1000",
        )

        page_timeout = _number(
            "PANTAU_PAGE_TIMEOUT",
            get("PANTAU_PAGE_TIMEOUT"),
            float,
            DEFAULT_PAGE_TIMEOUT,
            expected="seconds",
            valid=lambda v: 0 < v <= 300,
            limits="must be more than 0 and at most 300 seconds",
        )
        page_workers = _number(
            "PANTAU_PAGE_WORKERS",
            get("PANTAU_PAGE_WORKERS"),
            int,
            DEFAULT_PAGE_WORKERS,
            expected="a whole number of threads",
            valid=lambda v: 1 <= v <= 32,
            limits="must be between 1 and 32",
        )

        return cls(
            telegram_token=Secret(token) if token else None,
            api_base_url=base_url,
            db_path=db_path,
            poll_interval=interval,
            admin_ids=frozenset(admin_ids),
            log_level=level,
            send_rate=send_rate,
            page_timeout=page_timeout,
            page_workers=page_workers,
        )

    @property
    def log_level_number(self) -> int:
        return int(logging.getLevelName(self.log_level))


def _number(
    name: str,
    raw: str | None,
    cast: Callable[[str], N],
    default: N,
    *,
    expected: str,
    valid: Callable[[N], bool],
    limits: str,
) -> N:
    """A numeric variable: its default when unset, else parsed and range-checked, naming it on error."""
    if raw is None:
        return default
    try:
        value = cast(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected {expected}, got {raw!r}") from None
    if not valid(value):
        raise ConfigError(f"{name}: {limits}, got {raw}")
    return value
