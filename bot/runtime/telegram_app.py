"""The Telegram bot process: PTB Application + feed poller loop + outbox sender, started and stopped together.

`run_bot(settings)` blocks until SIGINT/SIGTERM. Start-up order (post_init): open the database, put the
services in the typed bot_data (handlers.context.BotData), set the command menu, start the sender (which
first requeues rows a previous process left mid-send), the poll loop and the report scheduler (daily
briefs, spike checks). Shutdown (post_stop → post_shutdown): stop polling feeds, let sends in flight
finish so no row stays 'sending', then close the fetcher and the database.

Roles (bot.runtime.roles): `role=Role.BOT` runs the handlers only. Updates arrive by long polling, or by
webhook when PANTAU_WEBHOOK_URL is set (PTB's tornado server checks the secret-token header). On a
shared database (PostgreSQL), where other Pantau processes may run, the long-polling bot and the sender
each act only while they hold their leader lease (bot.runtime.leader); `run_sender` is `--role sender`.

The token is only ever handed to PTB; PTB puts it in request URLs, so httpx's URL logging is silenced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, ApplicationHandlerStop, Defaults, ExtBot
from telegram.request import BaseRequest, HTTPXRequest

import handlers
from bot.config import Secret, Settings, redact
from bot.delivery.pacer import PacingPolicy
from bot.delivery.sender import Sender
from bot.errors import ConfigError, DatabaseReplacedError, PantauError
from bot.ingest.loop import owner_id
from bot.runtime.leader import LeaderLease, token_key
from bot.runtime.reports import ReportScheduler
from bot.runtime.roles import Role, SenderRole, shared_database
from bot.runtime.runlock import watch_database
from handlers.context import CONTEXT_TYPES, AppContext, BotData, BotServices
from storage.db import Database, open_database

logger = logging.getLogger(__name__)

PTBApp = Application[Any, Any, Any, Any, Any, Any]
DEFAULTS = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
# getUpdates answered 409 Conflict this many times within CONFLICT_WINDOW seconds: another process polls
# the same token (Telegram gives each poller a 409 in turn), so `pantau run` stops and exits 1. One 409
# alone is tolerated (a previous instance's long poll can outlive it briefly). PTB retries after 1, 1.5,
# 2.25 … s, so giving up takes about three seconds and is never a tight loop.
CONFLICT_LIMIT = 3
CONFLICT_WINDOW = 60.0


@dataclass(slots=True)
class _Runtime:
    """Background work owned by the application; kept in bot_data so shutdown can find it."""

    settings: Settings
    background: bool
    policy: PacingPolicy
    role: Role = Role.ALL
    shared: bool = False  # a database other Pantau processes may use: leader leases for sender and bot
    sender_role: SenderRole | None = None
    bot_lease: LeaderLease | None = None  # long polling on a shared database: one active getUpdates
    own_db: bool = False
    fetcher: Any = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    fatal: PantauError | None = None  # why the service stopped itself (run_bot raises it)


class TokenRedactor(logging.Filter):
    """Masks the bot token in every record a handler emits: message, arguments and traceback.

    PTB quotes the token in InvalidToken and puts it in every request URL; a traceback of an httpx
    error can carry that URL, or (a base URL without /bot) the secret part alone as an "invalid port".
    Attached to handlers (not loggers) so records from every logger pass it.
    """

    MASK = "**********"

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = Secret(token)
        self.needles = self.token.needles()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(n in message for n in self.needles):
            record.msg, record.args = redact(message, self.token, self.MASK), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and any(n in record.exc_text for n in self.needles):
            record.exc_text = redact(record.exc_text, self.token, self.MASK)
        return True


def _short_invalid_json(record: logging.LogRecord) -> bool:
    """PTB logs a Bot API answer that is not JSON with the whole body and a traceback; run_bot says what it
    means in one line, so keep the log record to one short line."""
    if record.exc_info and isinstance(record.exc_info[1], ValueError):
        message = record.getMessage()
        record.msg, record.args = (message[:200] + "…" if len(message) > 200 else message), None
        record.exc_info = record.exc_text = None
    return True


def _no_bootstrap_traceback(record: logging.LogRecord) -> bool:
    """A failed start-up getMe ends in run_bot's one line naming the cause; PTB's traceback adds nothing."""
    if record.exc_info and record.getMessage().startswith("Network Retry Loop (Bootstrap"):
        record.exc_info = record.exc_text = None
    return True


def _protect_token(token: str) -> None:
    # httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    request_logger = logging.getLogger("telegram.request.BaseRequest")
    if _short_invalid_json not in request_logger.filters:
        request_logger.addFilter(_short_invalid_json)
    ext_logger = logging.getLogger("telegram.ext")
    if _no_bootstrap_traceback not in ext_logger.filters:
        ext_logger.addFilter(_no_bootstrap_traceback)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        if not any(isinstance(f, TokenRedactor) for f in handler.filters):
            handler.addFilter(TokenRedactor(token))


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    services: BotServices | None = None,
    background: bool = True,
    policy: PacingPolicy | None = None,
    role: Role = Role.ALL,
    shared: bool | None = None,
) -> PTBApp:
    """The PTB Application with every handler registered.

    Tests pass `request` (an in-process fake Bot API) and `services` (an open database, a fixed clock);
    `background=False` skips the poll loop and the sender so a test drives them itself. `role=Role.BOT`:
    handlers only. `shared`: other processes use the database (default: PANTAU_DB is PostgreSQL).
    """
    if settings.telegram_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
    # Opt in to PTB's future RetryAfter.retry_after type now; the old int type warns on every 429.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token.reveal())
        .base_url(settings.api_base_url)
        .base_file_url(_file_url(settings.api_base_url))
        .defaults(DEFAULTS)
        .context_types(CONTEXT_TYPES)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        builder = builder.get_updates_request(UpdatesRequest(connection_pool_size=1))
    application = builder.build()
    data = _bot_data(application)
    default_policy = PacingPolicy(overall_rate=settings.send_rate, max_age=float(settings.delivery_max_age))
    data.runtime = _Runtime(
        settings=settings,
        background=background and role is Role.ALL,
        policy=policy or default_policy,
        role=role,
        shared=shared_database(settings) if shared is None else shared,
    )
    data.services = services
    application.add_error_handler(_on_polling_error)  # first, so a 409 is not logged as a handler error
    handlers.register(application)
    return application


class UpdatesRequest(HTTPXRequest):
    """PTB's HTTP stack for getUpdates, except that a 401/404 answer is retried instead of final.

    PTB ends its polling loop for good on InvalidToken (401/404): one such answer — a token revoked and
    restored, a self-hosted Bot API server restarting — left the process polling feeds and looking
    healthy while no command got an answer. Seen as a 502 instead, it goes through PTB's network-error
    backoff (1 s, growing to 30 s) and `_on_polling_error` logs it loudly, once per try.
    """

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, *args, **kwargs)
        if code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND):
            description = f"{UNAUTHORIZED_MARK} ({code}); commands get no answer until it does; retrying"
            return HTTPStatus.BAD_GATEWAY, json.dumps(
                {"ok": False, "error_code": 502, "description": description}
            ).encode()
        return code, payload


UNAUTHORIZED_MARK = "the Bot API server does not accept the bot token for getUpdates"


def _drop_conflict_tracebacks(record: logging.LogRecord) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], Conflict))


def _bot_data(application: PTBApp) -> BotData:
    data = application.bot_data
    assert isinstance(data, BotData)  # built with CONTEXT_TYPES above
    return data


def _runtime(application: PTBApp) -> _Runtime:
    runtime = _bot_data(application).runtime
    assert isinstance(runtime, _Runtime)
    return runtime


async def _on_polling_error(update: object, context: AppContext) -> None:
    """Errors of getUpdates itself: one log line each, never a traceback (PTB retries them with backoff).

    A 409 Conflict means another poller uses this token: warn, and after CONFLICT_LIMIT 409s stop
    (run_bot exits 1).
    """
    if update is None and isinstance(context.error, NetworkError) and not isinstance(context.error, Conflict):
        if UNAUTHORIZED_MARK in str(context.error):
            logger.error("getUpdates: %s", context.error)
        else:
            logger.warning("getUpdates failed, retrying: %s", context.error)
        raise ApplicationHandlerStop
    if not isinstance(context.error, Conflict):
        return
    now = time.monotonic()
    seen = context.bot_data.conflicts
    seen[:] = [t for t in seen if now - t < CONFLICT_WINDOW] + [now]
    if len(seen) >= CONFLICT_LIMIT:
        logger.error(
            "getUpdates answered 409 Conflict %d times: another process polls this bot token; stopping", len(seen)
        )
        # PTB's final getUpdates on the way out gets a 409 too; that traceback would bury our one line.
        logging.getLogger("telegram.ext.Updater").addFilter(_drop_conflict_tracebacks)
        context.application.stop_running()
    else:
        logger.warning(
            "getUpdates answered 409 Conflict: is another process polling this bot token? (%s)", context.error
        )
    raise ApplicationHandlerStop


def _file_url(base_url: str) -> str:
    """https://api.telegram.org/bot → https://api.telegram.org/file/bot (same for a self-hosted server)."""
    head, sep, tail = base_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if sep else base_url


async def _post_init(application: PTBApp) -> None:
    data = _bot_data(application)
    runtime = _runtime(application)
    settings = runtime.settings
    if data.services is None:
        runtime.own_db = True
        data.services = BotServices(settings=settings, db=await open_database(settings.database, check=True))
    svc = data.services
    runtime.tasks.append(asyncio.create_task(_watch_database(application, svc.db, runtime), name="pantau-dbwatch"))
    token = settings.telegram_token.reveal() if settings.telegram_token else ""
    if runtime.shared and settings.webhook_url is None and runtime.role in (Role.ALL, Role.BOT):
        # One getUpdates per token (Telegram answers the others 409): stand by here until it is ours.
        runtime.bot_lease = LeaderLease(svc.db, f"bot:{token_key(token)}", owner_id("bot"))
        await runtime.bot_lease.wait_acquired()
        logger.info("active long-polling bot (lease %s)", runtime.bot_lease.name)
        runtime.tasks.append(
            asyncio.create_task(_keep_bot_lease(application, runtime.bot_lease, runtime), name="pantau-bot-lease")
        )
    await handlers.set_menu(application, settings.admin_ids)
    if not runtime.background:
        return
    if runtime.shared:
        # Another process may run a sender for this token too: send only as the leader of its lease.
        def track(sender: Sender | None) -> None:
            svc.sender = sender

        lease = LeaderLease(svc.db, sender_lease_name(token), owner_id("sender"))
        runtime.sender_role = SenderRole(svc.db, application.bot, lease, policy=runtime.policy, on_sender=track)
        runtime.tasks.append(asyncio.create_task(runtime.sender_role.run(), name="pantau-sender"))
    else:
        sender = Sender(svc.db, application.bot, policy=runtime.policy)
        svc.sender = sender
        runtime.tasks.append(asyncio.create_task(sender.run(), name="pantau-sender"))
        # Daily briefs and spike checks, queued through the outbox like alerts (bot.runtime.reports).
        scheduler = ReportScheduler(svc.db, clock=svc.clock, wake=sender.wake)
        runtime.tasks.append(asyncio.create_task(scheduler.run(), name="pantau-reports"))
    runtime.tasks.append(asyncio.create_task(_poll_loop(application, svc, runtime), name="pantau-poller"))
    logger.info("bot @%s started: sending ≤ %.0f msg/s", application.bot.username, settings.send_rate)


def sender_lease_name(token: str) -> str:
    """One active sender per bot token: the pacing limits are the token's."""
    return f"sender:{token_key(token)}"


async def _keep_bot_lease(application: PTBApp, lease: LeaderLease, runtime: _Runtime) -> None:
    """Renew the long-polling lease; once lost, stop (exit 1) so a supervisor restarts this as a standby."""
    await lease.keep()
    runtime.fatal = PantauError(
        f"lost the long-polling lease {lease.name} (database unreachable, or another bot instance took "
        "over): stopping so that only one process polls Telegram; restart to stand by"
    )
    application.stop_running()


async def _watch_database(application: PTBApp, db: Database, runtime: _Runtime) -> None:
    """Stop the service (run_bot then exits with one line) once the database's files go from under it."""
    try:
        await watch_database(db)
    except DatabaseReplacedError as exc:
        logger.error("%s", exc)
        runtime.fatal = exc
        application.stop_running()


async def _poll_loop(application: PTBApp, svc: BotServices, runtime: _Runtime) -> None:
    """Poll each feed when it is due (bot.ingest.loop); wake the sender as soon as alerts are queued."""
    from bot.feeds.fetcher import Fetcher
    from bot.ingest.feedlist import ensure_feeds
    from bot.ingest.loop import DEFAULT_TICK, PollLoop
    from bot.ingest.poller import PollSummary
    from bot.runtime.console import make_poller

    settings = svc.settings
    await ensure_feeds(svc.db)
    runtime.fetcher = Fetcher()
    fetcher = await runtime.fetcher.__aenter__()

    def report(summary: PollSummary) -> None:
        if summary.queued and svc.sender is not None:
            svc.sender.wake()
        if summary.new_articles or summary.failed:
            logger.info("%s", summary.line())
        elif summary.fetched:
            logger.debug("%s", summary.line())

    poller = make_poller(svc.db, fetcher, settings)
    await PollLoop(poller, report, tick=min(DEFAULT_TICK, float(settings.poll_interval)), owner=owner_id()).run()


async def _post_stop(application: PTBApp) -> None:
    runtime = _runtime(application)
    svc = _bot_data(application).services
    for task in runtime.tasks:
        if task.get_name() in {"pantau-poller", "pantau-reports"}:
            task.cancel()
    if runtime.sender_role is not None:
        # Sends in flight finish, then the lease is released: a standby takes over at once.
        await runtime.sender_role.stop()
        for task in runtime.tasks:
            if task.get_name() == "pantau-sender":
                await asyncio.wait({task}, timeout=15.0)
    elif svc is not None and svc.sender is not None:
        await svc.sender.stop()
    for task in runtime.tasks:
        task.cancel()
    for task in runtime.tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    runtime.tasks.clear()
    if runtime.bot_lease is not None:
        await runtime.bot_lease.release()


async def _post_shutdown(application: PTBApp) -> None:
    runtime = _runtime(application)
    if runtime.fetcher is not None:
        with contextlib.suppress(Exception):
            await runtime.fetcher.__aexit__(None, None, None)
    svc = _bot_data(application).services
    if runtime.own_db and svc is not None:
        await svc.db.close()


def run_bot(settings: Settings, role: Role = Role.ALL) -> None:
    """Run the bot until SIGINT/SIGTERM (blocking): long polling, or a webhook server with PANTAU_WEBHOOK_URL."""
    if settings.telegram_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
    _protect_token(settings.telegram_token.reveal())
    application = build_application(settings, role=role)
    try:
        if settings.webhook_url is not None:
            _run_webhook(application, settings)
        else:
            # allowed_updates: PTB only asks for my_chat_member when told to; we need it to see blocks/removals.
            application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except InvalidToken:
        # PTB's own message quotes the whole token; never let it reach a log or a terminal.
        raise ConfigError(f"TELEGRAM_BOT_TOKEN was rejected by the Bot API server at {settings.api_base_url}") from None
    except NetworkError as exc:  # getMe at start-up failed: server down, DNS, TLS …
        raise PantauError(
            f"cannot reach the Bot API at {settings.api_base_url}: {_redact(str(exc), settings)}"
        ) from None
    except TelegramError as exc:  # getMe answered, but not like a Bot API (HTML, broken JSON, …)
        raise ConfigError(
            f"TELEGRAM_API_BASE_URL: the server at {settings.api_base_url} did not answer like a Bot API"
            f" ({_redact(str(exc), settings)})"
        ) from None
    fatal = _runtime(application).fatal
    if fatal is not None:
        raise fatal
    if len(_bot_data(application).conflicts) >= CONFLICT_LIMIT:
        raise PantauError(
            "another process is polling Telegram with this bot token (getUpdates answered 409 Conflict): "
            "stop the other bot instance or give this one its own TELEGRAM_BOT_TOKEN"
        )


def _run_webhook(application: PTBApp, settings: Settings) -> None:
    """Serve updates posted by Telegram: setWebhook at start (every instance sets the same URL and secret),
    then PTB's tornado server answers each POST; one without the right X-Telegram-Bot-Api-Secret-Token
    header gets 403 and reaches no handler. Any number of instances can run behind a load balancer."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None  # Settings checks both
    host, port = settings.webhook_listen
    try:
        application.run_webhook(
            listen=host,
            port=port,
            # The path the load balancer forwards: the one of the public URL.
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret.reveal(),
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        )
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise ConfigError(f"PANTAU_WEBHOOK_LISTEN: cannot listen on {host}:{port}: {exc.strerror or exc}") from None


async def run_sender(settings: Settings) -> int:
    """`pantau run --role sender`: the outbox sender and report scheduler as the leader of this token's
    sender lease; a second one stands by and takes over within 10 s of the first one's death."""
    from bot.runtime.console import until_signalled

    if settings.telegram_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
    token = settings.telegram_token.reveal()
    _protect_token(token)
    db = await open_database(settings.database, check=True)
    try:
        bot = ExtBot(
            token,
            base_url=settings.api_base_url,
            base_file_url=_file_url(settings.api_base_url),
            defaults=DEFAULTS,
        )
        async with bot:
            policy = PacingPolicy(overall_rate=settings.send_rate, max_age=float(settings.delivery_max_age))
            lease = LeaderLease(db, sender_lease_name(token), owner_id("sender"))
            role = SenderRole(db, bot, lease, policy=policy)
            await until_signalled(_until_stopped(role))
    finally:
        await db.close()
    return 0


async def _until_stopped(role: SenderRole) -> None:
    """Run `role`; cancelled (a signal), stop it cleanly first: sends finish, the lease is released."""
    task = asyncio.create_task(role.run())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await role.stop()
        await asyncio.wait({task}, timeout=15.0)
        task.cancel()
        raise


def _redact(text: str, settings: Settings) -> str:
    return redact(text, settings.telegram_token)
