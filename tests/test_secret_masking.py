"""Credentials in feed URLs and the bot token never shown (issue #12 items 7 and 8).

Feed URLs may carry a password (``http://alice:S3cret@…``) or a key (``?api_key=…``); they are masked in
logs, `/feeds`, `/stats`, `feeds list` and `feeds export` (which keeps them only with --with-secrets).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.feeds.urls import mask_url, mask_urls_in_text
from bot.models import Feed
from handlers.texts import render_feeds, render_stats
from storage.stats import FeedHealth, Stats
from tests.feed_server import FeedServer
from tests.test_cli import RSS, pantau

SECRETS = ("S3cret", "K3yValue", "T0kenValue")


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("http://alice:S3cret@feeds.example/rss", "http://alice:***@feeds.example/rss"),
        ("https://T0kenValue@feeds.example/rss", "https://***@feeds.example/rss"),
        ("https://feeds.example/rss?api_key=K3yValue&page=2", "https://feeds.example/rss?api_key=***&page=2"),
        (
            "https://feeds.example/rss?token=a&access_token=b&Secret=c",
            "https://feeds.example/rss?token=***&access_token=***&Secret=***",
        ),
        ("https://feeds.example/rss?key=K3yValue", "https://feeds.example/rss?key=***"),
        ("https://feeds.example/rss?page=2&cat=solo", "https://feeds.example/rss?page=2&cat=solo"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_mask_urls_in_free_text() -> None:
    text = "redirect to http://bob:S3cret@x.example/rss?api_key=K3yValue, refused"
    assert mask_urls_in_text(text) == "redirect to http://bob:***@x.example/rss?api_key=***, refused"


def _feed(url: str, *, error: str | None = None) -> Feed:
    now = datetime(2024, 12, 17, tzinfo=UTC)
    return Feed(
        id=1, url=url, title=None, name=None, etag=None, last_modified=None, default_city_code=None,
        error_count=1 if error else 0, last_error=error, last_checked_at=now, next_check_at=now,
        initial_polled=True, backfill=0, added_by="cli", last_success_at=None,
    )  # fmt: skip


def test_admin_feeds_and_stats_mask_urls() -> None:
    url = "http://alice:S3cret@feeds.example/rss?api_key=K3yValue"
    text = render_feeds([_feed(url, error=f"HTTP 401 from {url}")])
    health = FeedHealth(id=1, name=url, error_count=3, last_error=f"HTTP 401 from {url}", last_success_at=None)
    stats = Stats(
        articles_total=0, per_day=[], per_case=[], per_city=[], feeds_total=1,
        feeds_failing=[health],
        feeds_stale=1, outbox={}, sent_last_day=0, failure_reasons=[], chats={"active": 0, "paused": 0, "inactive": 0},
        subscriptions=0,
    )  # fmt: skip
    text += render_stats(stats)
    assert "feeds.example" in text
    for secret in SECRETS:
        assert secret not in text


def test_cli_list_export_and_poll_logs_mask_credentials(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/rss", status=401, body=b"no")
    feed_server.route("/ok", body=RSS)
    env = {"PANTAU_DB": str(tmp_path / "p.db"), "PANTAU_LOG_LEVEL": "DEBUG"}
    secret_url = f"http://alice:S3cret@127.0.0.1:{feed_server.port}/rss?api_key=K3yValue&token=T0kenValue"
    ok_url = feed_server.url("/ok?page=1")
    outputs = []
    for args in (("feeds", "add", secret_url), ("feeds", "add", ok_url), ("poll", "--once"), ("feeds", "list")):
        result = pantau(*args, env=env)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    assert "failing" in outputs[-1] and "HTTP 401" in outputs[-1]
    exported = pantau("feeds", "export", env=env)
    assert exported.returncode == 0
    outputs.append(exported.stdout)
    assert "1 feed URL(s) carry credentials" in exported.stderr
    assert ok_url.replace("&", "&amp;") in exported.stdout  # URLs without secrets are exported as they are
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text, text
    full = pantau("feeds", "export", "--with-secrets", env=env)
    assert full.returncode == 0 and "credentials" not in full.stderr
    assert "S3cret" in full.stdout and "K3yValue" in full.stdout


def test_token_secret_part_is_redacted_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    from bot.runtime.telegram_app import TokenRedactor

    token = "123456:AAH-the-secret-part"
    redactor = TokenRedactor(token)
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "Invalid port: %r", ("AAH-the-secret-part",), None)
    assert redactor.filter(record)
    assert "AAH-the-secret-part" not in record.getMessage()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "GET https://h/bot%s/getMe", (token,), None)
    redactor.filter(record)
    assert "the-secret-part" not in record.getMessage() and "123456" not in record.getMessage()
