"""A fake Telegram Bot API for tests, in two transports over one behaviour (`FakeBotCore`):

- `FakeRequest`: a `telegram.request.BaseRequest` for in-process tests (no sockets), passed to
  `ApplicationBuilder().request(...)` or `Bot(..., request=...)`;
- `FakeBotAPIServer`: a real HTTP server on 127.0.0.1 (aiohttp) for PTB's real HTTPXRequest stack and for
  the `pantau run` subprocess (TELEGRAM_API_BASE_URL=server.base_url).

It answers getMe, deleteWebhook, setWebhook (its parameters kept in `webhook`: url, secret_token, …),
getUpdates (long polling over queued updates), sendMessage, sendPhoto and sendDocument (uploads are
recorded: `Call.files` maps each multipart part to (file name, bytes)), editMessageText,
editMessageReplyMarkup, answerCallbackQuery, setMyCommands, deleteMyCommands, getChatMember,
getChatAdministrators; any other method gets 400 (a 404 would read as InvalidToken).

Switches (see `FakeBotCore.fail_next` and the sets below): answer 429 with retry_after, 403, 400 "chat not
found", 400 with migrate_to_chat_id, 400 "can't parse entities", 400 "message is too long", 502, a hang
longer than the client's timeout ("timeout"), 409 on getUpdates ("conflict", or `conflict = True` for
another poller that never goes away), or answer slowly (`delay`). Like Telegram, sendMessage and
editMessageText refuse a text longer than `max_text_length` (4,096, counted in UTF-16 units).

Edits are recorded (`edits`). With `unchanged_edit_fails`, editMessageText of a message the fake sent,
with the text and keyboard it already shows, answers 400 "message is not modified", as Telegram does.
sendMessage with `reply_parameters` naming an unknown message answers "message to be replied not found"
unless `allow_sending_without_reply`.
Every call is recorded with its monotonic arrival time, so pacing can be measured from the server side.
Every message the bot sent is kept as it stands after edits (`message(chat_id, message_id)`): its text and
inline keyboard, so a test can press the buttons a real user would see (`buttons`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

TOKEN = "123456:TEST-token-for-the-fake-bot-api"
BOT_ID = 123456
BOT_USERNAME = "pantau_test_bot"

# Form values that are plain strings even when they look like JSON ("123" as message text).
_STRING_PARAMS = frozenset({"text", "caption", "callback_query_id", "parse_mode", "url", "description"})


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() on arrival
    status: int | None = None  # HTTP status once answered (None while in flight)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # multipart uploads: part → (name, bytes)


@dataclass
class Failure:
    # retry_after | forbidden | chat_not_found | migrate | parse_entities | too_long | server_error | timeout
    # | conflict (use method="getUpdates") | unauthorized (401) | bad_request
    kind: str
    method: str = "sendMessage"
    chat_id: int | None = None  # None: any chat
    times: int = 1
    retry_after: int = 1
    migrate_to: int | None = None
    description: str | None = None
    hang: float = 3.0  # "timeout": seconds before answering 504 (set it above the client's read timeout)


@dataclass
class FakeBotCore:
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)  # every send answers 403 until removed
    missing: set[int] = field(default_factory=set)  # every send answers 400 chat not found
    admins: dict[int, set[int]] = field(default_factory=dict)  # chat id → admin user ids
    chat_types: dict[int, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering sendMessage / editMessageText ("slowly")
    slow_chats: dict[int, float] = field(default_factory=dict)  # per-chat extra delay for sendMessage
    commands: list[dict[str, Any]] = field(default_factory=list)
    conflict: bool = False  # every getUpdates answers 409: another poller uses this token
    max_text_length: int = 4096
    # Answer an edit that changes nothing with 400 "message is not modified", as Telegram does.
    unchanged_edit_fails: bool = True
    webhook: dict[str, Any] = field(default_factory=dict)  # the last setWebhook's parameters ({} after delete)

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._next_message_id = 1000
        self._new_update: asyncio.Event | None = None
        # (chat id, message id) → the message as it stands now (after edits).
        self.messages: dict[tuple[Any, int], dict[str, Any]] = {}

    # ---- scripting -------------------------------------------------------------------------------
    def fail_next(self, kind: str, **kwargs: Any) -> Failure:
        failure = Failure(kind=kind, **kwargs)
        self.failures.append(failure)
        return failure

    def push_update(self, payload: dict[str, Any]) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **payload})
        if self._new_update is not None:
            self._new_update.set()
        return update_id

    def push_text(self, chat_id: int, text: str, **kwargs: Any) -> int:
        return self.push_update({"message": message_payload(chat_id, text, **kwargs)})

    # ---- reading what happened ------------------------------------------------------------------
    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Params of successful sendMessage calls (optionally to one chat), in order."""
        return [
            c.params
            for c in self._answered
            if c.method == "sendMessage" and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    def uploads(self, method: str, chat_id: int | None = None) -> list[Call]:
        """Successful sendPhoto / sendDocument calls (optionally to one chat), with their files."""
        return [
            c for c in self._answered if c.method == method and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [p["text"] for p in self.sent(chat_id)]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        return self.messages[(chat_id, message_id)]

    def buttons(self, chat_id: int, message_id: int) -> dict[str, str]:
        """label → callback data of the inline keyboard the message shows now."""
        markup = self.messages[(chat_id, message_id)].get("reply_markup") or {}
        return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row}

    def answers(self) -> list[str]:
        """The texts of answered callback queries, in order ("" for an empty answer)."""
        return [str(c.params.get("text") or "") for c in self._answered if c.method == "answerCallbackQuery"]

    def edits(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Params of successful editMessageText calls (optionally to one chat), in order."""
        return [
            c.params
            for c in self._answered
            if c.method == "editMessageText" and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    def message_text(self, chat_id: int, message_id: int) -> str | None:
        """The current text of a message the fake sent (after any edits), or None."""
        message = self.messages.get((chat_id, message_id))
        return str(message["text"]) if message is not None else None

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    # ---- the behaviour --------------------------------------------------------------------------
    @property
    def _answered(self) -> Iterator[Call]:
        return (c for c in self.calls if c.status == 200)

    def _chat_type(self, chat_id: Any) -> str:
        if isinstance(chat_id, int) and chat_id in self.chat_types:
            return self.chat_types[chat_id]
        return "private" if isinstance(chat_id, int) and chat_id > 0 else "supergroup"

    def _take_failure(self, method: str, chat_id: Any) -> Failure | None:
        for failure in self.failures:
            if failure.method == method and (failure.chat_id is None or failure.chat_id == chat_id):
                failure.times -= 1
                if failure.times <= 0:
                    self.failures.remove(failure)
                return failure
        return None

    @staticmethod
    def _error(code: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return code, body

    async def _failure_answer(self, failure: Failure) -> tuple[int, dict[str, Any]]:
        if failure.kind == "retry_after":
            return self._error(
                429, f"Too Many Requests: retry after {failure.retry_after}", retry_after=failure.retry_after
            )
        if failure.kind == "forbidden":
            return self._error(403, failure.description or "Forbidden: bot was blocked by the user")
        if failure.kind == "chat_not_found":
            return self._error(400, "Bad Request: chat not found")
        if failure.kind == "migrate":
            return self._error(
                400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=failure.migrate_to
            )
        if failure.kind == "parse_entities":
            return self._error(400, 'Bad Request: can\'t parse entities: unsupported start tag "x" at byte offset 0')
        if failure.kind == "too_long":
            return self._error(400, "Bad Request: message is too long")
        if failure.kind == "server_error":
            return self._error(502, "Bad Gateway")
        if failure.kind == "timeout":
            await asyncio.sleep(failure.hang)
            return self._error(504, "Gateway Timeout")
        if failure.kind == "conflict":
            return self._conflict()
        if failure.kind == "unauthorized":
            return self._error(401, "Unauthorized")
        return self._error(400, failure.description or "Bad Request: something is wrong")

    def _message(
        self, chat_id: Any, text: str, params: dict[str, Any], message_id: int | None = None
    ) -> dict[str, Any]:
        if message_id is None:
            self._next_message_id += 1
            message_id = self._next_message_id
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": self._chat_type(chat_id)},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Pantau", "username": BOT_USERNAME},
            "text": text,
        }
        if params.get("message_thread_id") is not None:
            message["message_thread_id"] = params["message_thread_id"]
            message["is_topic_message"] = True
        # Telegram echoes only inline keyboards back in the Message (a ForceReply is not returned).
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    async def handle(
        self, method: str, params: dict[str, Any], files: dict[str, tuple[str, bytes]] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: (HTTP status, JSON body)."""
        call = Call(method, params, time.monotonic(), files=dict(files or {}))
        self.calls.append(call)
        status, body = await self._answer(method, params)
        call.status = status
        return status, body

    async def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = params.get("chat_id")
        failure = self._take_failure(method, chat_id)
        if failure is not None:
            return await self._failure_answer(failure)
        if method == "getUpdates" and self.conflict:
            return self._conflict()
        too_long = len(str(params.get("text", "")).encode("utf-16-le")) // 2 > self.max_text_length
        if method in {"sendMessage", "editMessageText"} and too_long:
            return self._error(400, "Bad Request: message is too long")
        if method in {"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup"}:
            pause = self.delay + self.slow_chats.get(chat_id, 0.0) if isinstance(chat_id, int) else self.delay
            if pause:
                await asyncio.sleep(pause)
            if chat_id in self.blocked:
                return self._error(403, "Forbidden: bot was blocked by the user")
            if chat_id in self.missing:
                return self._error(400, "Bad Request: chat not found")
        ok = lambda result: (200, {"ok": True, "result": result})  # noqa: E731
        if method == "getMe":
            return ok(
                {
                    "id": BOT_ID,
                    "is_bot": True,
                    "first_name": "Pantau",
                    "username": BOT_USERNAME,
                    "can_join_groups": True,
                    "can_read_all_group_messages": False,
                    "supports_inline_queries": False,
                }
            )
        if method == "setWebhook":
            if not str(params.get("url", "")).startswith(("http://", "https://")):
                return self._error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
            self.webhook = dict(params)
            return ok(True)
        if method == "deleteWebhook":
            self.webhook = {}
        if method in {"deleteWebhook", "setMyCommands", "deleteMyCommands", "answerCallbackQuery", "close"}:
            if method == "setMyCommands":
                self.commands = list(params.get("commands", []))
            return ok(True)
        if method == "getUpdates":
            return ok(await self._get_updates(params))
        if method == "sendMessage":
            reply = params.get("reply_parameters")
            if isinstance(reply, dict):
                known_reply = (reply.get("chat_id", chat_id), reply.get("message_id")) in self.messages
                if not known_reply and not reply.get("allow_sending_without_reply"):
                    return self._error(400, "Bad Request: message to be replied not found")
            message = self._message(chat_id, str(params.get("text", "")), params)
            self.messages[(chat_id, message["message_id"])] = message
            return ok(message)
        if method in {"sendPhoto", "sendDocument"}:
            message = self._message(chat_id, "", params)
            message.pop("text", None)
            message["caption"] = str(params.get("caption", ""))
            return ok(message)
        if method == "editMessageText" and self.unchanged_edit_fails:
            current = self.messages.get((chat_id, params.get("message_id")))  # type: ignore[call-overload]
            markup = params.get("reply_markup")
            if (
                current is not None
                and current["text"] == str(params.get("text", ""))
                and current.get("reply_markup") == (markup if isinstance(markup, dict) else None)
            ):
                return self._error(
                    400,
                    "Bad Request: message is not modified: specified new message content and reply markup are "
                    "exactly the same as a current content and reply markup of the message",
                )
        if method in {"editMessageText", "editMessageReplyMarkup"}:
            message_id = params.get("message_id")
            known = self.messages.get((chat_id, message_id)) if isinstance(message_id, int) else None
            text = str(params["text"]) if "text" in params else str((known or {}).get("text", ""))
            message = self._message(chat_id, text, params, message_id=message_id)
            if known is not None:
                edited = {**known, "text": text}
                edited.pop("reply_markup", None)  # an edit without a keyboard removes it, as in Telegram
                if "reply_markup" in message:
                    edited["reply_markup"] = message["reply_markup"]
                self.messages[(chat_id, message_id)] = edited
            return ok(message)
        if method == "getChatMember":
            user_id = params.get("user_id")
            is_admin = user_id in self.admins.get(chat_id, set())
            user = {"id": user_id, "is_bot": False, "first_name": "U"}
            if is_admin:
                member = {"status": "administrator", "user": user, **_ADMIN_RIGHTS}
            else:
                member = {"status": "member", "user": user}
            return ok(member)
        if method == "getChatAdministrators":
            users = self.admins.get(chat_id, set())
            return ok(
                [
                    {"status": "administrator", "user": {"id": u, "is_bot": False, "first_name": "A"}, **_ADMIN_RIGHTS}
                    for u in users
                ]
            )
        return self._error(400, f"Bad Request: method {method} is not implemented by the fake")

    def _conflict(self) -> tuple[int, dict[str, Any]]:
        return self._error(
            409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
        )

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        # Confirming an offset drops the updates before it, as Telegram does.
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            self._new_update = asyncio.Event()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout=min(timeout, 2.0))
            except TimeoutError:
                pass
            finally:
                self._new_update = None
        limit = int(params.get("limit") or 100)
        return list(self._updates[:limit])


_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}


# ---- update payload builders ---------------------------------------------------------------------
_message_ids = iter(range(1, 10**9))


def _chat(chat_id: int, chat_type: str | None, title: str | None = None, is_forum: bool = False) -> dict[str, Any]:
    kind = chat_type or ("private" if chat_id > 0 else "supergroup")
    chat: dict[str, Any] = {"id": chat_id, "type": kind}
    if kind == "private":
        chat["first_name"] = "Tester"
    else:
        chat["title"] = title or f"Grup {chat_id}"
    if is_forum:
        chat["is_forum"] = True
    return chat


def message_payload(
    chat_id: int,
    text: str,
    *,
    user_id: int | None = None,
    chat_type: str | None = None,
    thread_id: int | None = None,
    reply_to_bot: bool = False,
    reply_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A message as Telegram sends it; a leading /command gets its bot_command entity (PTB needs it)."""
    user = user_id if user_id is not None else (chat_id if chat_id > 0 else 7)
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": _chat(chat_id, chat_type, is_forum=thread_id is not None),
        "text": text,
    }
    if (chat_type or "") != "channel":
        message["from"] = {"id": user, "is_bot": False, "first_name": "Tester", "language_code": "id"}
    if text.startswith("/"):
        length = len(text.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    if thread_id is not None:
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
    if reply_to_bot:
        message["reply_to_message"] = {
            "message_id": next(_message_ids),
            "date": int(time.time()),
            "chat": _chat(chat_id, chat_type),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Pantau", "username": BOT_USERNAME},
            "text": "Ketik nama kota:",
        }
    if reply_to is not None:  # a reply to one of the bot's messages (as FakeBotCore.message() has it)
        message["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_markup"}
    return message


def callback_payload(
    chat_id: int,
    data: str,
    *,
    message_id: int,
    user_id: int | None = None,
    text: str = "…",
    chat_type: str | None = None,
) -> dict[str, Any]:
    user = user_id if user_id is not None else (chat_id if chat_id > 0 else 7)
    return {
        "id": f"cbq-{next(_message_ids)}",
        "from": {"id": user, "is_bot": False, "first_name": "Tester"},
        "chat_instance": f"ci-{chat_id}",
        "data": data,
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat(chat_id, chat_type),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Pantau", "username": BOT_USERNAME},
            "text": text,
        },
    }


def my_chat_member_payload(
    chat_id: int, old: str, new: str, *, chat_type: str | None = None, user_id: int = 7
) -> dict[str, Any]:
    bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Pantau", "username": BOT_USERNAME}
    return {
        "chat": _chat(chat_id, chat_type),
        "from": {"id": user_id, "is_bot": False, "first_name": "Tester"},
        "date": int(time.time()),
        "old_chat_member": {"status": old, "user": bot_user, **({"until_date": 0} if old == "kicked" else {})},
        "new_chat_member": {"status": new, "user": bot_user, **({"until_date": 0} if new == "kicked" else {})},
    }


# ---- transport 1: in-process BaseRequest ---------------------------------------------------------
class FakeRequest(BaseRequest):
    """Routes PTB's requests to a FakeBotCore without sockets."""

    def __init__(self, core: FakeBotCore | None = None) -> None:
        self.core = core or FakeBotCore()

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        # Round-trip through JSON so tests see what a server would see (no PTB objects).
        params = json.loads(json.dumps(params))
        files: dict[str, tuple[str, bytes]] = {}
        if request_data is not None and request_data.contains_files:
            for part, (name, content, *_rest) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                files[part] = (str(name), data)
        status, body = await self.core.handle(api_method, params, files)
        return status, json.dumps(body).encode()


# ---- transport 2: real HTTP on 127.0.0.1 ---------------------------------------------------------
class FakeBotAPIServer:
    """`async with FakeBotAPIServer() as server:` then point PTB at `server.base_url`."""

    def __init__(self, core: FakeBotCore | None = None) -> None:
        self.core = core or FakeBotCore()
        self._runner: Any = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def __aenter__(self) -> FakeBotAPIServer:
        from aiohttp import web

        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._new_update_event() is not None:
            self._new_update_event().set()  # type: ignore[union-attr]
        await self._runner.cleanup()

    def _new_update_event(self) -> asyncio.Event | None:
        return self.core._new_update

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        if request.match_info["token"] != self.core.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                    continue
                if isinstance(value, str) and key not in _STRING_PARAMS:
                    try:
                        params[key] = json.loads(value)
                        continue
                    except ValueError:
                        pass
                params[key] = value
        params.update({k: v for k, v in request.query.items() if k not in params})
        status, body = await self.core.handle(request.match_info["method"], params, files)
        return web.json_response(body, status=status)
