"""next_check_delay and backoff_delay tables."""

from __future__ import annotations

import pytest

from bot.feeds.schedule import MAX_DELAY, backoff_delay, next_check_delay

DAY = 24 * 3600.0


@pytest.mark.parametrize(
    ("interval", "cache_seconds", "ttl_minutes", "retry_after", "expected"),
    [
        (600, None, None, None, 600),
        (600, 60, None, None, 600),  # hints never make us poll faster than the interval
        (600, 0, None, None, 600),
        (600, 1800, None, None, 1800),
        (600, None, 60, None, 3600),
        (600, 1800, 60, None, 3600),  # the largest hint wins
        (600, None, None, 7200, 7200),
        (600, None, 720, None, 43200),
        (600, 10 * DAY, None, None, DAY),  # capped at a day
        (600, None, 100_000, None, DAY),
        (600, -5, None, None, 600),  # nonsense ignored
        (600, float("nan"), None, float("inf"), 600),
        (2 * DAY, None, None, None, DAY),  # even the interval is capped
    ],
)
def test_next_check_delay(
    interval: float,
    cache_seconds: float | None,
    ttl_minutes: int | None,
    retry_after: float | None,
    expected: float,
) -> None:
    got = next_check_delay(
        interval=interval, cache_seconds=cache_seconds, ttl_minutes=ttl_minutes, retry_after=retry_after
    )
    assert got == expected
    assert isinstance(got, float)


def test_next_check_delay_custom_cap() -> None:
    assert next_check_delay(interval=600, cache_seconds=None, ttl_minutes=720, retry_after=None, max_delay=3600) == 3600


@pytest.mark.parametrize(
    ("interval", "error_count", "retry_after", "expected"),
    [
        (600, 0, None, 600),
        (600, 1, None, 600),
        (600, 2, None, 1200),
        (600, 3, None, 2400),
        (600, 5, None, 9600),
        (600, 8, None, 76800),
        (600, 9, None, DAY),
        (600, 1000, None, DAY),
        (600, 10**9, None, DAY),
        (600, 1, 3600, 3600),  # Retry-After wins when bigger …
        (600, 4, 60, 4800),  # … and not when smaller
        (600, 1, 10 * DAY, DAY),  # … capped
        (600, 1, float("nan"), 600),
    ],
)
def test_backoff_delay(interval: float, error_count: int, retry_after: float | None, expected: float) -> None:
    assert backoff_delay(interval=interval, error_count=error_count, retry_after=retry_after) == expected


def test_backoff_never_exceeds_the_cap() -> None:
    assert all(backoff_delay(interval=60, error_count=n) <= MAX_DELAY for n in range(200))


def test_backoff_jitter_only_shortens_and_never_below_the_interval() -> None:
    plain = backoff_delay(interval=60, error_count=4)
    draws = [backoff_delay(interval=60, error_count=4, jitter=j / 10) for j in range(10)]
    assert plain == 480 and all(0.8 * plain <= d <= plain for d in draws) and len(set(draws)) == 10
    assert backoff_delay(interval=60, error_count=1, jitter=0.99) == 60
