"""/subscribe without words: an inline-keyboard picker (find a city by typing, buttons for cases and
sentiment, confirm). The draft lives in chat_data under a small per-chat picker number; callback data carries
it ("pk:<n>:<op>[:<arg>]", well under Telegram's 64 bytes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot import classify
from bot.classify import Province
from bot.models import Place, Sentiment, SubscriptionFilter
from bot.subscriptions.query import SENTIMENT_NAME, describe_filter
from handlers import texts
from handlers.common import can_manage, chat_of, message_of, register, reply
from handlers.context import AppContext, services
from storage import subscriptions as sub_store
from storage.subscriptions import SubscriptionLimitError

esc = texts.esc
MAX_PICKERS = 20
SEARCH_RESULTS = 8
MAX_PLACE_QUERY = 60
_SENTIMENT_CODE = {"neg": Sentiment.NEGATIVE, "net": Sentiment.NEUTRAL, "pos": Sentiment.POSITIVE}


@dataclass
class Draft:
    user_id: int | None
    thread_id: int | None
    message_id: int = 0  # the picker message, edited as the draft changes
    areas: list[str] = field(default_factory=list)
    cases: set[str] = field(default_factory=set)
    sentiments: set[Sentiment] = field(default_factory=set)

    def filter(self) -> SubscriptionFilter:
        return SubscriptionFilter(
            area_codes=frozenset(self.areas), cases=frozenset(self.cases), sentiments=frozenset(self.sentiments)
        )


def _pickers(context: AppContext) -> dict[int, Draft]:
    assert context.chat_data is not None
    pickers: dict[int, Draft] = context.chat_data.setdefault("pickers", {})
    return pickers


def _searching(context: AppContext) -> dict[int | None, int]:
    """user id → picker message id awaiting a typed city name."""
    assert context.chat_data is not None
    searching: dict[int | None, int] = context.chat_data.setdefault("picker_search", {})
    return searching


def picker_text(draft: Draft) -> str:
    return (
        "<b>Langganan baru</b>\n"
        f"Sekarang: {esc(describe_filter(draft.filter()))}\n\n"
        "🔎 Ketik nama kota/kabupaten/provinsi sebagai balasan pesan ini (atau tekan Cari kota), "
        "lalu pilih kasus dan sentimen. Tanpa pilihan berarti semua."
    )


def picker_keyboard(picker_id: int, draft: Draft) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = [
        [InlineKeyboardButton("🔎 Cari kota", callback_data=f"pk:{picker_id}:find")]
    ]
    if draft.areas:
        rows.append([InlineKeyboardButton("✖ wilayah", callback_data=f"pk:{picker_id}:clr")])
    case_buttons = [
        InlineKeyboardButton(
            ("✅ " if key in draft.cases else "") + classify.case_label(key), callback_data=f"pk:{picker_id}:c:{key}"
        )
        for key in classify.CASE_KEYS
    ]
    rows += [case_buttons[i : i + 3] for i in range(0, len(case_buttons), 3)]
    rows.append(
        [
            InlineKeyboardButton(
                ("✅ " if sentiment in draft.sentiments else "") + SENTIMENT_NAME[sentiment].capitalize(),
                callback_data=f"pk:{picker_id}:s:{code}",
            )
            for code, sentiment in _SENTIMENT_CODE.items()
        ]
    )
    rows.append(
        [
            InlineKeyboardButton("✔️ Simpan", callback_data=f"pk:{picker_id}:ok"),
            InlineKeyboardButton("✖️ Batal", callback_data=f"pk:{picker_id}:x"),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def open_picker(update: Update, context: AppContext) -> None:
    """Send the picker message and remember its draft."""
    assert context.chat_data is not None
    message = message_of(update)
    user = update.effective_user
    draft = Draft(
        user_id=user.id if user else None, thread_id=message.message_thread_id if message.is_topic_message else None
    )
    picker_id = int(context.chat_data.get("picker_seq", 0)) + 1
    context.chat_data["picker_seq"] = picker_id
    sent = await reply(update, picker_text(draft), reply_markup=picker_keyboard(picker_id, draft))
    draft.message_id = sent.message_id
    pickers = _pickers(context)
    pickers[picker_id] = draft
    while len(pickers) > MAX_PICKERS:
        pickers.pop(next(iter(pickers)))
    _searching(context)[draft.user_id] = picker_id


async def can_press(update: Update, context: AppContext) -> bool:
    """In groups only admins may press subscription buttons; answer the others politely."""
    query = update.callback_query
    assert query is not None
    if chat_of(update).type == ChatType.PRIVATE or await can_manage(update, context):
        return True
    await query.answer(texts.NOT_GROUP_ADMIN, show_alert=True)
    return False


async def button(update: Update, context: AppContext) -> None:
    """Toggle a case or sentiment, add or clear areas, start a city search, save or cancel."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, raw_id, op, *rest = query.data.split(":", 3)
    picker_id = int(raw_id)
    draft = _pickers(context).get(picker_id)
    if draft is None:
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    if draft.user_id is not None and query.from_user.id != draft.user_id:
        await query.answer("Hanya yang membuka pemilih ini yang bisa mengubahnya.", show_alert=True)
        return
    arg = rest[0] if rest else ""
    svc = services(context)
    chat_id = chat_of(update).id
    if op == "find":
        _searching(context)[draft.user_id] = picker_id
        await query.answer()
        await context.bot.send_message(
            chat_id,
            "Ketik nama kota, kabupaten, atau provinsi:",
            message_thread_id=draft.thread_id,
            reply_markup=ForceReply(selective=True, input_field_placeholder="mis. Solo"),
        )
        return
    if op == "x":
        _pickers(context).pop(picker_id, None)
        await query.answer("Dibatalkan")
        await context.bot.edit_message_text("Langganan baru dibatalkan.", chat_id=chat_id, message_id=draft.message_id)
        return
    if op == "ok":
        if not await can_press(update, context):
            return
        chat = await register(update, context)
        try:
            sub, created = await sub_store.subscribe(
                svc.db, chat.id, draft.filter(), thread_id=draft.thread_id, now=svc.now(), created_by=draft.user_id
            )
        except SubscriptionLimitError as exc:
            await query.answer(str(exc), show_alert=True)
            return
        _pickers(context).pop(picker_id, None)
        from handlers.subscriptions import saved_text  # subscriptions imports this module

        await query.answer("Disimpan" if created else "Sudah ada")
        await context.bot.edit_message_text(
            saved_text(sub, created, (), chat), chat_id=chat_id, message_id=draft.message_id
        )
        return
    if op == "c" and arg in classify.CASE_KEYS:
        draft.cases.symmetric_difference_update({arg})
    elif op == "s" and arg in _SENTIMENT_CODE:
        draft.sentiments.symmetric_difference_update({_SENTIMENT_CODE[arg]})
    elif op == "a" and _known_area(arg) and arg not in draft.areas:
        draft.areas.append(arg)
    elif op == "clr":
        draft.areas.clear()
    await query.answer()
    await context.bot.edit_message_text(
        picker_text(draft), chat_id=chat_id, message_id=draft.message_id, reply_markup=picker_keyboard(picker_id, draft)
    )


def _known_area(code: str) -> bool:
    """Only codes the buttons can carry: a Kab/Kota or province the classifier knows (data can be forged)."""
    return classify.place_by_code(code) is not None or classify.province_by_code(code) is not None


async def typed_city(update: Update, context: AppContext) -> None:
    """Text typed while a picker waits for a city: offer the matching places as buttons."""
    message = message_of(update)
    user = update.effective_user
    picker_id = _searching(context).get(user.id if user else None)
    if picker_id is None or picker_id not in _pickers(context) or not message.text:
        return
    query = " ".join(message.text.split())[:MAX_PLACE_QUERY]  # no place name is longer
    found: list[Place | Province] = classify.resolve_place(query) if query else []
    if not found and query:
        for name in classify.suggest_places(query, n=SEARCH_RESULTS):
            found += [p for p in classify.resolve_place(name) if p not in found]
    if not found:
        await reply(
            update,
            f"Tidak ada wilayah yang mirip “{esc(query)}”. Coba ketik lagi, mis. <i>Solo</i> atau <i>Jawa Tengah</i>.",
        )
        return
    buttons = [
        [
            InlineKeyboardButton(
                "➕ " + (p.name if isinstance(p, Place) else f"Provinsi {p.name}"),
                callback_data=f"pk:{picker_id}:a:{p.code}",
            )
        ]
        for p in found[:SEARCH_RESULTS]
    ]
    await reply(
        update, f"Hasil untuk “{esc(query)}” — pilih untuk ditambahkan:", reply_markup=InlineKeyboardMarkup(buttons)
    )
