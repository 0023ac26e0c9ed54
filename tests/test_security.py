"""Security properties: command rate limit, admin-only commands, group admins, HTML escaping, SQL with
parameters only, and the bot token never in the logs of a full run at DEBUG level.

(The SSRF guard has its own file, test_ssrf.py; malformed `pantau classify` / `feeds import` input is
covered by test_eval.py, test_opml.py and test_cli.py.)
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from chat_fixtures import ADMIN_ID, SOLO, classification, harness, new_article, publish
from fake_botapi import TOKEN, FakeBotAPIServer, callback_payload
from test_fuzz_handlers import TelegramHTML
from test_telegram_e2e import Pantau, wait_for

import handlers
from bot.delivery.sender import Sender
from handlers.context import CONTEXT_TYPES
from handlers.ratelimit import RateLimiter, Verdict
from storage import feeds as feed_store
from storage import subscriptions as sub_store
from tests.processes import clean_environ

USER = 4242
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# ---- rate limit ------------------------------------------------------------------------------------
def test_rate_limiter_allows_a_burst_warns_once_then_drops_until_refilled() -> None:
    clock = Ticks()
    limiter = RateLimiter(capacity=3, per=30.0, clock=clock)  # one token per 10 s
    assert [limiter.check(1) for _ in range(3)] == [Verdict.ALLOW] * 3
    assert limiter.check(1) is Verdict.WARN
    assert limiter.wait_seconds(1) == 10
    assert [limiter.check(1) for _ in range(5)] == [Verdict.DROP] * 5
    assert limiter.check(2) is Verdict.ALLOW  # chats are independent
    clock.now = 9.9
    assert limiter.check(1) is Verdict.DROP
    clock.now = 10.0
    assert limiter.check(1) is Verdict.ALLOW
    assert limiter.check(1) is Verdict.WARN  # a new burst over the limit is told again, once
    clock.now = 1000.0
    assert [limiter.check(1) for _ in range(4)] == [Verdict.ALLOW] * 3 + [Verdict.WARN]  # never above capacity


def test_rate_limiter_forgets_idle_chats() -> None:
    clock = Ticks()
    limiter = RateLimiter(capacity=2, per=2.0, clock=clock)
    for chat in range(10_000):
        limiter.check(chat)
    clock.now = 100.0
    limiter.check(-1)
    assert len(limiter._buckets) == 1


async def test_rate_limit_replies_once_then_stays_silent(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        clock = Ticks()
        h.app.bot_data.limiter = RateLimiter(capacity=5, per=60.0, clock=clock)
        replies = [await h.text(USER, "/kasus") for _ in range(8)]
        assert all(len(r) == 1 and "Kasus" in r[0] for r in replies[:5])
        assert len(replies[5]) == 1 and "Terlalu banyak perintah" in replies[5][0]
        assert replies[6:] == [[], []]
        await h.send({"callback_query": callback_payload(USER, "pg:AAAAAAAA:1", message_id=1)})
        assert not h.core.calls_of("answerCallbackQuery")  # buttons count too, and stay silent
        assert await h.text(USER + 1, "/kasus")  # another chat is not affected
        assert await h.text(USER, "/kasus@other_bot") == []  # not ours: not counted, not answered
        clock.now = 12.0
        [again] = await h.text(USER, "/kasus")
        assert "Kasus" in again


def test_the_real_limit_is_wired_in() -> None:
    from telegram.ext import ApplicationBuilder

    app = ApplicationBuilder().token(TOKEN).context_types(CONTEXT_TYPES).build()
    handlers.register(app)
    assert isinstance(app.bot_data.limiter, RateLimiter)
    assert -1 in app.handlers


# ---- who may do what -------------------------------------------------------------------------------
ADMIN_COMMANDS = [name for c in handlers.COMMANDS if c.admin for name in (c.name, *c.aliases)]


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
async def test_non_admins_cannot_run_admin_commands(tmp_path: Path, command: str) -> None:
    async with harness(tmp_path) as h:
        await feed_store.add_feed(h.db, "https://contoh.id/rss", now=h.clock())
        for chat_id, user_id in ((USER, USER), (-100555, 7)):  # private chat, and a group admin of the group
            h.core.admins[-100555] = {7}
            before = len(h.core.sent())
            await h.send({"message": _message(chat_id, f"/{command} 1", user_id)})
            [reply] = [p["text"] for p in h.core.sent()[before:]]
            assert "khusus admin Pantau" in reply
        assert len(await feed_store.list_feeds(h.db)) == 1


def _message(chat_id: int, text: str, user_id: int) -> dict[str, object]:
    from fake_botapi import message_payload

    return {"message": message_payload(chat_id, text, user_id=user_id)}["message"]  # type: ignore[return-value]


async def test_in_groups_only_group_admins_change_subscriptions(tmp_path: Path) -> None:
    group, admin, member = -100666, 7, 8
    async with harness(tmp_path) as h:
        h.core.admins[group] = {admin}
        await h.text(group, "/subscribe Solo", user_id=admin)
        for text in ("/subscribe Bandung", "/langganan", "/unsubscribe 1", "/berhenti all", "/jeda", "/lanjut"):
            [reply] = await h.text(group, text, user_id=member)
            assert "hanya admin grup" in reply, text
        # Buttons: the unsubscribe button, and a picker opened by the admin, pressed by a member.
        await h.send({"callback_query": callback_payload(group, "un:1", message_id=1, user_id=member)})
        assert "hanya admin grup" in h.core.calls_of("answerCallbackQuery")[-1].params["text"]
        await h.text(group, "/subscribe", user_id=admin)
        ok = h.core.sent(group)[-1]["reply_markup"]["inline_keyboard"][-1][0]["callback_data"]
        await h.send({"callback_query": callback_payload(group, ok, message_id=2, user_id=member)})
        assert [s.id for s in await sub_store.list_subscriptions(h.db, group)] == [1]
        assert admin in h.core.admins[group] and ADMIN_ID not in h.core.admins[group]


# ---- HTML escaping ---------------------------------------------------------------------------------
HOSTILE_TITLE = 'Banjir <script>alert("x")</script> & <b>tebal</b> <a href="javascript:x">klik</a>'
HOSTILE_BODY = "Isi <i>miring & </i></b> &amp; &#x3c; <tg-spoiler>rahasia"


async def test_article_text_is_escaped_in_every_message(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(USER, "/subscribe Solo")
        await publish(h.db, new_article(1, classification(SOLO, ["banjir"]), title=HOSTILE_TITLE, body=HOSTILE_BODY))
        await Sender(h.db, h.app.bot, clock=lambda: 0.0, wall_clock=h.clock).drain()
        [alert] = h.core.texts(USER)[1:]
        [latest] = await h.text(USER, "/terbaru Solo")
        [found] = await h.text(USER, "/cari banjir")
        for text in (alert, latest, found):
            assert TelegramHTML().check(text) == [], text
            assert "&lt;script&gt;" in text and "<script>" not in text and 'href="javascript' not in text


# ---- SQL only with parameters ----------------------------------------------------------------------
# Everything interpolated into SQL text is one of these: "?" placeholder lists, fixed clauses built from
# them, constants. A new interpolation fails this test until it is reviewed and listed here.
SAFE_SQL_INTERPOLATIONS = {
    "marks",
    "clause",
    "_ORDER",
    "BUSY_TIMEOUT_MS",
    "int(version)",
    "step",
    "placeholders",
    "HELD",
}
# storage/reports.py: the counting unit and story column (one of two constant expressions), a chat's scope
# and the matched-subscription CASE (conditions with "?" placeholders only, storage.reports.filter_sql), the
# report's constant CTE and SELECT texts.
SAFE_SQL_INTERPOLATIONS |= {"unit", "story", "which", "scope", "cte", "select"}
# The two backends (issue #15): names of tables and columns from the schema's own constant lists
# (storage/copy.py), NOT IN lists and IS NULL alternatives made of "?" only, the dialect's SQL expressions
# around "?" or a column (db.dialect.*, id_col, ids), and a text-key ordering made of column names.
SAFE_SQL_INTERPOLATIONS |= {
    "table",
    "column",
    "', '.join(cols)",
    "', '.join(keys)",
    "', '.join(names)",
    "order_pg",
    "spare",
    "where",
    "user",
    "since",
    "db.dialect.floor(since + ' + 100000')",
    "ids",
    "id_col",
}
# SQL text passed through, not built from values: a caller's constant INSERT with RETURNING appended,
# the PostgreSQL adapter's exact "?" → "%s" translation, and a migration's constant script.
SAFE_SQL_BUILDERS = {"sql + ' RETURNING id'", "translate(sql)", "MIGRATIONS_PG[version].encode()"}


def test_sql_text_never_interpolates_values() -> None:
    found: list[str] = []
    for folder in ("bot", "storage", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                if node.func.attr not in ("execute", "executemany", "executescript", "execute_fetchall"):
                    continue
                if not node.args:
                    continue
                sql = node.args[0]
                if isinstance(sql, ast.JoinedStr):
                    found += [
                        f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(v.value)}"
                        for v in sql.values
                        if isinstance(v, ast.FormattedValue) and ast.unparse(v.value) not in SAFE_SQL_INTERPOLATIONS
                    ]
                elif (
                    isinstance(sql, ast.BinOp | ast.Call)
                    and not (
                        isinstance(sql, ast.Call) and isinstance(sql.func, ast.Attribute) and sql.func.attr == "join"
                    )
                    and ast.unparse(sql) not in SAFE_SQL_BUILDERS
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: SQL built by {ast.unparse(sql)[:60]}")
    assert found == []


# ---- the token in the logs of a full run -----------------------------------------------------------
async def test_token_never_in_the_debug_log_of_a_full_run(tmp_path: Path) -> None:
    """`pantau run` at DEBUG: start-up, commands, a failing send, a failing getUpdates, a handler error."""
    async with FakeBotAPIServer() as api:
        core = api.core
        base = clean_environ()
        env = {
            **base,
            "PANTAU_DB": str(tmp_path / "pantau.db"),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "PANTAU_POLL_INTERVAL": "3600",
            "PANTAU_LOG_LEVEL": "DEBUG",
            "PANTAU_ADMIN_IDS": str(ADMIN_ID),
        }
        bot = Pantau(env, tmp_path / "pantau.log")
        await bot.cli("feeds", "add", "http://127.0.0.1:9/unreachable.xml")  # the poller logs a failure
        await bot.start()
        try:
            await wait_for(lambda: bool(core.calls_of("getUpdates")), 30, "getUpdates")
            core.fail_next("server_error", method="getUpdates")
            core.fail_next("server_error", method="sendMessage")
            core.push_text(USER, "/start")  # its reply fails with 502: the error handler logs it
            core.push_text(USER, "/subscribe Solo")
            core.push_text(ADMIN_ID, "/stats")
            await wait_for(lambda: len(core.texts(USER)) >= 2 and len(core.texts(ADMIN_ID)) >= 1, 30, "replies")
            await asyncio.sleep(0.5)
        finally:
            assert await bot.stop() == 0
    log = (tmp_path / "pantau.log").read_text()
    assert "DEBUG" in log and "getUpdates" in log  # the log really is the full DEBUG log
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
