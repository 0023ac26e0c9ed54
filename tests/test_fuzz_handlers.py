"""Property-based tests: arbitrary text through every command and button handler.

Real Update objects go through `application.process_update` with the in-process fake Bot API (as in
test_handlers.py). For every input: the bot answers (sendMessage / editMessageText / answerCallbackQuery),
no exception reaches the error handler, every text it sends is one valid Telegram HTML message, and the
database stays consistent (integrity and foreign keys; no subscription without the area/case rows its
flags promise; only known area and case codes stored).

One harness (one database, one application) serves all examples of a test, so state builds up across
examples as it does in a real chat. `PANTAU_FUZZ_EXAMPLES=2000` runs a longer, randomised session.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from chat_fixtures import ADMIN_ID, Harness, harness
from fake_botapi import BOT_USERNAME, callback_payload, message_payload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import handlers
from bot import classify
from bot.formatting import TELEGRAM_MAX_TEXT
from handlers.errors import is_unchanged_edit
from handlers.ratelimit import RateLimiter

_FUZZ_EXAMPLES = int(os.environ.get("PANTAU_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=_FUZZ_EXAMPLES or 500,
    derandomize=not _FUZZ_EXAMPLES,  # the suite stays reproducible; a long session explores anew
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

USER = 4242
GROUP = -100777
GROUP_ADMIN = 7
GROUP_MEMBER = 8

COMMAND_NAMES = [name for c in handlers.COMMANDS for name in (c.name, *c.aliases)]
# Words the parsers give meaning to, so examples reach past "unknown word" into the deeper paths.
VOCABULARY = [
    "Solo",
    "Kota Surakarta",
    "Jawa Tengah",
    "bandung",
    "Yogyakarta",
    "kecelakaan",
    "tabrakan",
    "banjir",
    "negatif",
    "positif",
    "netral",
    "all",
    "semua",
    "1",
    "2",
    "#1",
    "0",
    "-1",
    "99999999999999999999999",
    "²",
    '"',
    "“",
    "”",
    '"jalan tol"',
    '-"simulasi"',
    "-",
    ",",
    "dan",
    "<b>",
    "</i>",
    "&amp;",
    "<a href='x'>",
    "https://contoh.id/rss",
    "http://127.0.0.1/feed",
    "ftp://x",
    "NEAR(",
    "AND",
    "*",
    ":",
    "\x00",
    "\u202e",
    "🔥",
    "\n",
    "\t",
    "ـ",
    "٣",
]

args_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(VOCABULARY), max_size=8).map(" ".join),
    st.lists(st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=8)), max_size=6).map(" ".join),
    # 10,000 characters: meaningful words repeated, or random ones.
    st.builds(lambda words: (" ".join(words) * 10_000)[:10_000], st.lists(st.sampled_from(VOCABULARY), min_size=1)),
    st.builds(lambda chunk: (chunk * 10_000)[:10_000], st.text(min_size=1, max_size=50)),
)
# (chat id, user id, chat type): a private user, the bot admin, a group admin, a group member, a channel.
senders = st.sampled_from(
    [
        (USER, USER, "private"),
        (ADMIN_ID, ADMIN_ID, "private"),
        (GROUP, GROUP_ADMIN, "supergroup"),
        (GROUP, GROUP_MEMBER, "supergroup"),
        (-100888, 0, "channel"),
    ]
)
numbers = st.one_of(st.integers(0, 40).map(str), st.text(alphabet="0123456789", min_size=1, max_size=30))
# Button-state tokens: 8 URL-safe characters (storage.button_state), or not quite.
tokens = st.one_of(
    st.text(alphabet="ABCDEFGHabcdefgh0123456789_-", min_size=8, max_size=8),
    st.text(alphabet="ABCDabcd01_-:", min_size=0, max_size=12),
    numbers,
)
callback_data = st.one_of(
    st.builds(
        lambda n, op, arg: f"pk:{n}:{op}" + (f":{arg}" if arg is not None else ""),
        tokens,
        st.sampled_from(["find", "x", "ok", "c", "s", "a", "clr", "", "zz"]),
        st.one_of(
            st.none(),
            st.sampled_from([*classify.CASE_KEYS, "neg", "net", "pos", "33.72", "33", "99.99", ""]),
            st.text(max_size=40),
        ),
    ),
    st.builds(lambda a, b: f"pg:{a}:{b}", tokens, numbers),
    st.builds(lambda a, op: f"fb:{a}:{op}", numbers, st.sampled_from(["k", "m", "x", ""])),
    st.builds(
        lambda t, op, arg: f"cr:{t}:{op}" + (f":{arg}" if arg is not None else ""),
        tokens,
        st.sampled_from(["city", "cases", "sent", "irr", "x", "back", "type", "save", "c", "t", "s", "zz"]),
        st.one_of(
            st.none(),
            st.sampled_from([*classify.CASE_KEYS, "neg", "net", "pos", "33.72", "33.11", "99.99", "-", ""]),
            st.text(max_size=30),
        ),
    ),
    st.builds(lambda a: f"un:{a}", st.one_of(numbers, st.just("all"))),
    st.builds(lambda a: f"st:{a}", numbers),
    st.text(max_size=64),
)


class TelegramHTML(HTMLParser):
    """Checks text the way Telegram parses parse_mode=HTML: known tags only, balanced, valid entities."""

    TAGS = frozenset(
        {
            "b",
            "strong",
            "i",
            "em",
            "u",
            "ins",
            "s",
            "strike",
            "del",
            "a",
            "code",
            "pre",
            "tg-spoiler",
            "span",
            "blockquote",
            "tg-emoji",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.TAGS:
            self.errors.append(f"unsupported tag <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            self.errors.append(f"unknown entity &{name};")

    def check(self, text: str) -> list[str]:
        # A bare "<" or "&" that is not a tag/entity is what breaks Telegram's parser; HTMLParser skips it.
        if re.search(r"<(?![a-zA-Z/])", text) or re.search(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
            self.errors.append("unescaped < or &")
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed {self.stack}")
        return self.errors


async def _db_problems(h: Harness) -> list[str]:
    problems: list[str] = []
    conn = h.db.conn
    async with conn.execute("PRAGMA integrity_check") as cur:
        rows = [r[0] for r in await cur.fetchall()]
    if rows != ["ok"]:
        problems.append(f"integrity_check: {rows}")
    async with conn.execute("PRAGMA foreign_key_check") as cur:
        if rows := list(await cur.fetchall()):
            problems.append(f"foreign_key_check: {[tuple(r) for r in rows]}")
    queries = {
        "subscription without its areas": "SELECT id FROM subscriptions s WHERE any_area = 0 AND NOT EXISTS "
        "(SELECT 1 FROM subscription_areas a WHERE a.subscription_id = s.id)",
        "subscription without its cases": "SELECT id FROM subscriptions s WHERE any_case = 0 AND NOT EXISTS "
        "(SELECT 1 FROM subscription_cases c WHERE c.subscription_id = s.id)",
        "subscription of an unknown chat": "SELECT id FROM subscriptions WHERE chat_id NOT IN (SELECT id FROM chats)",
    }
    for what, sql in queries.items():
        async with conn.execute(sql) as cur:
            if rows := list(await cur.fetchall()):
                problems.append(f"{what}: {[tuple(r) for r in rows]}")
    async with conn.execute("SELECT area_code FROM subscription_areas") as cur:
        for (code,) in await cur.fetchall():
            if classify.place_by_code(code) is None and classify.province_by_code(code) is None:
                problems.append(f"unknown area code stored: {code!r}")
    async with conn.execute("SELECT case_key FROM subscription_cases") as cur:
        for (key,) in await cur.fetchall():
            if key not in classify.CASE_KEYS:
                problems.append(f"unknown case stored: {key!r}")
    return problems


class Session:
    """One harness driven synchronously, so hypothesis can call into it example by example."""

    REPLIES = frozenset({"sendMessage", "editMessageText", "answerCallbackQuery"})

    def __init__(self, h: Harness, loop: asyncio.AbstractEventLoop) -> None:
        self.h = h
        self.loop = loop
        self.errors: list[BaseException] = []
        self.examples = 0

        async def capture(update: object, context: Any) -> None:
            assert context.error is not None
            if not is_unchanged_edit(context.error):  # a place typed twice: the app's error handler lets it be
                self.errors.append(context.error)

        h.app.add_error_handler(capture)
        # The limit has its own tests; here every example must reach its handler.
        h.app.bot_data.limiter = RateLimiter(capacity=10**9)

        async def probe(url: str) -> None:  # /addfeed: no network; test_ssrf.py covers the guard
            return None

        h.services.feed_probe = probe
        h.core.admins[GROUP] = {GROUP_ADMIN}

    def run(self, payload: dict[str, Any]) -> None:
        self.examples += 1
        self.errors.clear()
        before = len(self.h.core.calls)
        self.loop.run_until_complete(asyncio.wait_for(self.h.send(payload), timeout=20))
        assert not self.errors, f"handler raised {self.errors[0]!r} for {payload!r}"
        calls = self.h.core.calls[before:]
        assert any(c.method in self.REPLIES for c in calls), f"no reply to {payload!r}"
        for call in calls:
            text = call.params.get("text")
            if text is None or call.method == "answerCallbackQuery":
                assert text is None or len(text) <= 200, f"callback answer too long for {payload!r}"
                continue
            assert 0 < len(text) <= TELEGRAM_MAX_TEXT, f"{call.method} text of {len(text)} chars for {payload!r}"
            problems = TelegramHTML().check(text)
            assert not problems, f"{problems} in {text[:300]!r} for {payload!r}"
        problems = self.loop.run_until_complete(_db_problems(self.h))
        assert not problems, f"{problems} after {payload!r}"


def _with_session(tmp_path: Path, body: Callable[[Session], None]) -> int:
    loop = asyncio.new_event_loop()
    cm = harness(tmp_path)
    try:
        h = loop.run_until_complete(cm.__aenter__())
        try:
            session = Session(h, loop)
            body(session)
            return session.examples
        finally:
            loop.run_until_complete(cm.__aexit__(None, None, None))
    finally:
        loop.close()


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def test_every_command_answers_any_text(tmp_path: Path) -> None:
    def body(session: Session) -> None:
        @FUZZ
        @given(name=st.sampled_from(COMMAND_NAMES), mention=st.booleans(), args=args_text, sender=senders)
        def check(name: str, mention: bool, args: str, sender: tuple[int, int, str]) -> None:
            chat_id, user_id, chat_type = sender
            command = f"/{name}" + (f"@{BOT_USERNAME}" if mention else "")
            text = f"{command} {args}" if args else command
            session.run({"message": message_payload(chat_id, text, user_id=user_id, chat_type=chat_type)})

        check()

    assert _with_session(tmp_path, body) >= FUZZ.max_examples


def test_every_button_answers_any_callback_data(tmp_path: Path) -> None:
    def body(session: Session) -> None:
        # Open pickers and remember queries first, so the data can name live state as well as stale.
        for chat_id, user_id, chat_type in [(USER, USER, "private"), (GROUP, GROUP_ADMIN, "supergroup")]:
            for text in ("/subscribe", "/subscribe Solo", "/terbaru", "/cari banjir", "/unsubscribe"):
                session.run({"message": message_payload(chat_id, text, user_id=user_id, chat_type=chat_type)})
        # Alerts with their Koreksi / Bisukan buttons, one opened into the correction keyboard.
        session.loop.run_until_complete(_alert_both(session.h))
        koreksi = next(d for d in _live_data(session.h) if d.startswith("fb:") and d.endswith(":k"))
        session.run({"callback_query": callback_payload(USER, koreksi, message_id=_alert_id(session.h), user_id=USER)})
        live = sorted(set(_live_data(session.h)))
        message_ids = st.one_of(st.integers(1, 2000), st.just(_alert_id(session.h)))

        @FUZZ
        @given(data=st.one_of(callback_data, st.sampled_from(live)), sender=senders, message_id=message_ids)
        def check(data: str, sender: tuple[int, int, str], message_id: int) -> None:
            chat_id, user_id, _ = sender
            session.run({"callback_query": callback_payload(chat_id, data, message_id=message_id, user_id=user_id)})

        check()

    assert _with_session(tmp_path, body) >= FUZZ.max_examples


async def _alert_both(h: Harness) -> None:
    from chat_fixtures import SOLO, classification, new_article

    from bot.delivery.pacer import PacingPolicy
    from bot.delivery.sender import Sender
    from bot.ingest.store import store_and_queue

    article = new_article(900, classification(SOLO, ["kecelakaan"]), title="Truk <b>tabrak</b> motor di Solo")
    await store_and_queue(h.db, None, [article], source="Warta <i>Solo</i>", now=h.clock())
    policy = PacingPolicy(overall_rate=1000.0, private_interval=0.0, group_interval=0.0)
    await Sender(h.db, h.app.bot, policy=policy, wall_clock=h.clock).drain()


def _alert_id(h: Harness) -> int:
    return max(mid for (chat, mid), m in h.core.messages.items() if chat == USER and "Truk" in m["text"])


def _live_data(h: Harness) -> list[str]:
    """Callback data on every keyboard the bot has shown (live tokens, as a user could press them)."""
    found = []
    for message in h.core.messages.values():
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            found += [b["callback_data"] for b in row if "callback_data" in b]
    return found


def test_typed_city_answers_any_text(tmp_path: Path) -> None:
    """Text typed while a picker waits for a city name (a message handler, not a command)."""

    def body(session: Session) -> None:
        session.run({"message": message_payload(USER, "/subscribe", user_id=USER)})

        @FUZZ
        @given(text=args_text.filter(lambda t: t and not t.startswith("/")))
        def check(text: str) -> None:
            session.run({"message": message_payload(USER, text, user_id=USER)})

        check()

    assert _with_session(tmp_path, body) >= FUZZ.max_examples


async def test_picker_accepts_only_known_areas(tmp_path: Path) -> None:
    """Forged "add area" data must not store an area code the classifier does not know."""
    async with harness(tmp_path) as h:
        await h.text(USER, "/subscribe")
        for data in ("pk:1:a:<b>junk</b>", "pk:1:a:99.99", "pk:1:ok"):
            await h.send({"callback_query": callback_payload(USER, data, message_id=1)})
        assert await _db_problems(h) == []
