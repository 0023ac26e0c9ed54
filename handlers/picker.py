"""/subscribe without words: an inline-keyboard picker (find a city by typing, buttons for cases and
sentiment, confirm). The draft lives in the database (storage.button_state, so it survives a restart) under a
short token; callback data carries it ("pk:<token>:<op>[:<arg>]", well under Telegram's 64 bytes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ChatType

from bot import classify
from bot.classify import Province
from bot.models import Place, Sentiment, SubscriptionFilter
from bot.subscriptions.query import SENTIMENT_NAME, describe_filter, is_broad, is_empty
from bot.subscriptions.regions import resolve_region
from handlers import texts
from handlers.common import ask_to_confirm, can_press, chat_of, message_of, reply, save_subscription
from handlers.context import AppContext, PendingSubscription, services
from storage import button_state

esc = texts.esc
KIND = "picker"
SEARCH_RESULTS = 8
MAX_PLACE_QUERY = 60
_SENTIMENT_CODE = {"neg": Sentiment.NEGATIVE, "net": Sentiment.NEUTRAL, "pos": Sentiment.POSITIVE}


@dataclass
class Draft:
    user_id: int | None
    thread_id: int | None
    message_id: int = 0  # the picker message, edited as the draft changes
    reply_to: int | None = None  # the message that opened the picker (the city prompt replies to it)
    areas: list[str] = field(default_factory=list)
    cases: set[str] = field(default_factory=set)
    sentiments: set[Sentiment] = field(default_factory=set)
    searching: bool = True  # text the user types is a place to look up

    def filter(self) -> SubscriptionFilter:
        return SubscriptionFilter(
            area_codes=frozenset(self.areas), cases=frozenset(self.cases), sentiments=frozenset(self.sentiments)
        )

    def to_payload(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "areas": list(self.areas),
            "cases": sorted(self.cases),
            "sentiments": sorted(s.value for s in self.sentiments),
            "searching": self.searching,
            "reply_to": self.reply_to,
        }


def _draft(state: button_state.ButtonState) -> Draft | None:
    """The stored draft, keeping only codes the buttons could have carried (a stored payload is data too)."""
    payload = state.payload
    thread_id = payload.get("thread_id")
    areas, cases, sentiments = payload.get("areas"), payload.get("cases"), payload.get("sentiments")
    if not (isinstance(areas, list) and isinstance(cases, list) and isinstance(sentiments, list)):
        return None
    return Draft(
        user_id=state.user_id,
        thread_id=thread_id if isinstance(thread_id, int) else None,
        message_id=state.message_id or 0,
        areas=[a for a in areas if isinstance(a, str) and _known_area(a)],
        cases={k for k in cases if k in classify.CASE_KEYS},
        sentiments={Sentiment(v) for v in sentiments if v in {s.value for s in Sentiment}},
        searching=bool(payload.get("searching")),
        reply_to=payload["reply_to"] if isinstance(payload.get("reply_to"), int) else None,
    )


async def _save(context: AppContext, token: str, draft: Draft) -> None:
    svc = services(context)
    await button_state.update(svc.db, token, draft.to_payload(), now=svc.now(), message_id=draft.message_id or None)


def picker_text(draft: Draft) -> str:
    return (
        "<b>Langganan baru</b>\n"
        f"Sekarang: {esc(describe_filter(draft.filter()))}\n\n"
        "🔎 Ketik nama kota/kabupaten/provinsi sebagai balasan pesan ini (atau tekan Cari kota), "
        "lalu pilih kasus dan sentimen. Tanpa pilihan berarti semua."
    )


def picker_keyboard(picker_id: str, draft: Draft) -> InlineKeyboardMarkup:
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
    """Send the picker message and store its draft."""
    message = message_of(update)
    user = update.effective_user
    svc = services(context)
    draft = Draft(
        user_id=user.id if user else None,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        reply_to=message.message_id,
    )
    picker_id = await button_state.create(
        svc.db, chat_id=chat_of(update).id, kind=KIND, user_id=draft.user_id, payload=draft.to_payload(), now=svc.now()
    )
    sent = await reply(update, picker_text(draft), reply_markup=picker_keyboard(picker_id, draft))
    draft.message_id = sent.message_id
    await _save(context, picker_id, draft)


async def button(update: Update, context: AppContext) -> None:
    """Toggle a case or sentiment, add or clear areas, start a city search, save or cancel."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, picker_id, op, *rest = query.data.split(":", 3)
    svc = services(context)
    chat_id = chat_of(update).id
    state = await button_state.get(svc.db, picker_id, chat_id=chat_id, kind=KIND)
    draft = _draft(state) if state is not None else None
    if draft is None:
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    if draft.user_id is not None and query.from_user.id != draft.user_id:
        await query.answer("Hanya yang membuka pemilih ini yang bisa mengubahnya.", show_alert=True)
        return
    arg = rest[0] if rest else ""
    if op == "find":
        draft.searching = True
        await _save(context, picker_id, draft)
        await query.answer()
        # A selective force-reply reaches only users the message replies to or mentions: so in a group it
        # replies to the admin's /langganan (and still goes out if that message was deleted).
        await context.bot.send_message(
            chat_id,
            "Ketik nama kota, kabupaten, atau provinsi:",
            message_thread_id=draft.thread_id,
            reply_parameters=(
                ReplyParameters(draft.reply_to, allow_sending_without_reply=True) if draft.reply_to else None
            ),
            reply_markup=ForceReply(selective=True, input_field_placeholder="mis. Solo"),
        )
        return
    if op == "x":
        await button_state.delete(svc.db, picker_id)
        await query.answer("Dibatalkan")
        await context.bot.edit_message_text("Langganan baru dibatalkan.", chat_id=chat_id, message_id=draft.message_id)
        return
    if op == "ok":
        if not await can_press(update, context):
            return
        if is_empty(draft.filter()):
            await query.answer(texts.EMPTY_PICKER, show_alert=True)
            return
        if is_broad(draft.filter()):
            await button_state.delete(svc.db, picker_id)
            pending = PendingSubscription(draft.filter(), thread_id=draft.thread_id, user_id=draft.user_id)
            text, buttons = await ask_to_confirm(context, chat_id, pending)
            await query.answer()
            await context.bot.edit_message_text(
                text, chat_id=chat_id, message_id=draft.message_id, reply_markup=buttons
            )
            return
        outcome = await save_subscription(
            update, context, draft.filter(), thread_id=draft.thread_id, created_by=draft.user_id
        )
        if not outcome.saved:
            await query.answer(texts.plain(outcome.text), show_alert=True)
            return
        await button_state.delete(svc.db, picker_id)
        await query.answer("Disimpan" if outcome.created else "Sudah ada")
        await context.bot.edit_message_text(outcome.text, chat_id=chat_id, message_id=draft.message_id)
        return
    if op == "c" and arg in classify.CASE_KEYS:
        draft.cases.symmetric_difference_update({arg})
    elif op == "s" and arg in _SENTIMENT_CODE:
        draft.sentiments.symmetric_difference_update({_SENTIMENT_CODE[arg]})
    elif op == "a" and _known_area(arg) and arg not in draft.areas:
        draft.areas.append(arg)
    elif op == "clr":
        draft.areas.clear()
    await _save(context, picker_id, draft)
    await query.answer()
    await _refresh(context, chat_id, picker_id, draft)


def _known_area(code: str) -> bool:
    """Only codes the buttons can carry: a Kab/Kota or province the classifier knows (data can be forged)."""
    return classify.place_by_code(code) is not None or classify.province_by_code(code) is not None


async def typed_city(update: Update, context: AppContext) -> None:
    """Text typed while a picker waits for a city: a name that means one place (or a region) is added at
    once, others get buttons. Other text in a private chat gets a one-line hint (silence reads as a broken
    bot); in groups people talk among themselves."""
    message = message_of(update)
    user = update.effective_user
    svc = services(context)
    chat_id = chat_of(update).id
    state = await button_state.latest_for_user(svc.db, chat_id=chat_id, kind=KIND, user_id=user.id if user else None)
    draft = _draft(state) if state is not None and state.payload.get("searching") else None
    if state is None or draft is None or not message.text:
        if message.text and chat_of(update).type == ChatType.PRIVATE:
            await reply(update, texts.private_hint(message.text))
        return
    picker_id = state.token
    query = " ".join(message.text.split())[:MAX_PLACE_QUERY]  # no place name is longer
    region = resolve_region(query) if query else None
    found: list[Place | Province] = classify.resolve_place(query) if query else []
    # A region, or a name that means exactly one place, is added at once: no extra ➕ to forget before Simpan.
    if region is not None or len(found) == 1:
        codes = list(region.members) if region is not None else [found[0].code]
        names = region.member_names if region is not None else [_area_label(found[0])]
        draft.areas += [code for code in codes if code not in draft.areas]
        await _save(context, picker_id, draft)
        await _refresh(context, chat_id, picker_id, draft)
        await reply(update, f"➕ Ditambahkan: {esc(', '.join(names))}. Tekan ✔️ Simpan di pesan pemilih bila sudah.")
        return
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
        [InlineKeyboardButton("➕ " + _area_label(p), callback_data=f"pk:{picker_id}:a:{p.code}")]
        for p in found[:SEARCH_RESULTS]
    ]
    await reply(
        update, f"Hasil untuk “{esc(query)}” — pilih untuk ditambahkan:", reply_markup=InlineKeyboardMarkup(buttons)
    )


def _area_label(area: Place | Province) -> str:
    return area.name if isinstance(area, Place) else f"Provinsi {area.name}"


async def _refresh(context: AppContext, chat_id: int, picker_id: str, draft: Draft) -> None:
    """Show the draft's current state in the picker message."""
    await context.bot.edit_message_text(
        picker_text(draft), chat_id=chat_id, message_id=draft.message_id, reply_markup=picker_keyboard(picker_id, draft)
    )
