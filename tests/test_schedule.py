"""next_check_delay, backoff_delay and slow_delay tables."""

from __future__ import annotations

import pytest

from bot.feeds.schedule import MAX_DELAY, backoff_delay, is_slow, next_check_delay, slow_delay

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


@pytest.mark.parametrize(
    ("elapsed", "total_timeout", "expected"),
    [(0.0, 60, False), (30.0, 60, False), (30.01, 60, True), (59.0, 60, True), (float("nan"), 60, False)],
)
def test_a_success_is_slow_past_half_the_deadline(elapsed: float, total_timeout: float, expected: bool) -> None:
    assert is_slow(elapsed, total_timeout=total_timeout) is expected


@pytest.mark.parametrize(
    ("slow_count", "expected"),
    [(0, 300), (1, 600), (2, 1200), (3, 2400), (4, 2400), (100, 2400)],  # gentle: 8 intervals at most
)
def test_slow_delay_doubles_up_to_eight_intervals(slow_count: int, expected: float) -> None:
    assert slow_delay(interval=300, slow_count=slow_count) == expected


def test_slow_delay_is_gentler_than_a_failure_and_keeps_to_the_cap() -> None:
    for count in range(1, 10):
        assert slow_delay(interval=300, slow_count=count) <= backoff_delay(interval=300, error_count=count + 1)
    assert slow_delay(interval=20_000, slow_count=5) == MAX_DELAY
    jittered = [slow_delay(interval=300, slow_count=2, jitter=j) for j in (0.0, 0.5, 0.999)]
    assert jittered[0] == 1200 and all(960 <= d <= 1200 for d in jittered) and jittered[2] < jittered[0]
