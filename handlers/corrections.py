"""Correcting an alert's labels from its buttons (✏️ Koreksi), muting its outlet (🔇), /bisukan and /suarakan.

Thin: bot.feedback decides what a press means and builds the keyboards; storage.feedback records the
correction (and applies a trusted one to the article); storage.button_state keeps the draft between
presses, so a restart in the middle of a correction loses nothing.

Who is trusted: a PANTAU_ADMIN_IDS user anywhere, and the admins of a group or channel. Anyone else
(group members, a private chat's user) suggests: the suggestion is recorded and shown in that chat's
alert, the stored article keeps its labels.
"""

from __future__ import annotations

import html
import logging
from datetime import timedelta

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import filters

from bot import classify
from bot.errors import InputError
from bot.feedback import buttons
from bot.feedback.buttons import Draft, Keyboard, Outcome
from bot.formatting import also_reported, render_alert_html
from bot.models import Article, LabelCorrection
from handlers import texts
from handlers.common import args_text, can_manage, chat_of, message_of, reply
from handlers.context import AppContext, services
from handlers.ratelimit import Verdict
from storage import button_state
from storage import feedback as feedback_store
from storage.feedback import FeedbackStats
from storage.stories import story_articles

logger = logging.getLogger(__name__)
esc = html.escape

KIND = "correct"
# A draft its opener left alone this long may be taken over by someone else in the group.
TAKEOVER_AFTER = timedelta(minutes=10)
PROMPT_MARK = "✏️ Kab/Kota yang benar"
NOT_HERE = "Tombol ini tidak berlaku di pesan ini."
OTHERS_DRAFT = "Koreksi ini sedang dibuka oleh pengguna lain. Coba lagi nanti."
NOT_ADMIN_MUTE = "Di grup ini hanya admin grup yang bisa membisukan sumber."


def markup(keyboard: Keyboard) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in keyboard]
    )


class _PromptReply(filters.MessageFilter):
    """A reply to our "Kab/Kota yang benar?" prompt (whatever else the user has open, e.g. a picker)."""

    def filter(self, message: Message) -> bool:
        prompt = message.reply_to_message
        return (
            prompt is not None
            and prompt.from_user is not None
            and prompt.from_user.is_bot
            and (prompt.text or "").startswith(PROMPT_MARK)
        )


PROMPT_REPLY = _PromptReply()


async def is_trusted(update: Update, context: AppContext) -> bool:
    """A PANTAU_ADMIN_IDS user, or an admin of this group or channel."""
    user = update.effective_user
    if user is None:
        return False
    if user.id in services(context).settings.admin_ids:
        return True
    chat = chat_of(update)
    if chat.type == ChatType.PRIVATE:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:  # cannot tell (e.g. the user left): a suggestion, not a trusted correction
        logger.info("chat %s: could not look up user %s; correction kept as a suggestion", chat.id, user.id)
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


# ------------------------------------------------------------------------------------ the alert's buttons


async def alert_button(update: Update, context: AppContext) -> None:
    """✏️ Koreksi opens the correction menu in place; 🔇 mutes the alert's outlet for this chat."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parsed = buttons.parse_alert_data(query.data)
    message = query.message
    if parsed is None or message is None:
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    article_id, op = parsed
    svc = services(context)
    chat_id = message.chat.id
    # Only an alert this chat was sent, on the message that carried it: forged data names nothing else.
    article = await feedback_store.delivered_article(svc.db, chat_id, article_id, message.message_id)
    if article is None:
        await query.answer(NOT_HERE, show_alert=True)
        return
    if op == "m":
        await _mute(update, context, article)
        return
    draft = buttons.new_draft(article)
    token = await button_state.create(
        svc.db,
        chat_id=chat_id,
        kind=KIND,
        user_id=query.from_user.id,
        payload=draft.to_payload(),
        now=svc.now(),
        message_id=message.message_id,
    )
    await query.answer()
    await context.bot.edit_message_reply_markup(
        chat_id, message.message_id, reply_markup=markup(buttons.keyboard_for(token, draft, article))
    )


async def _mute(update: Update, context: AppContext, article: Article) -> None:
    query = update.callback_query
    assert query is not None
    if not await can_manage(update, context):
        await query.answer(NOT_ADMIN_MUTE, show_alert=True)
        return
    if not article.source:
        await query.answer("Sumber berita ini tidak diketahui.", show_alert=True)
        return
    svc = services(context)
    await feedback_store.mute_source(
        svc.db, chat_of(update).id, article.source, user_id=query.from_user.id, now=svc.now()
    )
    notice = f"🔇 {article.source[:100]} dibisukan di chat ini. /suarakan untuk membatalkan."
    await query.answer(notice, show_alert=True)


# ------------------------------------------------------------------------------------ inside a correction


async def correction_button(update: Update, context: AppContext) -> None:
    """A press inside the correction keyboard: move between steps, toggle, save, cancel."""
    query = update.callback_query
    assert query is not None and query.data is not None
    pressed = buttons.parse_correction_data(query.data)
    message = query.message
    if pressed is None or message is None:
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    svc = services(context)
    chat_id = message.chat.id
    state = await button_state.get(svc.db, pressed.token, chat_id=chat_id, kind=KIND)
    draft = Draft.from_payload(state.payload) if state is not None else None
    if state is None or draft is None or state.message_id != message.message_id:
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    owner = state.user_id
    if owner is not None and owner != query.from_user.id and svc.now() - state.updated_at < TAKEOVER_AFTER:
        await query.answer(OTHERS_DRAFT, show_alert=True)
        return
    article = await feedback_store.delivered_article(svc.db, chat_id, draft.article_id, None)
    if article is None:
        await button_state.delete(svc.db, pressed.token)
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    outcome = buttons.press(draft, pressed, article)
    await _follow(update, context, outcome, pressed.token, draft, article, message.message_id)


async def _follow(
    update: Update, context: AppContext, outcome: Outcome, token: str, draft: Draft, article: Article, message_id: int
) -> None:
    query = update.callback_query
    assert query is not None
    svc = services(context)
    chat_id = chat_of(update).id
    if outcome.refused:
        await query.answer(outcome.notice, show_alert=True)
        return
    if outcome.cancel:
        await button_state.delete(svc.db, token)
        await query.answer(outcome.notice)
        await _restore(context, chat_id, message_id, article)
        return
    if outcome.finish is not None:
        await query.answer(await _finish(update, context, token, article, outcome.finish, message_id))
        return
    if outcome.ask_name:
        draft.prompt_id = await _ask_name(update, context, message_id)
    await button_state.update(svc.db, token, draft.to_payload(), now=svc.now(), user_id=query.from_user.id)
    await query.answer(outcome.notice or None)
    await context.bot.edit_message_reply_markup(
        chat_id, message_id, reply_markup=markup(buttons.keyboard_for(token, draft, article))
    )


async def _ask_name(update: Update, context: AppContext, alert_id: int) -> int:
    """Send the "which Kab/Kota?" prompt as a reply to the alert, addressed to whoever pressed."""
    user = update.effective_user
    chat = chat_of(update)
    text = PROMPT_MARK + "?"
    if user is not None and chat.type != ChatType.PRIVATE:
        # A mention makes the selective ForceReply open the reply field for this user only.
        text = f'{PROMPT_MARK} untuk <a href="tg://user?id={user.id}">{esc(user.first_name[:64])}</a>?'
    text += "\nBalas pesan ini dengan nama Kab/Kota, mis. <i>Solo</i> atau <i>Kabupaten Sukoharjo</i>."
    sent = await context.bot.send_message(
        chat.id,
        text,
        reply_parameters=ReplyParameters(message_id=alert_id, allow_sending_without_reply=True),
        reply_markup=ForceReply(selective=True, input_field_placeholder="mis. Solo"),
    )
    return sent.message_id


async def _finish(
    update: Update, context: AppContext, token: str, article: Article, change: LabelCorrection, message_id: int
) -> str:
    """Record the correction, restore the alert's keyboard and show the corrected label; returns the notice."""
    svc = services(context)
    chat_id = chat_of(update).id
    user = update.effective_user
    if change.field != "relevance" and change.same_as(article):
        await button_state.delete(svc.db, token)
        await _restore(context, chat_id, message_id, article)
        return buttons.NO_CHANGE
    shown = await feedback_store.record_correction(
        svc.db,
        article,
        change,
        chat_id=chat_id,
        user_id=user.id if user else None,
        trusted=await is_trusted(update, context),
        now=svc.now(),
    )
    # Only once it is recorded: a failure before leaves the draft to press Simpan again.
    await button_state.delete(svc.db, token)
    if change.field == "relevance":
        await _restore(context, chat_id, message_id, article)
        return buttons.THANKS
    reason = await feedback_store.delivery_reason(svc.db, chat_id, article.id)
    # Keep the story's other outlets under the alert ("Juga diberitakan", issue #10).
    reports = await story_articles(svc.db, shown.story_id) if shown.story_id is not None else []
    try:
        await context.bot.edit_message_text(
            render_alert_html(shown, reason or None, also_reported(shown, reports)),
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=markup(buttons.alert_keyboard(shown)),
        )
    except BadRequest as exc:  # e.g. the alert went out as plain text and Telegram refuses the HTML now
        logger.warning("chat %s: could not show the corrected alert (%s)", chat_id, exc.message)
        await _restore(context, chat_id, message_id, shown)
    return buttons.THANKS


async def _restore(context: AppContext, chat_id: int, message_id: int, article: Article) -> None:
    try:
        await context.bot.edit_message_reply_markup(
            chat_id, message_id, reply_markup=markup(buttons.alert_keyboard(article))
        )
    except BadRequest as exc:  # "message is not modified" and the like: the keyboard is already right
        logger.debug("chat %s: keyboard not restored (%s)", chat_id, exc.message)


async def typed_place(update: Update, context: AppContext) -> None:
    """A reply to the "Kab/Kota yang benar?" prompt: resolve the name like /langganan does."""
    message = message_of(update)
    user = update.effective_user
    prompt = message.reply_to_message
    if user is None or prompt is None or not message.text:
        return
    svc = services(context)
    chat_id = chat_of(update).id
    # A correction counts against the chat's command limit like a press does (in a private chat every
    # text was counted already, before any handler: handlers.ratelimit).
    if chat_of(update).type != "private" and context.bot_data.limiter.check(chat_id) is not Verdict.ALLOW:
        return
    state = await button_state.latest_for_user(svc.db, chat_id=chat_id, kind=KIND, user_id=user.id)
    draft = Draft.from_payload(state.payload) if state is not None else None
    if state is None or draft is None or draft.prompt_id != prompt.message_id or state.message_id is None:
        await reply(update, "Permintaan koreksi ini sudah tidak berlaku. Tekan ✏️ Koreksi lagi di peringatannya.")
        return
    article = await feedback_store.delivered_article(svc.db, chat_id, draft.article_id, None)
    if article is None:
        await button_state.delete(svc.db, state.token)
        return
    try:
        places = buttons.resolve_typed_place(message.text)
    except InputError as exc:
        await reply(update, str(exc))
        return
    if len(places) == 1:
        notice = await _finish(
            update, context, state.token, article, LabelCorrection("city", city=places[0]), state.message_id
        )
        await reply(update, f"{esc(notice)}: Kab/Kota → {esc(places[0].name)}.")
        return
    # An ambiguous name (Kota or Kabupaten Bandung): offer the candidates on the alert's keyboard.
    draft.choices = [p.code for p in places][: buttons.MAX_CITY_CHOICES]
    draft.step, draft.prompt_id = "city", None
    await button_state.update(svc.db, state.token, draft.to_payload(), now=svc.now())
    await context.bot.edit_message_reply_markup(
        chat_id, state.message_id, reply_markup=markup(buttons.keyboard_for(state.token, draft, article))
    )
    await reply(update, "Nama itu bisa berarti beberapa Kab/Kota: pilih salah satu di tombol peringatannya.")


# ------------------------------------------------------------------------------------ muted outlets


async def muted(update: Update, context: AppContext) -> None:
    """/bisukan: the outlets this chat muted, numbered for /suarakan."""
    svc = services(context)
    sources = await feedback_store.muted_sources(svc.db, chat_of(update).id)
    await reply(update, render_muted(sources))


def render_muted(sources: list[str]) -> str:
    if not sources:
        return "Belum ada sumber yang dibisukan di chat ini. Tekan 🔇 Bisukan sumber di bawah sebuah peringatan."
    lines = [f"<b>Sumber yang dibisukan ({len(sources)})</b>"]
    lines += [f"{i}. {esc(source[:120])}" for i, source in enumerate(sources, 1)]
    lines.append("\nBatalkan: <code>/suarakan nomor</code> atau <code>/suarakan all</code>")
    return texts.clip("\n".join(lines))


async def unmute(update: Update, context: AppContext) -> None:
    """/suarakan nomor|nama|all: get an outlet's reports again."""
    if not await can_manage(update, context):
        await reply(update, "Di grup ini hanya admin grup yang bisa mengubah sumber yang dibisukan.")
        return
    svc = services(context)
    chat_id = chat_of(update).id
    arg = args_text(message_of(update))
    sources = await feedback_store.muted_sources(svc.db, chat_id)
    if not arg:
        await reply(update, render_muted(sources))
        return
    if arg.casefold() in ("all", "semua"):
        count = await feedback_store.unmute_source(svc.db, chat_id, None)
        await reply(update, f"🔊 {count} sumber disuarakan lagi.")
        return
    source: str | None = None
    if arg.isdecimal() and len(arg) <= 4 and 1 <= int(arg) <= len(sources):
        source = sources[int(arg) - 1]
    else:
        source = next((s for s in sources if s.casefold() == arg.casefold()), None)
    if source is None:
        await reply(update, f"Tidak ada sumber dibisukan bernama/bernomor “{esc(arg[:100])}”. Lihat /bisukan.")
        return
    await feedback_store.unmute_source(svc.db, chat_id, source)
    await reply(update, f"🔊 {esc(source[:120])} disuarakan lagi di chat ini.")


# ------------------------------------------------------------------------------------ /stats

_FIELD_NAMES = {"city": "Kab/Kota", "cases": "kasus", "sentiment": "sentimen", "relevance": "bukan untuk saya"}


def _place_name(code: str | None) -> str:
    if code is None:
        return "tanpa Kab/Kota"
    place = classify.place_by_code(code)
    return place.name if place else code


def render_feedback_stats(stats: FeedbackStats) -> str:
    """The corrections block of /stats: what analysts disputed, i.e. what to fix next in the rules."""
    fields = ", ".join(f"{_FIELD_NAMES[f]} {week}/{month}" for f, (week, month) in stats.per_field.items())
    share = stats.corrected_alerts_30 / stats.alerts_30 if stats.alerts_30 else 0.0
    lines = [
        f"<b>Koreksi label</b> (7/30 hari): {fields}; tepercaya {stats.trusted_30} (30 hari)",
        f"Peringatan dikoreksi (30 hari): {stats.corrected_alerts_30} dari {stats.alerts_30} ({share:.0%})",
    ]
    if stats.case_changes:
        lines.append(
            "Kasus paling sering dikoreksi: "
            + "; ".join(
                f"{esc(classify.case_label(k))}: {wrong} salah, {missed} terlewat"
                for k, wrong, missed in stats.case_changes
            )
        )
    if stats.place_changes:
        changes = [f"{esc(_place_name(old))} → {esc(_place_name(new))} ({n}×)" for old, new, n in stats.place_changes]
        lines.append("Kab/Kota paling sering dikoreksi: " + "; ".join(changes))
    lines.append(f"Sumber dibisukan: {stats.muted}")
    return "\n".join(lines)
