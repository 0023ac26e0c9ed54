"""When to poll a feed next: pure functions of the configured interval and the server's hints.

Server hints (Cache-Control/Expires, RSS ``<ttl>``, Retry-After) can only make us wait *longer*
than the configured interval, never shorter, and nothing waits longer than `max_delay` (24 h by
default). A caller that values freshness over politeness can pass a smaller `max_delay`: a feed
with ``<ttl>720</ttl>`` otherwise gets polled every 12 h (rssbot #63).

A feed that answers, but slowly (more than `SLOW_FRACTION` of the fetch deadline), holds a fetch slot
and a connection all that time on every poll; its successes back off gently (`slow_delay`) until it is
quick again, so one sluggish server does not take a share of the slots every interval.
"""

from __future__ import annotations

import math
from typing import Final, TypeGuard

MAX_DELAY: Final = 24 * 60 * 60.0  # seconds
JITTER: Final = 0.2  # the largest fraction a random draw takes off a backoff
SLOW_FRACTION: Final = 0.5  # a success taking more than this share of the fetch deadline is slow
SLOW_MAX_FACTOR: Final = 8.0  # a slow feed is still polled at least every 8 intervals: it does answer


def next_check_delay(
    *,
    interval: float,
    cache_seconds: float | None,
    ttl_minutes: int | None,
    retry_after: float | None,
    max_delay: float = MAX_DELAY,
) -> float:
    """Seconds until the next poll after a successful one: the largest hint, within [interval, max_delay]."""
    ttl_seconds = None if ttl_minutes is None else ttl_minutes * 60.0
    wanted = max([float(interval)] + [h for h in (cache_seconds, ttl_seconds, retry_after) if _usable(h)])
    return _clamp(wanted, interval=interval, max_delay=max_delay)


def backoff_delay(
    *,
    interval: float,
    error_count: int,
    retry_after: float | None = None,
    max_delay: float = MAX_DELAY,
    jitter: float = 0.0,
) -> float:
    """Seconds until the next try after `error_count` consecutive failures (1 = first failure).

    Doubles per failure: interval, 2×, 4×, … capped at `max_delay`; a larger Retry-After wins
    (also capped). `jitter` in [0, 1) (a random draw) takes up to JITTER of the doubling off, so feeds
    that failed together (one host down) do not all come back in the same second.
    """
    exponent = min(max(error_count, 1) - 1, 64)  # 2**64 × any interval is far past the cap
    delay = interval * 2.0**exponent * (1.0 - JITTER * min(max(jitter, 0.0), 1.0))
    if _usable(retry_after):
        delay = max(delay, retry_after)
    return _clamp(delay, interval=interval, max_delay=max_delay)


def is_slow(elapsed: float, *, total_timeout: float) -> bool:
    """Whether a successful fetch took long enough to count toward the slow-feed backoff."""
    return math.isfinite(elapsed) and elapsed > SLOW_FRACTION * total_timeout


def slow_delay(
    *,
    interval: float,
    slow_count: int,
    max_delay: float = MAX_DELAY,
    jitter: float = 0.0,
) -> float:
    """Seconds until the next poll after `slow_count` consecutive slow successes (1 = the first).

    Gentler than a failure's backoff: the feed works, so 2×, 4×, 8× the interval and no further
    (`SLOW_MAX_FACTOR`), with the same jitter. A poll that is quick again resets the count.
    """
    if slow_count <= 0:
        return _clamp(interval, interval=interval, max_delay=max_delay)
    exponent = min(slow_count, 64)
    factor = min(2.0**exponent, SLOW_MAX_FACTOR) * (1.0 - JITTER * min(max(jitter, 0.0), 1.0))
    return _clamp(interval * max(factor, 1.0), interval=interval, max_delay=max_delay)


def _usable(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value) and value >= 0


def _clamp(value: float, *, interval: float, max_delay: float) -> float:
    low = min(interval, max_delay)
    return float(min(max(value, low), max_delay))
