"""Issue #14: correcting labels from the alert, muting outlets, and the corrections as an evaluation set.

In-process (real PTB Application, real SQLite file, the fake Bot API behind telegram.request.BaseRequest);
tests/test_corrections_e2e.py runs the same through `pantau run` over HTTP.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from chat_fixtures import (
    ADMIN_ID,
    BANDUNG,
    NOW,
    SOLO,
    SUKOHARJO,
    Harness,
    classification,
    harness,
    new_article,
    title_of,
)
from fake_botapi import callback_payload, message_payload

from bot.delivery.pacer import PacingPolicy
from bot.delivery.sender import Sender
from bot.feedback import buttons
from bot.feedback.buttons import Draft, Press
from bot.feedback.export import labelled_record, resolve
from bot.ingest.store import store_and_queue
from bot.models import Article, Sentiment, SubscriptionFilter
from storage import button_state
from storage import feedback as feedback_store
from storage.articles import get_article
from storage.feedback import Correction
from storage.search import latest_articles
from storage.stories import get_story

USER = 42
GROUP = -100777
MEMBER = 8  # an ordinary member of GROUP
GROUP_ADMIN = 7
OUTLET = "Warta Solo"


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


async def deliver(h: Harness) -> None:
    policy = PacingPolicy(overall_rate=1000.0, private_interval=0.0, group_interval=0.0)
    await Sender(h.db, h.app.bot, policy=policy, wall_clock=h.clock).drain()


async def alert_in(h: Harness, chat_id: int, n: int = 1, *, cases: tuple[str, ...] = ("kecelakaan",)) -> int:
    """Subscribe `chat_id` to Solo, publish article `n` from OUTLET and deliver it; returns the alert's message id."""
    if chat_id < 0:
        h.core.admins.setdefault(chat_id, set()).add(GROUP_ADMIN)
        await h.text(chat_id, "/langganan Solo", user_id=GROUP_ADMIN)
    else:
        await h.text(chat_id, "/langganan Solo")
    article = new_article(
        n,
        classification(SOLO, cases, others=(SUKOHARJO,)),
        title=f"Truk tabrak motor di Solo ({n})",
        body="SOLO - Sebuah truk menabrak sepeda motor di Kota Surakarta, dekat perbatasan Sukoharjo.",
    )
    await store_and_queue(h.db, None, [article], source=OUTLET, now=h.clock())
    await deliver(h)
    assert "reply_markup" in h.core.sent(chat_id)[-1]
    return _last_message_id(h, chat_id)


def _last_message_id(h: Harness, chat_id: int) -> int:
    ids = [mid for (cid, mid) in h.core.messages if cid == chat_id]
    return max(ids)


async def press(h: Harness, chat_id: int, message_id: int, label: str, *, user_id: int | None = None) -> str:
    """Press the button labelled `label` on the message as it stands; returns the callback answer."""
    keyboard = h.core.buttons(chat_id, message_id)
    assert label in keyboard, f"{label!r} not in {list(keyboard)}"
    return await press_data(h, chat_id, message_id, keyboard[label], user_id=user_id)


async def press_data(h: Harness, chat_id: int, message_id: int, data: str, *, user_id: int | None = None) -> str:
    before = len(h.core.calls_of("answerCallbackQuery"))
    payload = callback_payload(chat_id, data, message_id=message_id, user_id=user_id)
    await h.send({"callback_query": payload})
    answers = h.core.calls_of("answerCallbackQuery")[before:]
    assert len(answers) == 1, "every press is answered exactly once"
    return str(answers[0].params.get("text") or "")


async def corrections(h: Harness) -> list[Correction]:
    pairs = await feedback_store.corrections_for_export(h.db, trusted_only=False)
    return [c for _, cs in pairs for c in cs]


# ------------------------------------------------------------------------------------ pure parts


def test_callback_data_is_bounded_and_closed() -> None:
    assert buttons.parse_alert_data("fb:12:k") == (12, "k")
    assert buttons.parse_alert_data("fb:12:m") == (12, "m")
    for forged in ("fb:12:x", "fb:-1:k", "fb:1234567890123:k", "fb:12:k:extra", "fb:12", "fb:1a:k"):
        assert buttons.parse_alert_data(forged) is None
    assert buttons.parse_correction_data("cr:abcdEFG_:t:kecelakaan") == Press("abcdEFG_", "t", "kecelakaan")
    assert buttons.parse_correction_data("cr:abcdEFG_:c:33.72") == Press("abcdEFG_", "c", "33.72")
    for forged in (
        "cr:abc:t:kecelakaan",  # short token
        "cr:abcdEFG_:drop:x",  # unknown op
        "cr:abcdEFG_:t:Kecelakaan",  # not a key's spelling
        "cr:abcdEFG_:t:" + "a" * 21,
        "cr:abcdEFG_:c:33.72;DROP",
        "cr:abcdEFG_:s:neg:1",
    ):
        assert buttons.parse_correction_data(forged) is None


async def test_every_keyboard_fits_telegram_limits(tmp_path: Path) -> None:
    article = new_article(1, classification(SOLO, ["kecelakaan"], others=(SUKOHARJO,)))
    stored = Article(
        id=123456789012,
        feed_id=None,
        link="https://x.example/1",
        title="Truk tabrak motor di Solo",
        body="SOLO - Truk menabrak motor di Kota Surakarta dekat Sukoharjo dan Boyolali.",
        author=None,
        source=OUTLET,
        published_at=NOW,
        fetched_at=NOW,
        classification=article.classification,
    )
    draft = buttons.new_draft(stored)
    assert "33.11" in draft.choices and "33.72" not in draft.choices  # other places, not the current one
    datas = [d for row in buttons.alert_keyboard(stored) for _, d in row]
    for step in buttons.STEPS:
        draft.step = step
        datas += [d for row in buttons.keyboard_for("abcdEFG_", draft, stored) for _, d in row]
    for data in datas:
        assert len(data.encode()) <= 64
        assert buttons.parse_alert_data(data) or buttons.parse_correction_data(data), data


def test_presses_validate_against_the_taxonomy_and_the_offered_places() -> None:
    cls = classification(SOLO, ["kecelakaan"], others=(SUKOHARJO,))
    article = Article(1, None, "l", "Truk tabrak motor", "", None, OUTLET, NOW, NOW, cls)
    draft = Draft(article_id=1, cases=["kecelakaan"], choices=["33.11"])
    # Toggling needs the case step; an unknown key is refused and changes nothing.
    assert buttons.press(draft, Press("t" * 8, "t", "banjir"), article).refused
    assert buttons.press(draft, Press("t" * 8, "cases", ""), article).show
    assert buttons.press(draft, Press("t" * 8, "t", "banjir"), article).show
    assert buttons.press(draft, Press("t" * 8, "t", "bukan_kasus"), article).refused
    assert draft.cases == ["kecelakaan", "banjir"]
    saved = buttons.press(draft, Press("t" * 8, "save", ""), article)
    assert saved.finish is not None and saved.finish.cases == ("kecelakaan", "banjir")
    # A place not offered on this draft (Bandung) cannot be written, a known one can.
    buttons.press(draft, Press("t" * 8, "city", ""), article)
    assert buttons.press(draft, Press("t" * 8, "c", "32.73"), article).refused
    assert buttons.press(draft, Press("t" * 8, "c", "99.99"), article).refused
    chosen = buttons.press(draft, Press("t" * 8, "c", "33.11"), article)
    assert chosen.finish is not None and chosen.finish.city == SUKOHARJO
    nothing = buttons.press(draft, Press("t" * 8, "c", "-"), article)
    assert nothing.finish is not None and nothing.finish.city is None
    buttons.press(draft, Press("t" * 8, "sent", ""), article)
    assert buttons.press(draft, Press("t" * 8, "s", "xyz"), article).refused
    fixed = buttons.press(draft, Press("t" * 8, "s", "pos"), article)
    assert fixed.finish is not None and fixed.finish.sentiment is Sentiment.POSITIVE
    assert buttons.press(draft, Press("t" * 8, "x", ""), article).cancel


def test_stored_drafts_are_checked_before_use() -> None:
    good = Draft(article_id=3, step="cases", cases=["banjir"], choices=["33.11"]).to_payload()
    assert Draft.from_payload(good) == Draft(3, "cases", ["banjir"], ["33.11"], None)
    for bad in (
        {**good, "cases": ["bukan_kasus"]},
        {**good, "step": "hack"},
        {**good, "article_id": "3"},
        {**good, "choices": [1]},
        {},
    ):
        assert Draft.from_payload(bad) is None


def test_typed_place_uses_the_subscription_aliases() -> None:
    [solo] = buttons.resolve_typed_place("  solo ")
    assert solo.name == "Kota Surakarta"
    assert {p.name for p in buttons.resolve_typed_place("Bandung")} == {"Kota Bandung", "Kabupaten Bandung"}
    with pytest.raises(Exception, match="provinsi"):
        buttons.resolve_typed_place("Jawa Tengah")
    with pytest.raises(Exception, match="tidak dikenal") as info:
        buttons.resolve_typed_place("<b>Surakrta</b>")
    assert "<b>" not in str(info.value) and "&lt;b&gt;" in str(info.value)
    assert "Kota Surakarta" in str(info.value)  # a suggestion


def _correction(i: int, field: str, value: Any, *, trusted: bool, minutes: int) -> Correction:
    return Correction(i, 1, USER, USER, trusted, field, None, value, NOW + timedelta(minutes=minutes))


def test_conflicts_resolve_to_the_latest_trusted_and_are_reported() -> None:
    found = [
        _correction(1, "cases", ["banjir"], trusted=True, minutes=1),
        _correction(2, "cases", ["kebakaran"], trusted=False, minutes=5),
        _correction(3, "sentiment", "neutral", trusted=False, minutes=1),
        _correction(4, "sentiment", "positive", trusted=False, minutes=2),
        _correction(5, "city", "33.11", trusted=False, minutes=1),
    ]
    winners, conflicts = resolve(1, found)
    assert winners == {"cases": ["banjir"], "sentiment": "positive", "city": "33.11"}
    assert [(c.field, c.kept, c.why) for c in conflicts] == [
        ("cases", "banjir", "latest trusted"),
        ("sentiment", "positive", "latest"),
    ]
    assert "2 different corrections" in conflicts[0].line()


# ------------------------------------------------------------------------------------ in the chat


async def test_alert_carries_the_button_row_and_digests_do_not(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        message_id = await alert_in(h, USER)
        assert list(h.core.buttons(USER, message_id)) == ["✏️ Koreksi", "🔇 Bisukan sumber"]
        # More than five at once become one digest: no per-alert buttons on it.
        for n in range(10, 17):
            await store_and_queue(
                h.db, None, [new_article(n, classification(SOLO, ["banjir"]))], source=OUTLET, now=h.clock()
            )
        await deliver(h)
        digest = h.core.sent(USER)[-1]
        assert "berita baru" in digest["text"] and "reply_markup" not in digest


async def test_trusted_case_correction_updates_the_stored_article(tmp_path: Path) -> None:
    async with harness(tmp_path, admin_ids=frozenset({USER})) as h:
        message_id = await alert_in(h, USER)
        assert await press(h, USER, message_id, "✏️ Koreksi") == ""
        assert set(h.core.buttons(USER, message_id)) == {
            "📍 Kab/Kota salah",
            "🏷 Kasus salah",
            "🙂 Sentimen salah",
            "🚫 Bukan untuk saya",
            "✖️ Batal",
        }
        await press(h, USER, message_id, "🏷 Kasus salah")
        keyboard = h.core.buttons(USER, message_id)
        assert "✅ Kecelakaan" in keyboard and "Banjir" in keyboard and "✔️ Simpan" in keyboard
        assert sum(1 for label in keyboard if label.startswith("✅")) == 1  # pre-set to the current one
        await press(h, USER, message_id, "✅ Kecelakaan")  # off
        await press(h, USER, message_id, "Pencurian")  # on
        assert "✅ Pencurian" in h.core.buttons(USER, message_id)
        assert await press(h, USER, message_id, "✔️ Simpan") == "Terima kasih — tercatat"

        shown = h.core.message(USER, message_id)
        assert "Kasus: Pencurian (dikoreksi)" in shown["text"]
        assert "Cocok: Kota Surakarta" in shown["text"]  # the reason stays
        assert list(h.core.buttons(USER, message_id)) == ["✏️ Koreksi", "🔇 Bisukan sumber"]
        [correction] = await corrections(h)
        assert (correction.field, correction.old_value, correction.new_value) == (
            "cases",
            ["kecelakaan"],
            ["pencurian"],
        )
        assert correction.trusted and correction.chat_id == USER and correction.user_id == USER
        # The stored article, its case index (/latest by case) and its story use the corrected label.
        article = await get_article(h.db, correction.article_id)
        assert article is not None and article.classification.cases == ("pencurian",)
        assert article.corrected == {"cases"}
        by_case = await latest_articles(h.db, SubscriptionFilter(cases=frozenset({"pencurian"})), lambda a: True)
        assert [a.id for a in by_case.articles] == [article.id]
        by_old = await latest_articles(h.db, SubscriptionFilter(cases=frozenset({"kecelakaan"})), lambda a: True)
        assert by_old.articles == []
        assert article.story_id is not None
        story = await get_story(h.db, article.story_id)
        assert story is not None and story.cases == ("pencurian",)
        # Nothing is sent again.
        sent = len(h.core.sent())
        await deliver(h)
        assert len(h.core.sent()) == sent


async def test_group_member_suggests_and_group_admin_is_trusted(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        message_id = await alert_in(h, GROUP)
        await press(h, GROUP, message_id, "✏️ Koreksi", user_id=MEMBER)
        await press(h, GROUP, message_id, "🙂 Sentimen salah", user_id=MEMBER)
        assert await press(h, GROUP, message_id, "Netral", user_id=MEMBER) == "Terima kasih — tercatat"
        assert "Sentimen: Netral (dikoreksi)" in h.core.message(GROUP, message_id)["text"]
        [suggestion] = await corrections(h)
        assert not suggestion.trusted
        article = await get_article(h.db, suggestion.article_id)
        assert article is not None and article.classification.sentiment is Sentiment.NEGATIVE  # only recorded

        await press(h, GROUP, message_id, "✏️ Koreksi", user_id=GROUP_ADMIN)
        await press(h, GROUP, message_id, "📍 Kab/Kota salah", user_id=GROUP_ADMIN)
        keyboard = h.core.buttons(GROUP, message_id)
        assert "📍 Kabupaten Sukoharjo" in keyboard and "⌨️ Ketik nama" in keyboard
        assert "∅ Tidak ada Kab/Kota" in keyboard
        await press(h, GROUP, message_id, "📍 Kabupaten Sukoharjo", user_id=GROUP_ADMIN)
        text = h.core.message(GROUP, message_id)["text"]
        assert "Wilayah: Kabupaten Sukoharjo, Jawa Tengah (dikoreksi)" in text
        article = await get_article(h.db, suggestion.article_id)
        assert article is not None and article.classification.city == SUKOHARJO
        assert [c.trusted for c in await corrections(h)] == [False, True]


async def test_a_draft_belongs_to_whoever_opened_it(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        message_id = await alert_in(h, GROUP)
        await press(h, GROUP, message_id, "✏️ Koreksi", user_id=MEMBER)
        answer = await press(h, GROUP, message_id, "🏷 Kasus salah", user_id=GROUP_ADMIN)
        assert "pengguna lain" in answer
        h.clock.advance(11 * 60)  # left alone: someone else may take it over
        assert await press(h, GROUP, message_id, "🏷 Kasus salah", user_id=GROUP_ADMIN) == ""


async def test_restart_between_presses_loses_nothing(tmp_path: Path) -> None:
    async with harness(tmp_path, admin_ids=frozenset({USER})) as h:
        message_id = await alert_in(h, USER)
        await press(h, USER, message_id, "✏️ Koreksi")
        await press(h, USER, message_id, "🏷 Kasus salah")
        await press(h, USER, message_id, "Banjir")
        keyboard = h.core.buttons(USER, message_id)
        messages = dict(h.core.messages)
    # A new process on the same database: the same buttons carry on.
    async with harness(tmp_path, admin_ids=frozenset({USER})) as h2:
        h2.core.messages.update(messages)
        assert "✅ Banjir" in keyboard
        await press(h2, USER, message_id, "Kebakaran")
        assert await press(h2, USER, message_id, "✔️ Simpan") == "Terima kasih — tercatat"
        [correction] = await corrections(h2)
        assert correction.new_value == ["kecelakaan", "banjir", "kebakaran"]


async def test_forged_callbacks_are_refused_and_write_nothing(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        mine = await alert_in(h, USER)
        other_chat = 4343
        theirs = await alert_in(h, other_chat, n=2)
        # Another chat's article through this chat's message, and this chat's article on a wrong message.
        assert "tidak berlaku" in await press_data(h, USER, mine, "fb:2:k")
        assert "tidak berlaku" in await press_data(h, USER, mine + 999, "fb:1:k")
        # A well-formed token that does not exist, and one from another chat.
        assert "kedaluwarsa" in await press_data(h, USER, mine, "cr:AAAAAAAA:save")
        await press(h, other_chat, theirs, "✏️ Koreksi")
        token = h.core.buttons(other_chat, theirs)["🏷 Kasus salah"].split(":")[1]
        assert "kedaluwarsa" in await press_data(h, USER, mine, f"cr:{token}:cases")
        # A real draft pressed with a key outside the taxonomy or a place it never offered.
        await press(h, USER, mine, "✏️ Koreksi")
        mine_token = h.core.buttons(USER, mine)["🏷 Kasus salah"].split(":")[1]
        await press(h, USER, mine, "🏷 Kasus salah")
        assert "tidak dikenal" in await press_data(h, USER, mine, f"cr:{mine_token}:t:perang")
        assert "tidak dikenal" in await press_data(h, USER, mine, f"cr:{mine_token}:s:pos")  # not this step
        await press(h, USER, mine, "◀ Kembali")
        await press(h, USER, mine, "📍 Kab/Kota salah")
        assert "tidak dikenal" in await press_data(h, USER, mine, f"cr:{mine_token}:c:32.73")
        assert "kedaluwarsa" in await press_data(h, USER, mine, "x" * 65)
        assert await corrections(h) == []
        article = await get_article(h.db, 1)
        assert article is not None and article.classification.city == SOLO


async def test_typed_place_in_a_group_is_addressed_to_the_presser(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        message_id = await alert_in(h, GROUP)
        await press(h, GROUP, message_id, "✏️ Koreksi", user_id=GROUP_ADMIN)
        await press(h, GROUP, message_id, "📍 Kab/Kota salah", user_id=GROUP_ADMIN)
        await press(h, GROUP, message_id, "⌨️ Ketik nama", user_id=GROUP_ADMIN)
        prompt = h.core.sent(GROUP)[-1]
        assert prompt["text"].startswith("✏️ Kab/Kota yang benar untuk")
        assert f'<a href="tg://user?id={GROUP_ADMIN}">' in prompt["text"]
        assert prompt["reply_markup"]["force_reply"] is True and prompt["reply_markup"]["selective"] is True
        assert prompt["reply_parameters"]["message_id"] == message_id
        prompt_message = h.core.message(GROUP, _last_message_id(h, GROUP))

        async def reply(text: str, user_id: int = GROUP_ADMIN) -> list[str]:
            before = len(h.core.sent())
            payload = message_payload(GROUP, text, user_id=user_id, reply_to=prompt_message)
            await h.send({"message": payload})
            return [p["text"] for p in h.core.sent()[before:]]

        assert "tidak dikenal" in (await reply("Surakrta Hadiningrat"))[0]
        assert "provinsi" in (await reply("Jawa Barat"))[0]
        assert "tidak berlaku" in (await reply("Bandung", user_id=MEMBER))[0]  # not the presser's prompt
        [pick] = await reply("Bandung")  # two places: offered as buttons on the alert
        assert "pilih salah satu" in pick
        keyboard = h.core.buttons(GROUP, message_id)
        assert "📍 Kota Bandung" in keyboard and "📍 Kabupaten Bandung" in keyboard
        await press(h, GROUP, message_id, "📍 Kota Bandung", user_id=GROUP_ADMIN)
        [place_line] = [x for x in h.core.message(GROUP, message_id)["text"].split("\n") if x.startswith("Wilayah")]
        assert place_line.startswith("Wilayah: Kota Bandung, Jawa Barat") and place_line.endswith("(dikoreksi)")
        [correction] = await corrections(h)
        assert correction.new_value == BANDUNG.code and correction.trusted


async def test_typed_single_place_finishes_in_a_private_chat(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        message_id = await alert_in(h, USER)
        await press(h, USER, message_id, "✏️ Koreksi")
        await press(h, USER, message_id, "📍 Kab/Kota salah")
        await press(h, USER, message_id, "⌨️ Ketik nama")
        prompt_message = h.core.message(USER, _last_message_id(h, USER))
        assert prompt_message["text"].startswith("✏️ Kab/Kota yang benar?")
        before = len(h.core.sent())
        await h.send({"message": message_payload(USER, "kab. sukoharjo", reply_to=prompt_message)})
        [thanks] = [p["text"] for p in h.core.sent()[before:]]
        assert "Terima kasih — tercatat" in thanks and "Kabupaten Sukoharjo" in thanks
        assert "(dikoreksi)" in h.core.message(USER, message_id)["text"]
        [correction] = await corrections(h)
        assert not correction.trusted  # a private chat's user suggests; PANTAU_ADMIN_IDS are trusted


async def test_cancel_and_no_change_restore_the_keyboard_without_recording(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        message_id = await alert_in(h, USER)
        await press(h, USER, message_id, "✏️ Koreksi")
        assert await press(h, USER, message_id, "✖️ Batal") == "Dibatalkan"
        assert list(h.core.buttons(USER, message_id)) == ["✏️ Koreksi", "🔇 Bisukan sumber"]
        await press(h, USER, message_id, "✏️ Koreksi")
        await press(h, USER, message_id, "🙂 Sentimen salah")
        assert await press(h, USER, message_id, "• Negatif") == "Tidak ada yang berubah"
        assert await corrections(h) == []
        await press(h, USER, message_id, "✏️ Koreksi")
        assert await press(h, USER, message_id, "🚫 Bukan untuk saya") == "Terima kasih — tercatat"
        pairs = await feedback_store.feedback_stats(h.db, now=h.clock())
        assert pairs.per_field["relevance"] == (1, 1)


async def test_mute_source_stops_that_outlet_for_that_chat_only(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        message_id = await alert_in(h, GROUP)
        other = 4343
        await h.text(other, "/langganan Solo")
        # Only group admins mute.
        assert "hanya admin" in await press(h, GROUP, message_id, "🔇 Bisukan sumber", user_id=MEMBER)
        answer = await press(h, GROUP, message_id, "🔇 Bisukan sumber", user_id=GROUP_ADMIN)
        assert "Warta Solo dibisukan" in answer
        [listing] = await h.text(GROUP, "/bisukan", user_id=MEMBER)
        assert "1. Warta Solo" in listing

        sent_before = len(h.core.sent(GROUP))
        fresh = new_article(5, classification(SOLO, ["kebakaran"]), title="Kebakaran di Solo")
        other_outlet = new_article(6, classification(SOLO, ["kebakaran"]), title="Kebakaran lain di Solo")
        await store_and_queue(h.db, None, [fresh], source=OUTLET, now=h.clock())
        await store_and_queue(h.db, None, [other_outlet], source="Kabar Lain", now=h.clock())
        await deliver(h)
        group_texts = h.core.texts(GROUP)[sent_before:]
        assert len(group_texts) == 1 and "Kebakaran lain di Solo" in group_texts[0]
        assert any("Kebakaran di Solo<" in t for t in h.core.texts(other))  # the other chat still gets it

        [refused] = await h.text(GROUP, "/suarakan 1", user_id=MEMBER)
        assert "hanya admin" in refused
        [done] = await h.text(GROUP, "/suarakan 1", user_id=GROUP_ADMIN)
        assert "Warta Solo disuarakan" in done
        assert await feedback_store.muted_sources(h.db, GROUP) == []
        await store_and_queue(h.db, None, [new_article(7, classification(SOLO))], source=OUTLET, now=h.clock())
        await deliver(h)
        assert title_of(7) in h.core.texts(GROUP)[-1]


async def test_presses_count_against_the_chat_rate_limit(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        message_id = await alert_in(h, USER)  # two commands so far
        answers = []
        for _ in range(20):
            answers.append(await press_data(h, USER, message_id, "fb:1:k"))
        assert any("Terlalu banyak" in a for a in answers)


async def test_stats_and_export_after_corrections(tmp_path: Path) -> None:
    async with harness(tmp_path, admin_ids=frozenset({ADMIN_ID, USER})) as h:
        message_id = await alert_in(h, USER)
        await press(h, USER, message_id, "✏️ Koreksi")
        await press(h, USER, message_id, "🏷 Kasus salah")
        await press(h, USER, message_id, "Banjir")
        await press(h, USER, message_id, "✔️ Simpan")
        [stats] = await h.text(ADMIN_ID, "/stats")
        assert "<b>Koreksi label</b>" in stats and "kasus 1/1" in stats
        assert "Banjir: 0 salah, 1 terlewat" in stats
        pairs = await feedback_store.corrections_for_export(h.db, trusted_only=True)
        [(article, found)] = pairs
        winners, conflicts = resolve(article.id, found)
        record = labelled_record(article, winners)
        assert record["labels"]["cases"] == ["kecelakaan", "banjir"]
        assert record["labels"]["city"] == "Kota Surakarta" and record["labels"]["province"] == "Jawa Tengah"
        assert record["corrected"] == ["cases"] and conflicts == []
        json.dumps(record)


async def test_button_state_rows_are_scoped_to_chat_and_kind(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        token = await button_state.create(h.db, chat_id=1, kind="page", user_id=None, payload={"a": 1}, now=NOW)
        assert await button_state.get(h.db, token, chat_id=1, kind="page") is not None
        assert await button_state.get(h.db, token, chat_id=2, kind="page") is None
        assert await button_state.get(h.db, token, chat_id=1, kind="correct") is None
        assert await button_state.get(h.db, "'; DROP", chat_id=1, kind="page") is None
        # Old rows are pruned when new ones are made.
        await button_state.create(h.db, chat_id=1, kind="page", user_id=None, payload={}, now=NOW + timedelta(days=40))
        assert await button_state.get(h.db, token, chat_id=1, kind="page") is None


async def test_a_file_from_before_corrections_is_upgraded(tmp_path: Path) -> None:
    import sqlite3

    from storage.db import open_database
    from storage.schema import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "before.db"
    # The step before the one that adds corrections (later steps may follow it).
    before = next(v for v, step in MIGRATIONS.items() if isinstance(step, str) and "CREATE TABLE corrections" in step)
    before -= 1
    assert 1 <= before < SCHEMA_VERSION
    raw = sqlite3.connect(path)
    steps = "\n".join(str(MIGRATIONS[v]) for v in range(1, before + 1))
    raw.executescript(f"{steps}\nPRAGMA user_version = {before};")
    raw.execute(
        "INSERT INTO articles (link, url, title, body, fetched_at, sentiment, confidence)"
        " VALUES ('https://a.example/1', 'https://a.example/1', 'Judul', 'Isi', '2024-12-01T00:00:00+00:00',"
        " 'neutral', 50)"
    )
    raw.commit()
    raw.close()
    db = await open_database(path)
    try:
        article = await get_article(db, 1)
        assert article is not None and article.corrected == frozenset()
        assert await feedback_store.muted_sources(db, 1) == []
        assert await button_state.latest_for_user(db, chat_id=1, kind="page", user_id=None) is None
    finally:
        await db.close()


async def test_feedback_export_resolves_conflicts_and_reports_them(tmp_path: Path) -> None:
    import argparse
    import io

    from chat_fixtures import publish, settings

    from bot.models import LabelCorrection
    from bot.runtime import feedback_commands

    async with harness(tmp_path) as h:
        await publish(h.db, new_article(1, classification(SOLO, ["kecelakaan"])))
        await publish(h.db, new_article(2, classification(SOLO, ["banjir"])))
        first = await get_article(h.db, 1)
        second = await get_article(h.db, 2)
        assert first is not None and second is not None
        record = feedback_store.record_correction
        await record(
            h.db, first, LabelCorrection("cases", cases=("kebakaran",)), chat_id=1, user_id=1, trusted=True, now=NOW
        )
        later = NOW + timedelta(minutes=5)
        await record(
            h.db, first, LabelCorrection("cases", cases=("pencurian",)), chat_id=2, user_id=2, trusted=False, now=later
        )
        await record(
            h.db,
            second,
            LabelCorrection("sentiment", sentiment=Sentiment.POSITIVE),
            chat_id=2,
            user_id=2,
            trusted=False,
            now=later,
        )
        await record(h.db, second, LabelCorrection("relevance"), chat_id=2, user_id=2, trusted=False, now=later)

    async def export(*extra: str) -> tuple[list[dict[str, Any]], str]:
        out, err = io.StringIO(), io.StringIO()
        args = argparse.Namespace(feedback_command="export", trusted="--trusted" in extra, output=None)
        assert await feedback_commands.dispatch(settings(tmp_path), args, out, err) == 0
        return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()

    records, err = await export()
    assert [(r["id"], r["labels"]["cases"], r["labels"]["sentiment"]) for r in records] == [
        ("pantau-1", ["kebakaran"], "negative"),  # the trusted correction wins over a later suggestion
        ("pantau-2", ["banjir"], "positive"),
    ]
    assert (
        "conflict: article 1 cases: 2 different corrections (kebakaran; pencurian); kept kebakaran (latest trusted)"
        in err
    )
    assert "exported 2 corrected articles; 1 conflicts resolved" in err
    records, err = await export("--trusted")
    assert [r["id"] for r in records] == ["pantau-1"] and "0 conflicts" in err
