"""/latest, /search (one line per story, paged with buttons; a 📰 button opens a story's reports), /cities,
/cases."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.errors import InputError
from bot.formatting import render_story_list_html, render_story_reports_html
from bot.models import SubscriptionFilter
from bot.subscriptions.matching import filter_matches
from bot.subscriptions.query import MAX_QUERY_LEN, describe_filter, normalize_quotes, parse_query
from handlers import texts
from handlers.common import args_text, chat_of, message_of, reply
from handlers.context import AppContext, services
from storage import button_state
from storage import subscriptions as sub_store
from storage.search import StoryPage, latest_stories, search_stories
from storage.stories import get_story, story_articles

esc = texts.esc
PAGE_SIZE = 5
KIND = "page"
# "mine": /terbaru without words, the chat's own subscriptions; "latest": filter words; "search": /cari.
_KINDS = ("mine", "latest", "search")


async def _remember(update: Update, context: AppContext, kind: str, words: str) -> str:
    """Store the query (in the database, so paging survives a restart) under a token that fits in 64 bytes."""
    svc = services(context)
    payload = {"kind": kind, "words": words}
    return await button_state.create(
        svc.db, chat_id=chat_of(update).id, kind=KIND, user_id=None, payload=payload, now=svc.now()
    )


async def _page(context: AppContext, chat_id: int, kind: str, words: str, page: int) -> tuple[str, StoryPage]:
    svc = services(context)
    offset = page * PAGE_SIZE
    if kind == "mine":
        subs = await sub_store.list_subscriptions(svc.db, chat_id)
        result = await latest_stories(
            svc.db,
            SubscriptionFilter(),
            lambda article: any(filter_matches(s.filter, article) for s in subs),
            offset=offset,
            limit=PAGE_SIZE,
        )
        header = f"<b>Berita terbaru</b> yang cocok dengan {len(subs)} langganan chat ini"
    elif kind == "latest":
        flt = parse_query(words).filter
        result = await latest_stories(
            svc.db, flt, lambda article: filter_matches(flt, article), offset=offset, limit=PAGE_SIZE
        )
        header = f"<b>Berita terbaru</b> — {esc(describe_filter(flt))}"
    else:
        result = await search_stories(svc.db, words, offset=offset, limit=PAGE_SIZE)
        header = f"<b>Hasil pencarian</b> “{esc(words)}”"
    if page:
        header += f" (halaman {page + 1})"
    entries = [(hit.article, hit.outlets) for hit in result.hits]
    return render_story_list_html(header, entries, start=offset + 1), result


def _keyboard(token: str, page: int, result: StoryPage, all_news: str | None = None) -> InlineKeyboardMarkup | None:
    # A 📰 button per story reported more than once opens its reports; "st:<story id>" stays far below
    # Telegram's 64 bytes of callback data.
    stories = [
        InlineKeyboardButton(f"📰 {page * PAGE_SIZE + i}", callback_data=f"st:{hit.story_id}")
        for i, hit in enumerate(result.hits, 1)
        if hit.story_id is not None and hit.reports > 1
    ]
    row = []
    if page > 0:
        row.append(InlineKeyboardButton("◀ Sebelumnya", callback_data=f"pg:{token}:{page - 1}"))
    if result.has_more:
        row.append(InlineKeyboardButton("Berikutnya ▶", callback_data=f"pg:{token}:{page + 1}"))
    rows = [r for r in (stories, row) if r]
    if all_news is not None:
        rows.append([InlineKeyboardButton("🌐 Semua berita terbaru", callback_data=f"pg:{all_news}:0")])
    return InlineKeyboardMarkup(rows) if rows else None


async def _first_page(update: Update, context: AppContext, kind: str, words: str) -> None:
    try:
        text, result = await _page(context, chat_of(update).id, kind, words, 0)
    except InputError as exc:
        await reply(update, esc(str(exc)))
        return
    token = await _remember(update, context, kind, words)
    all_news = await _remember(update, context, "latest", "") if kind == "mine" else None
    await reply(update, text, reply_markup=_keyboard(token, 0, result, all_news))


async def latest(update: Update, context: AppContext) -> None:
    """The newest stored articles matching the filter words — or, without words, this chat's subscriptions."""
    words = args_text(message_of(update))
    if not words and await sub_store.list_subscriptions(services(context).db, chat_of(update).id):
        await _first_page(update, context, "mine", "")
        return
    await _first_page(update, context, "latest", words)


async def search(update: Update, context: AppContext) -> None:
    """Full-text search over stored articles, paged."""
    words = normalize_quotes(args_text(message_of(update)))
    if not words:
        await reply(
            update,
            "Tulis kata yang dicari, mis. <code>/cari banjir bandang</code> atau "
            '<code>/cari "jalan tol" -simulasi</code> atau <code>/cari banjir OR longsor</code>.',
        )
        return
    if len(words) > MAX_QUERY_LEN:
        await reply(update, f"Terlalu panjang: tulis paling banyak {MAX_QUERY_LEN} karakter.")
        return
    await _first_page(update, context, "search", words)


async def page_button(update: Update, context: AppContext) -> None:
    """◀ / ▶ under /latest and /search (and "all news" under /latest): edit the list in place."""
    query = update.callback_query
    assert query is not None and query.data is not None
    chat_id = chat_of(update).id
    _, token, page_text = query.data.split(":")
    page = max(0, int(page_text))
    state = await button_state.get(services(context).db, token, chat_id=chat_id, kind=KIND)
    kind, words = (state.payload.get("kind"), state.payload.get("words")) if state is not None else (None, None)
    if kind not in _KINDS or not isinstance(words, str):
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    text, result = await _page(context, chat_id, kind, words, page)
    all_news = await _remember(update, context, "latest", "") if kind == "mine" else None
    await query.answer()
    await query.edit_message_text(text, reply_markup=_keyboard(token, page, result, all_news))


async def story_button(update: Update, context: AppContext) -> None:
    """📰 under /latest and /search: every report of that story, as a new message."""
    query = update.callback_query
    assert query is not None and query.data is not None
    story_id = int(query.data.split(":", 1)[1])
    svc = services(context)
    story = await get_story(svc.db, story_id)
    reports = await story_articles(svc.db, story_id) if story is not None else []
    if story is None or not reports:
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    await query.answer()
    # A new message under the list (which may be too old to reply to), in the list's topic.
    message = query.message
    thread = message.message_thread_id if isinstance(message, Message) and message.is_topic_message else None
    text = render_story_reports_html(story.title, reports)
    await context.bot.send_message(chat_of(update).id, text, message_thread_id=thread)


async def cities(update: Update, context: AppContext) -> None:
    """Provinces, or the Kab/Kota a name or prefix stands for (resolved as /subscribe does)."""
    await reply(update, texts.render_cities(args_text(message_of(update))))


async def cases(update: Update, context: AppContext) -> None:
    """Every case key with its everyday words, and the umbrella words."""
    await reply(update, texts.render_cases())
