"""Small helpers shared by handlers: the argument text, who may change a chat, replying, saving a subscription."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType

from bot.models import SubscriptionFilter
from bot.subscriptions.query import describe_filter
from handlers import texts
from handlers.context import AppContext, PendingSubscription, pending_to_json, services
from storage import button_state
from storage import chats as chat_store
from storage import subscriptions as sub_store
from storage.chats import Chat as StoredChat
from storage.subscriptions import SubscriptionLimitError


def message_of(update: Update) -> Message:
    message = update.effective_message
    assert message is not None  # command and message handlers only fire on updates with one
    return message


def chat_of(update: Update) -> Chat:
    chat = update.effective_chat
    assert chat is not None
    return chat


def args_text(message: Message) -> str:
    """Everything after the command, with quotes intact (context.args splits inside quoted phrases)."""
    text = message.text or message.caption or ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def thread_of(message: Message) -> int | None:
    """The forum topic a message was sent in (a subscription made there delivers there)."""
    return message.message_thread_id if message.is_topic_message else None


async def register(update: Update, context: AppContext) -> StoredChat:
    """Create or reactivate the chat row: a command from a chat proves it can hear us again."""
    chat = chat_of(update)
    svc = services(context)
    title = chat.title or chat.username or chat.first_name
    return await chat_store.register_chat(svc.db, chat.id, type=chat.type, title=title, now=svc.now())


async def reply(update: Update, text: str, **kwargs: object) -> Message:
    return await message_of(update).reply_text(text, do_quote=False, **kwargs)  # type: ignore[arg-type]


async def can_manage(update: Update, context: AppContext) -> bool:
    """Private chats and channels: yes. Groups: only the group's admins (and anonymous admins)."""
    chat = chat_of(update)
    if chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
        return True
    message = update.effective_message
    if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True  # an anonymous admin posts as the group itself
    user = update.effective_user
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def require_manager(update: Update, context: AppContext) -> bool:
    if await can_manage(update, context):
        return True
    await reply(update, texts.NOT_GROUP_ADMIN)
    return False


def is_bot_admin(update: Update, context: AppContext) -> bool:
    user = update.effective_user
    return user is not None and user.id in services(context).settings.admin_ids


async def can_press(update: Update, context: AppContext) -> bool:
    """In groups only admins may press subscription buttons; answer the others politely."""
    query = update.callback_query
    assert query is not None
    if chat_of(update).type == ChatType.PRIVATE or await can_manage(update, context):
        return True
    await query.answer(texts.NOT_GROUP_ADMIN, show_alert=True)
    return False


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    text: str  # the reply, HTML
    saved: bool  # False: refused (the chat is at its limit); `text` says why
    created: bool = False  # False with saved: the same subscription already existed


async def save_subscription(
    update: Update,
    context: AppContext,
    flt: SubscriptionFilter,
    *,
    thread_id: int | None,
    created_by: int | None,
    notes: tuple[str, ...] = (),
) -> SaveOutcome:
    """The one subscribe flow, for typed words and the picker alike: register the chat, store, say what was saved."""
    chat = await register(update, context)
    svc = services(context)
    try:
        sub, created = await sub_store.subscribe(
            svc.db, chat.id, flt, thread_id=thread_id, now=svc.now(), created_by=created_by
        )
    except SubscriptionLimitError as exc:
        return SaveOutcome(texts.esc(str(exc)), saved=False)
    return SaveOutcome(texts.saved_text(sub, created, notes, held=chat.held(svc.now())), saved=True, created=created)


CONFIRM_KIND = "bs"  # button_state kind of a broad subscription waiting for "Ya, simpan"


async def ask_to_confirm(
    context: AppContext, chat_id: int, pending: PendingSubscription
) -> tuple[str, InlineKeyboardMarkup]:
    """Keep a broad subscription aside and return the question with its "Ya, simpan" / "Batal" buttons.

    The draft lives in the database (storage.button_state), not in this process: with several bot
    instances behind a webhook the press may reach another one, and it survives a restart.
    """
    svc = services(context)
    token = await button_state.create(
        svc.db,
        chat_id=chat_id,
        kind=CONFIRM_KIND,
        user_id=pending.user_id,
        payload=pending_to_json(pending),
        now=svc.now(),
    )
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Ya, simpan", callback_data=f"bs:{token}:ok"),
                InlineKeyboardButton("✖️ Batal", callback_data=f"bs:{token}:x"),
            ]
        ]
    )
    return texts.broad_warning(describe_filter(pending.filter)), buttons
