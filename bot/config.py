"""Settings read once from the environment (and an optional .env file), validated, then passed down.

Nothing here runs at import time: `Settings.from_env` takes the mapping to read, so tests pass a dict.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from bot.errors import ConfigError

N = TypeVar("N", int, float)

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_POLL_INTERVAL = 300
DEFAULT_SEND_RATE = 25.0
DEFAULT_EDIT_INTERVAL = 300.0
DEFAULT_PAGE_TIMEOUT = 20.0
DEFAULT_PAGE_WORKERS = 2
# A feed is polled at least once a day whatever it asks (bot/feeds/schedule.py caps at 24 h), so a longer
# interval would silently act as 24 h; say so instead.
MAX_POLL_INTERVAL = 86_400
# Below one message per 10 s the outbox of a busy day never drains; above 1,000/s is beyond any Bot API.
MIN_SEND_RATE = 0.1
MAX_SEND_RATE = 1000.0
DEFAULT_MAX_ALERT_AGE_HOURS = 48
DEFAULT_DELIVERY_MAX_AGE = 3600
DEFAULT_WEBHOOK_LISTEN = ("0.0.0.0", 8080)
# Telegram's rule for secret_token: 1-256 characters, A-Z a-z 0-9 _ -.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
MAX_DELIVERY_MAX_AGE = 7 * 24 * 3600
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Secret(str):
    """A string that never shows itself in repr() or logs (the bot token)."""

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:  # f-strings and %s formatting also stay masked
        return "**********"

    def reveal(self) -> str:
        return str.__str__(self)

    def needles(self) -> tuple[str, ...]:
        """The strings to mask in logs: the whole token and its secret part on its own.

        An error can show the part after the colon alone (httpx once reported it as an "invalid port"
        when the token was glued onto a host), so masking only the whole token is not enough.
        """
        token = self.reveal()
        secret = token.partition(":")[2]
        return tuple(n for n in (token, secret) if n)


def redact(text: str, secret: Secret | None, mask: str = "**********") -> str:
    """`text` with every appearance of the token, or of its secret part, replaced by `mask`."""
    if secret is None:
        return text
    for needle in secret.needles():
        text = text.replace(needle, mask)
    return text


@dataclass(frozen=True, slots=True)
class Settings:
    telegram_token: Secret | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    db_path: Path = Path("pantau.db")
    db_url: str | None = None  # PANTAU_DB=postgresql://…: PostgreSQL instead of the SQLite file db_path

    @property
    def database(self) -> Path | str:
        """What storage.db.open_database opens: the PostgreSQL URL, or the SQLite file."""
        return self.db_url if self.db_url is not None else self.db_path

    poll_interval: int = DEFAULT_POLL_INTERVAL
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    log_level: str = "INFO"
    send_rate: float = DEFAULT_SEND_RATE  # overall Telegram messages per second
    edit_interval: float = DEFAULT_EDIT_INTERVAL  # seconds between two edits of one alert (a story's outlets)
    page_timeout: float = DEFAULT_PAGE_TIMEOUT  # seconds a poll waits for article pages before using teasers
    page_workers: int = DEFAULT_PAGE_WORKERS  # threads extracting article text from pages
    # A new item dated more than this before its fetch alerts nobody on a feed's later polls; 0 = no limit.
    max_alert_age_hours: int = DEFAULT_MAX_ALERT_AGE_HOURS
    # Seconds an alert is retried while the Bot API is unreachable or failing, before it is 'expired'.
    delivery_max_age: int = DEFAULT_DELIVERY_MAX_AGE
    # Webhook mode (any number of bot instances behind a load balancer) instead of long polling: the public
    # HTTPS URL Telegram posts updates to, where this process listens, and the secret Telegram sends in
    # the X-Telegram-Bot-Api-Secret-Token header (an update without it is refused with 403).
    webhook_url: str | None = None
    webhook_listen: tuple[str, int] = DEFAULT_WEBHOOK_LISTEN
    webhook_secret: Secret | None = None

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

        base_url = _api_base_url(get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL)
        db_url, db_path = _database(get("PANTAU_DB") or "pantau.db")

        interval = _number(
            "PANTAU_POLL_INTERVAL",
            get("PANTAU_POLL_INTERVAL"),
            int,
            DEFAULT_POLL_INTERVAL,
            expected="whole seconds",
            valid=lambda v: 1 <= v <= MAX_POLL_INTERVAL,
            limits=f"must be between 1 and {MAX_POLL_INTERVAL} seconds (24 h)",
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
            valid=lambda v: MIN_SEND_RATE <= v <= MAX_SEND_RATE,
            limits=f"must be between {MIN_SEND_RATE:g} and {MAX_SEND_RATE:g}",
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

        max_alert_age = _number(
            "PANTAU_MAX_ALERT_AGE",
            get("PANTAU_MAX_ALERT_AGE"),
            int,
            DEFAULT_MAX_ALERT_AGE_HOURS,
            expected="whole hours",
            valid=lambda v: 0 <= v <= 24 * 365,
            limits="must be between 0 (no limit) and 8760 hours",
        )
        delivery_max_age = _number(
            "PANTAU_DELIVERY_MAX_AGE",
            get("PANTAU_DELIVERY_MAX_AGE"),
            int,
            DEFAULT_DELIVERY_MAX_AGE,
            expected="whole seconds",
            valid=lambda v: 1 <= v <= MAX_DELIVERY_MAX_AGE,
            limits=f"must be between 1 and {MAX_DELIVERY_MAX_AGE} seconds (7 days)",
        )

        edit_interval = _number(
            "PANTAU_EDIT_INTERVAL",
            get("PANTAU_EDIT_INTERVAL"),
            float,
            DEFAULT_EDIT_INTERVAL,
            expected="seconds",
            valid=lambda v: 0 <= v <= 86400,
            limits="must be between 0 and 86400",
        )

        webhook_url, webhook_listen, webhook_secret = _webhook(
            get("PANTAU_WEBHOOK_URL"), get("PANTAU_WEBHOOK_LISTEN"), get("PANTAU_WEBHOOK_SECRET"), base_url
        )

        return cls(
            telegram_token=Secret(token) if token else None,
            api_base_url=base_url,
            db_path=db_path,
            db_url=db_url,
            poll_interval=interval,
            admin_ids=frozenset(admin_ids),
            log_level=level,
            send_rate=send_rate,
            page_timeout=page_timeout,
            page_workers=page_workers,
            max_alert_age_hours=max_alert_age,
            delivery_max_age=delivery_max_age,
            edit_interval=edit_interval,
            webhook_url=webhook_url,
            webhook_listen=webhook_listen,
            webhook_secret=webhook_secret,
        )

    @property
    def max_alert_age(self) -> timedelta | None:
        return timedelta(hours=self.max_alert_age_hours) if self.max_alert_age_hours else None

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


def _api_base_url(value: str) -> str:
    """PTB appends the token to this URL as it is: without a path ending in /bot the token lands in the host
    or port, where errors quote it (and a request goes to the wrong place)."""
    example = "e.g. https://api.telegram.org/bot or http://telegram-bot-api:8081/bot"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"TELEGRAM_API_BASE_URL: not a valid URL ({example}), got {value!r}") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"TELEGRAM_API_BASE_URL: must start with http:// or https://, got {value!r}")
    if not parts.hostname:
        raise ConfigError(f"TELEGRAM_API_BASE_URL: no host name ({example}), got {value!r}")
    if not parts.path.endswith("/bot") or parts.query or parts.fragment:
        raise ConfigError(
            f"TELEGRAM_API_BASE_URL: must end with /bot, the token is appended to it ({example}), got {value!r}"
        )
    return value


def _webhook(
    url: str | None, listen: str | None, secret: str | None, api_base_url: str
) -> tuple[str | None, tuple[str, int], Secret | None]:
    """PANTAU_WEBHOOK_URL / _LISTEN / _SECRET: all checked here, so a bad one stops start-up with its name."""
    if url is None:
        for name, value in (("PANTAU_WEBHOOK_LISTEN", listen), ("PANTAU_WEBHOOK_SECRET", secret)):
            if value is not None:
                raise ConfigError(f"{name} is set but PANTAU_WEBHOOK_URL is not (webhook mode needs the URL)")
        return None, DEFAULT_WEBHOOK_LISTEN, None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"PANTAU_WEBHOOK_URL: not a valid URL, got {url!r}") from None
    # Telegram's own servers only post to https; a self-hosted Bot API server may post to plain http.
    schemes = ("https",) if api_base_url == DEFAULT_API_BASE_URL else ("https", "http")
    if parts.scheme not in schemes or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            f"PANTAU_WEBHOOK_URL: expected {' or '.join(s + '://' for s in schemes)}host/path "
            f"(the address Telegram posts updates to), got {url!r}"
        )
    if secret is None:
        raise ConfigError(
            "PANTAU_WEBHOOK_SECRET is not set: webhook mode needs it (anyone who finds the URL could post "
            "updates otherwise); e.g. 32 random letters and digits"
        )
    if not _WEBHOOK_SECRET.fullmatch(secret):
        raise ConfigError("PANTAU_WEBHOOK_SECRET: 1-256 characters, only A-Z, a-z, 0-9, _ and -")
    return url, _listen(listen) if listen else DEFAULT_WEBHOOK_LISTEN, Secret(secret)


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")  # [::] for IPv6
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"PANTAU_WEBHOOK_LISTEN: expected host:port, e.g. 0.0.0.0:8080, got {value!r}")
    return host, int(port)


def _database(value: str) -> tuple[str | None, Path]:
    """PANTAU_DB: a PostgreSQL URL (postgresql:// or postgres://), else an SQLite file (a path or sqlite:///path)."""
    if value.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(value)
        if not parts.hostname and "host=" not in parts.query:
            raise ConfigError(
                "PANTAU_DB: a PostgreSQL URL names its server, e.g. postgresql://pantau@db.example:5432/pantau"
            )
        return value, Path("pantau.db")
    if value.startswith("sqlite:///"):
        return None, _db_path(value[len("sqlite:///") :])
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", value)
    if scheme:
        raise ConfigError(
            f"PANTAU_DB: {scheme.group(1)}:// is not supported; give a file path, sqlite:///path or postgresql://…"
        )
    return None, _db_path(value)


def _db_path(value: str) -> Path:
    path = Path(value).expanduser()
    if path.is_dir():
        raise ConfigError(f"PANTAU_DB: {value!r} is a directory; name the database file, e.g. {value}/pantau.db")
    return path


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of a .env file; ConfigError naming the line of anything it cannot read.

    python-dotenv skips a line it cannot parse (an unterminated quote, …) with a warning and goes on,
    so a typo would silently run Pantau on defaults (a fresh ./pantau.db); here it stops start-up.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path} line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x})") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ConfigError(f"{path} line {line}: contains a NUL character")
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            # Name the variable, never quote the value: the broken line may be the token's.
            name = binding.original.string.partition("=")[0].strip().removeprefix("export ").strip()
            what = f"the line setting {name}" if name.isidentifier() else "this line"
            raise ConfigError(f"{path} line {binding.original.line}: cannot parse {what} (an unclosed quote?)")
    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}
