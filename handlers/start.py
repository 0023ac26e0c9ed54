"""/start, /help, and the chat lifecycle: added, blocked or removed (my_chat_member), migrated."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from handlers import texts
from handlers.common import chat_of, is_bot_admin, message_of, register, reply
from handlers.context import AppContext, services
from storage import chats as chat_store

logger = logging.getLogger(__name__)

_GONE = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)


async def start(update: Update, context: AppContext) -> None:
    """Greet, explain in three lines, register (or reactivate) the chat."""
    svc = services(context)
    before = await chat_store.get_chat(svc.db, chat_of(update).id)
    await register(update, context)
    text = texts.START
    if before is not None and not before.active:
        text = texts.START_AGAIN + "\n\n" + text
    await reply(update, text)


async def help_command(update: Update, context: AppContext) -> None:
    """List every command with an example."""
    await register(update, context)
    text = texts.HELP + (texts.ADMIN_HELP if is_bot_admin(update, context) else "")
    await reply(update, text)


async def my_chat_member(update: Update, context: AppContext) -> None:
    """The bot was blocked/removed (deactivate, keep subscriptions) or added/unblocked (register)."""
    change = update.my_chat_member
    assert change is not None
    svc = services(context)
    chat = change.chat
    status = change.new_chat_member.status
    if status in _GONE:
        reason = "removed from chat" if chat.type != "private" else "bot was blocked by the user"
        await chat_store.ensure_chat(svc.db, chat.id, type=chat.type, title=chat.title, now=svc.now())
        failed = await chat_store.deactivate_chat(svc.db, chat.id, reason, now=svc.now())
        logger.info("chat %s deactivated (%s); %d queued alerts marked failed", chat.id, reason, failed)
    elif status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR):
        title = chat.title or chat.username or chat.first_name
        await chat_store.register_chat(svc.db, chat.id, type=chat.type, title=title, now=svc.now())
        logger.info("chat %s (re)activated: bot is %s", chat.id, status)
        joined = change.old_chat_member.status in _GONE
        if joined and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            # Added to a group: say who manages subscriptions (a forbidden send just means we cannot post).
            with contextlib.suppress(TelegramError):
                await context.bot.send_message(chat.id, texts.GROUP_GREETING)


async def migrated(update: Update, context: AppContext) -> None:
    """A group became a supergroup: move its subscriptions and queue to the new id."""
    message = message_of(update)
    svc = services(context)
    if message.migrate_to_chat_id is not None:
        await chat_store.migrate_chat(svc.db, message.chat.id, message.migrate_to_chat_id, now=svc.now())
        logger.info("chat %s migrated to %s", message.chat.id, message.migrate_to_chat_id)


async def unknown_command(update: Update, context: AppContext) -> None:
    """A /command we do not have, in a private chat: say so (in groups it may be another bot's)."""
    text = message_of(update).text or ""
    name = text.split(maxsplit=1)[0][1:].partition("@")[0] if text.startswith("/") else ""
    await reply(update, texts.unknown_command(name))


async def stale_button(update: Update, context: AppContext) -> None:
    """A button no handler recognises (an old keyboard, or forged data): say it has expired."""
    query = update.callback_query
    assert query is not None
    await query.answer(texts.EXPIRED, show_alert=True)
