"""What a failed Telegram send means for the outbox: one pure mapping from PTB's error types to an action.

PTB's tree (telegram.error): Forbidden (403), ChatMigrated, RetryAfter (429), and NetworkError with its
subclasses BadRequest (400) and TimedOut. BadRequest being a NetworkError is why the order below matters.
"""

from __future__ import annotations

import datetime as dtm
import math
from dataclasses import dataclass
from enum import StrEnum

from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut


class Action(StrEnum):
    WAIT = "wait"  # flood control: pause this chat for `delay` seconds, then retry (not a failed attempt)
    DEACTIVATE = "deactivate"  # the chat is gone for us: stop delivering, keep its subscriptions
    MIGRATE = "migrate"  # group became a supergroup: move the chat to `new_chat_id`, retry there
    PLAIN_TEXT = "plain_text"  # our HTML was refused: send the same alert without markup
    NO_THREAD = "no_thread"  # the forum topic is gone: send to the chat itself
    SHORTEN = "shorten"  # Telegram counted the text as too long (entities, UTF-16): resend a shorter one once
    # The Bot API is unreachable or failing (network error, timeout, 5xx, a 401/404 from a flaky
    # self-hosted server): never final; retry with capped backoff until the row's maximum age, then expired.
    OUTAGE = "outage"
    BACKOFF = "backoff"  # anything unexpected: retry with backoff a bounded number of times, then failed
    FAIL = "fail"  # permanent for this message: mark failed with the reason
    UNCHANGED = "unchanged"  # an edit that would change nothing: the message already says it, so done


@dataclass(frozen=True, slots=True)
class SendFailure:
    action: Action
    reason: str
    delay: float | None = None
    new_chat_id: int | None = None


# Lower-cased fragments of Bot API descriptions meaning "this chat cannot receive from us any more".
_GONE = (
    "chat not found",
    "bot was blocked",
    "bot was kicked",
    "bot is not a member",
    "user is deactivated",
    "have no rights to send",
    "not enough rights to send",
    "need administrator rights",
    "chat_write_forbidden",
    "group chat was deactivated",
    "peer_id_invalid",
)


# A broken or hostile Bot API can ask for any wait: -5 (retry once a second forever), 1e10 (mute the
# chat until 2343), "x". Waits are kept within [MIN, MAX]; what is not a positive number of seconds waits
# DEFAULT.
RETRY_AFTER_MIN = 1.0
RETRY_AFTER_MAX = 3600.0
RETRY_AFTER_DEFAULT = 30.0


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds Telegram asked us to wait, clamped to [RETRY_AFTER_MIN, RETRY_AFTER_MAX].

    RetryAfter.retry_after is an int before PTB_TIMEDELTA=1 and a timedelta after; PTB passes through
    whatever the server sent, so anything else is possible too.
    """
    value: object = exc.retry_after
    try:
        seconds = value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return RETRY_AFTER_DEFAULT
    if math.isnan(seconds) or seconds <= 0:  # nonsense, not an invitation to retry at once
        return RETRY_AFTER_DEFAULT
    return min(max(seconds, RETRY_AFTER_MIN), RETRY_AFTER_MAX)


def classify_send_error(exc: BaseException) -> SendFailure:
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, RetryAfter):
        seconds = retry_after_seconds(exc)
        return SendFailure(Action.WAIT, f"flood control: retry after {seconds:g}s", delay=seconds)
    if isinstance(exc, ChatMigrated):
        return SendFailure(Action.MIGRATE, f"chat migrated to {exc.new_chat_id}", new_chat_id=int(exc.new_chat_id))
    if isinstance(exc, Forbidden):
        return SendFailure(Action.DEACTIVATE, f"Forbidden: {text}")
    if isinstance(exc, BadRequest):
        if "message is not modified" in lowered:
            return SendFailure(Action.UNCHANGED, f"BadRequest: {text}")
        if any(fragment in lowered for fragment in _GONE):
            return SendFailure(Action.DEACTIVATE, f"BadRequest: {text}")
        if "can't parse entities" in lowered or "unsupported start tag" in lowered:
            return SendFailure(Action.PLAIN_TEXT, f"BadRequest: {text}")
        if "message is too long" in lowered or "text is too long" in lowered:
            return SendFailure(Action.SHORTEN, f"BadRequest: {text}")
        if "message thread not found" in lowered:
            return SendFailure(Action.NO_THREAD, f"BadRequest: {text}")
        return SendFailure(Action.FAIL, f"BadRequest: {text}")
    if isinstance(exc, InvalidToken):
        # A revoked token, or a self-hosted server answering 401 while it restarts: wait it out.
        return SendFailure(Action.OUTAGE, f"InvalidToken: {text}")
    if isinstance(exc, (TimedOut, NetworkError)):
        return SendFailure(Action.OUTAGE, f"{type(exc).__name__}: {text}")
    return SendFailure(Action.BACKOFF, f"{type(exc).__name__}: {text}")
