"""One event, one alert (issue #10, phase 2): a story is alerted once per chat; later reports edit that
alert to name their outlets, a material change is a "Pembaruan" replying to it, digests and the outbox
are by story. Real SQLite, the real sender, PTB's Bot against the in-process fake Bot API."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from chat_fixtures import NOW, Clock, new_article, title_of
from fake_botapi import TOKEN, FakeBotCore, FakeRequest
from telegram import Bot
from test_delivery import Mono, Rig, subscribe

from bot.classify import classify
from bot.delivery.sender import PacingPolicy, Sender
from bot.formatting import TELEGRAM_MAX_TEXT, also_reported, render_alert_html, render_digest_html
from bot.ingest.store import StoreResult, plan_followups, store_and_queue
from bot.models import Article, SubscriptionFilter
from bot.stories.changes import death_toll, material_change
from storage import deliveries as delivery_store
from storage.db import open_database
from storage.deliveries import StoryAlert
from storage.schema import MIGRATIONS
from storage.stories import story_articles

SOLO_FIRES = SubscriptionFilter(area_codes=frozenset({"33.72"}), cases=frozenset({"kebakaran"}))
EDIT_INTERVAL = 300.0

# One warehouse fire in Pasar Kliwon, Solo, as three outlets write it (text written for these tests).
FIRE = [
    (
        "Warta Solo",
        "Gudang Mebel di Pasar Kliwon Solo Terbakar",
        "SOLO — Sebuah gudang mebel di Kelurahan Semanggi, Kecamatan Pasar Kliwon, Kota Surakarta, terbakar "
        "Selasa (17/12/2024) dini hari. Empat unit mobil pemadam dikerahkan untuk menjinakkan api.",
    ),
    (
        "Kabar Jateng",
        "Api Lalap Gudang Mebel Semanggi, Empat Mobil Damkar Dikerahkan",
        "SURAKARTA — Kebakaran melanda gudang mebel di Semanggi, Pasar Kliwon, Solo, Selasa dini hari. Petugas "
        "damkar mengerahkan empat unit mobil pemadam untuk memadamkan api di gudang mebel tersebut.",
    ),
    (
        "Nusantara Daring",
        "Kebakaran Gudang Mebel di Pasar Kliwon, Kerugian Ditaksir Ratusan Juta",
        "SOLO — Gudang mebel di Semanggi, Pasar Kliwon, Kota Surakarta, ludes terbakar Selasa dini hari. Empat "
        "mobil pemadam dikerahkan; kerugian pemilik gudang mebel ditaksir ratusan juta rupiah.",
    ),
]
# The same fire, later: the warehouse guard was found dead — a death toll in the headline.
FIRE_TOLL = (
    "Kabar Jateng",
    "Penjaga Gudang Mebel di Pasar Kliwon Tewas Terjebak Api",
    "SOLO — Penjaga gudang mebel di Semanggi, Pasar Kliwon, Kota Surakarta, ditemukan tewas setelah kebakaran "
    "Selasa dini hari. Petugas menemukan jasadnya di dalam gudang mebel.",
)
# Another fire in Solo the same day: a different incident (same Kab/Kota, same case).
HOUSE_FIRE = (
    "Kabar Jateng",
    "Rumah Warga di Nusukan Solo Terbakar Akibat Korsleting",
    "SOLO — Sebuah rumah warga di Kelurahan Nusukan, Kecamatan Banjarsari, Kota Surakarta, terbakar Selasa "
    "siang. Api diduga berasal dari korsleting listrik di dapur.",
)


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def rig(tmp_path: Path) -> Rig:
    db = await open_database(tmp_path / "p.db")
    core = FakeBotCore(unchanged_edit_fails=True)
    mono, wall = Mono(), Clock()
    bot = Bot(TOKEN, request=FakeRequest(core))
    await bot.initialize()
    sender = Sender(db, bot, clock=mono, wall_clock=wall, policy=PacingPolicy(backoff_base=2.0, max_attempts=3))
    yield Rig(db, core, sender, mono, wall)
    await bot.shutdown()
    await db.close()


_numbers = iter(range(100, 10_000))


async def report(rig: Rig, outlet: str, title: str, body: str) -> StoreResult:
    """One outlet's report, classified for real and stored as the poller stores it (at the rig's time)."""
    n = next(_numbers)
    item = new_article(n, classify(title, body), title=title, body=body, published=rig.wall.now)
    return await store_and_queue(rig.db, None, [item], source=outlet, now=rig.wall(), edit_interval=EDIT_INTERVAL)


def outlets_named(text: str) -> list[str]:
    line = next((ln for ln in text.split("\n") if ln.startswith("Juga diberitakan")), "")
    return [part.split(">", 1)[1].split("<", 1)[0] for part in line.split("<a ")[1:]]


async def test_later_reports_edit_the_alert_in_place(rig: Rig) -> None:
    await subscribe(rig.db, 1, SOLO_FIRES)
    first = await report(rig, *FIRE[0])
    await rig.run()
    [alert] = rig.core.sent(1)
    assert "Juga diberitakan" not in alert["text"]

    second = await report(rig, *FIRE[1])
    assert second.story_starts == frozenset() and second.edits == 1 and second.queued == 1
    await rig.run()
    assert len(rig.core.sent(1)) == 1  # no new message
    [edit] = rig.core.edits(1)
    assert edit["message_id"] == await _message_id_of_alert(rig)
    assert outlets_named(edit["text"]) == ["Kabar Jateng"]
    assert '<a href="https://berita.example/' in edit["text"]
    message_id = edit["message_id"]
    assert rig.core.message_text(1, message_id) == edit["text"]
    assert "✏️ Koreksi" in rig.core.buttons(1, message_id)  # the edit keeps the alert's buttons

    # A third outlet soon after: the edit waits for the interval, then names both.
    rig.wall.advance(30)
    rig.mono.t += 30
    third = await report(rig, *FIRE[2])
    assert third.edits == 1
    rows = await delivery_store.get_deliveries(rig.db, [3])
    assert rows[0].kind == "edit" and rows[0].next_attempt_at >= rig.wall.now + timedelta(seconds=EDIT_INTERVAL - 31)
    await rig.run()
    assert len(rig.core.sent(1)) == 1
    edits = rig.core.edits(1)
    assert len(edits) == 2 and edits[1]["message_id"] == message_id
    assert outlets_named(edits[1]["text"]) == ["Kabar Jateng", "Nusantara Daring"]
    assert first.story_starts and (await rig.status()) == {"sent": 3}


async def test_reports_arriving_together_coalesce_into_one_edit(rig: Rig) -> None:
    await subscribe(rig.db, 1, SOLO_FIRES)
    await report(rig, *FIRE[0])
    await rig.run()
    await report(rig, *FIRE[1])
    third = await report(rig, *FIRE[2])  # an edit is already queued: it will name this outlet too
    assert third.edits == 0 and third.queued == 0
    await rig.run()
    [edit] = rig.core.edits(1)
    assert outlets_named(edit["text"]) == ["Kabar Jateng", "Nusantara Daring"]


async def test_reports_stored_before_the_alert_is_sent_are_named_in_it(rig: Rig) -> None:
    await subscribe(rig.db, 1, SOLO_FIRES)
    for outlet in FIRE:
        await report(rig, *outlet)
    await rig.run()
    [alert] = rig.core.sent(1)
    assert outlets_named(alert["text"]) == ["Kabar Jateng", "Nusantara Daring"]
    assert rig.core.edits() == []


async def test_a_distinct_incident_of_the_same_city_and_case_is_its_own_alert(rig: Rig) -> None:
    await subscribe(rig.db, 1, SOLO_FIRES)
    await report(rig, *FIRE[0])
    house = await report(rig, *HOUSE_FIRE)
    assert house.story_starts
    await rig.run()
    texts = rig.core.texts(1)
    assert len(texts) == 2 and "Nusukan" in texts[1]
    assert all("Juga diberitakan" not in t for t in texts)


async def test_a_death_toll_is_an_update_replying_to_the_alert(rig: Rig) -> None:
    await subscribe(rig.db, 1, SOLO_FIRES)
    await report(rig, *FIRE[0])
    await rig.run()
    toll = await report(rig, *FIRE_TOLL)
    assert toll.updates == 1 and toll.edits == 0
    await rig.run()
    alert, update = rig.core.sent(1)
    assert update["text"].startswith("🔄 <b>Pembaruan</b> · Korban tewas: 1\n")
    assert "Penjaga Gudang Mebel" in update["text"]
    assert "Pembaruan" not in alert["text"]
    assert update["reply_parameters"]["message_id"] == await _message_id_of_alert(rig)
    assert update["reply_parameters"]["allow_sending_without_reply"] is True
    # Later reports still edit the first alert, which now names the outlet of the update too.
    await report(rig, *FIRE[2])
    await rig.run()
    [edit] = rig.core.edits(1)
    assert edit["message_id"] == await _message_id_of_alert(rig)
    assert outlets_named(edit["text"]) == ["Kabar Jateng", "Nusantara Daring"]


async def _message_id_of_alert(rig: Rig) -> int:
    [row] = await delivery_store.get_deliveries(rig.db, [1])
    assert row.kind == "alert" and row.message_id is not None
    return row.message_id


async def test_a_later_report_matching_another_subscription_is_that_chats_first_alert(rig: Rig) -> None:
    await subscribe(rig.db, 1, SOLO_FIRES)
    await subscribe(rig.db, 2, SubscriptionFilter(include_keywords=("damkar",)))  # only the 2nd report says it
    await report(rig, *FIRE[0])
    await rig.run()
    assert len(rig.core.sent(1)) == 1 and rig.core.sent(2) == []
    second = await report(rig, *FIRE[1])
    assert second.edits == 1 and second.queued == 2
    await rig.run()
    [alert2] = rig.core.sent(2)
    assert "Api Lalap Gudang Mebel Semanggi" in alert2["text"]
    assert outlets_named(alert2["text"]) == ["Warta Solo"]  # the story's other outlet
    assert len(rig.core.edits(1)) == 1 and rig.core.edits(2) == []


async def test_an_edit_sent_again_after_a_crash_is_not_modified_and_done(rig: Rig) -> None:
    await subscribe(rig.db, 1, SOLO_FIRES)
    await report(rig, *FIRE[0])
    await rig.run()
    await report(rig, *FIRE[1])
    await rig.run()
    assert len(rig.core.edits(1)) == 1
    # The process died after Telegram applied the edit but before 'sent' was written.
    async with rig.db.transaction() as conn:
        await conn.execute("UPDATE deliveries SET status = 'sending' WHERE kind = 'edit'")
    assert await delivery_store.recover_interrupted(rig.db) == 1
    await rig.run()
    assert len(rig.core.edits(1)) == 1  # the repeat was refused as unchanged ...
    refused = [c for c in rig.core.calls_of("editMessageText") if c.status == 400]
    assert len(refused) == 1
    assert await rig.status() == {"sent": 2}  # ... and counts as done, not failed
    assert len(rig.core.sent(1)) == 1


async def test_an_edit_waits_for_its_alert_and_is_dropped_when_the_alert_names_the_outlet(rig: Rig) -> None:
    await subscribe(rig.db, 1, SOLO_FIRES)
    await report(rig, *FIRE[0])
    # The alert is in flight ('sending') when the second report is stored: an edit is queued ...
    async with rig.db.transaction() as conn:
        await conn.execute("UPDATE deliveries SET status = 'sending'")
    assert (await report(rig, *FIRE[1])).edits == 1
    async with rig.db.transaction() as conn:
        await conn.execute("UPDATE deliveries SET status = 'pending' WHERE kind = 'alert'")
    await rig.run()
    # ... the alert, sent after, names the outlet itself; the edit then changes nothing and is done.
    [alert] = rig.core.sent(1)
    assert outlets_named(alert["text"]) == ["Kabar Jateng"]
    assert rig.core.edits(1) == []
    assert await rig.status() == {"sent": 2}


async def test_digests_list_stories_with_their_number_of_media(rig: Rig) -> None:
    await subscribe(rig.db, 1, SubscriptionFilter(area_codes=frozenset({"33.72"})))
    for outlet in FIRE:
        await report(rig, *outlet)
    await report(rig, *HOUSE_FIRE)
    for n in range(1, 6):  # five more incidents: more than the digest threshold at once
        await report(rig, "Warta Solo", f"{title_of(n)} di Solo", f"SOLO — {title_of(n)} di Kota Surakarta.")
    await rig.run()
    texts = rig.core.texts(1)
    assert any("berita baru yang cocok" in t for t in texts)
    digest = next(t for t in texts if "berita baru yang cocok" in t)
    assert "Gudang Mebel di Pasar Kliwon Solo Terbakar</a> — 3 media" in digest
    assert digest.count("Gudang Mebel") == 1  # the story once, not its three reports
    assert rig.core.edits() == []


# ---- pure parts ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("title", "toll"),
    [
        ("Truk Tabrak 3 Motor di Jalan Solo-Semarang, 2 Tewas", 2),
        ("Kecelakaan Maut di Kartasura", None),
        ("Pengendara Motor Tewas Ditabrak Truk", 1),
        ("Korban Tewas Kebakaran Bertambah Jadi 4 Orang", 4),
        ("Dua Orang Meninggal Dunia Tertimbun Longsor", 2),
        ("Kebakaran Gudang, Tidak Ada Korban Jiwa", None),
        ("Banjir Rendam 300 Rumah di Sangkrah", None),
        ("Ledakan Tabung Gas Tewaskan 3 Pekerja", 3),
    ],
)
def test_death_toll_of_a_headline(title: str, toll: int | None) -> None:
    assert death_toll(title) == toll


def test_material_change() -> None:
    assert not material_change(["kecelakaan"], ["Truk Tabrak Motor, 2 Tewas"], "Dua Tewas dalam Kecelakaan", [])
    assert material_change(["kecelakaan"], ["Truk Tabrak Motor, 2 Tewas"], "Korban Tewas Jadi 3", []).death_toll == 3
    change = material_change(["kecelakaan"], [], "Polisi Selidiki", ["kecelakaan", "pembunuhan"])
    assert change.new_cases == ("pembunuhan",) and change.death_toll is None


def _article(n: int, source: str, title: str = "Judul") -> Article:
    item = new_article(n, classify(title, "SOLO — isi."), title=title)
    return Article(
        id=n,
        link=item.link,
        feed_id=None,
        title=title,
        body="isi",
        author=None,
        source=source,
        published_at=NOW,
        fetched_at=NOW,
        classification=item.classification,
    )


def test_also_line_names_other_outlets_once_each_and_always_fits() -> None:
    alerted = _article(1, "Warta Solo")
    reports = [alerted, _article(2, "Warta Solo"), _article(3, "Kabar Jateng"), _article(4, "Kabar Jateng")]
    reports += [_article(10 + i, f"Media {i}") for i in range(5)]
    others = also_reported(alerted, reports)
    assert [a.source for a in others] == ["Kabar Jateng"] + [f"Media {i}" for i in range(5)]
    text = render_alert_html(alerted, "Cocok: x", others)
    assert "Juga diberitakan: " in text and text.count("<a ") == 1 + 4 and "(+2)" in text
    huge = render_alert_html(_article(1, "W", title="Judul " * 800), "Cocok: x", others)
    assert len(huge) <= TELEGRAM_MAX_TEXT and "Juga diberitakan" in huge


def test_digest_items_carry_the_media_count() -> None:
    text, fit = render_digest_html([_article(1, "A", "Satu"), _article(2, "B", "Dua")], outlets=[4, 1])
    assert fit == 2 and "Satu</a> — 4 media" in text and "Dua</a>\n" in text


async def test_story_reports_are_read_back_oldest_first(rig: Rig) -> None:
    for outlet in FIRE:
        result = await report(rig, *outlet)
    story_id = result.stored[0][0].story_id
    assert story_id is not None
    assert [a.source for a in await story_articles(rig.db, story_id)] == [o for o, _, _ in FIRE]


async def test_a_v4_outbox_is_upgraded_its_rows_become_alerts(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    raw = sqlite3.connect(path)
    raw.executescript("\n".join(str(MIGRATIONS[v]) for v in range(1, 5)) + "\nPRAGMA user_version = 4;")
    raw.execute("INSERT INTO chats (id, created_at, updated_at) VALUES (7, '2024-12-01', '2024-12-01')")
    raw.execute(
        "INSERT INTO articles (link, url, title, body, fetched_at, sentiment, confidence)"
        " VALUES ('https://a.example/1', 'https://a.example/1', 'Judul', 'Isi', '2024-12-01T00:00:00+00:00',"
        " 'neutral', 50)"
    )
    raw.execute(
        "INSERT INTO deliveries (chat_id, article_id, next_attempt_at, created_at)"
        " VALUES (7, 1, '2024-12-01T00:00:00+00:00', '2024-12-01T00:00:00+00:00')"
    )
    raw.commit()
    raw.close()
    db = await open_database(path)
    try:
        [row] = await delivery_store.get_deliveries(db, [1])
        assert (row.kind, row.story_id, row.target_id) == ("alert", None, None)
    finally:
        await db.close()


def _known(delivery_id: int, chat_id: int, thread_id: int | None = None, **kw: object) -> StoryAlert:
    values: dict[str, object] = {
        "delivery_id": delivery_id,
        "chat_id": chat_id,
        "thread_id": thread_id,
        "reason": "Cocok: x",
        "status": "sent",
        "digest": False,
        "pending_edit": False,
        "last_edit_at": None,
    }
    values.update(kw)
    return StoryAlert(**values)  # type: ignore[arg-type]


def test_plan_followups_per_chat_and_topic() -> None:
    known = {
        (1, None): _known(10, 1),
        (2, None): _known(20, 2, status="pending"),  # not sent yet: it will name the outlet itself
        (3, None): _known(30, 3, digest=True),  # inside a digest: not edited
        (4, None): _known(40, 4, pending_edit=True),  # an edit is queued already
        (5, None): _known(50, 5, last_edit_at=NOW - timedelta(seconds=100)),
        (6, 7): _known(60, 6, 7),
    }
    matching = {(1, None): "Cocok: a", (6, 7): "Cocok: b", (6, 8): "Cocok: c", (9, None): "Cocok: d"}
    alerts, followups = plan_followups(matching, known, "", now=NOW, edit_interval=300)
    assert alerts == [(6, 8, "Cocok: c"), (9, None, "Cocok: d")]  # a new topic of a chat is new there
    assert [(f.chat_id, f.kind, f.target_id) for f in followups] == [(1, "edit", 10), (5, "edit", 50), (6, "edit", 60)]
    spaced = next(f for f in followups if f.chat_id == 5)
    assert spaced.due == NOW + timedelta(seconds=200)
    _, updates = plan_followups(matching, known, "Korban tewas: 2", now=NOW, edit_interval=300)
    assert {f.kind for f in updates} == {"update"} and len(updates) == len(known)
    assert all(f.reason == "Korban tewas: 2" and f.due == NOW for f in updates)


async def test_an_update_queued_before_its_alert_is_sent_follows_it_as_a_reply(rig: Rig) -> None:
    await subscribe(rig.db, 1, SOLO_FIRES)
    await report(rig, *FIRE[0])
    assert (await report(rig, *FIRE_TOLL)).updates == 1  # the alert is still queued
    await rig.run()
    alert, update = rig.core.sent(1)
    assert "Pembaruan" not in alert["text"] and outlets_named(alert["text"]) == ["Kabar Jateng"]
    assert update["text"].startswith("🔄 <b>Pembaruan</b>")
    assert update["reply_parameters"]["message_id"] == await _message_id_of_alert(rig)
    assert await rig.status() == {"sent": 2}


async def test_each_forum_topic_gets_the_story_once_and_its_own_edit(rig: Rig) -> None:
    forum = -100777
    await subscribe(rig.db, forum, SOLO_FIRES, thread_id=11)
    await subscribe(rig.db, forum, SubscriptionFilter(cases=frozenset({"kebakaran"})), thread_id=22)
    await report(rig, *FIRE[0])
    await rig.run()
    assert sorted(p.get("message_thread_id") for p in rig.core.sent(forum)) == [11, 22]
    second = await report(rig, *FIRE[1])
    assert second.edits == 2 and second.queued == 2
    await rig.run()
    assert len(rig.core.sent(forum)) == 2  # no new message in either topic
    edits = rig.core.edits(forum)
    assert len(edits) == 2 and len({e["message_id"] for e in edits}) == 2
    assert all(outlets_named(e["text"]) == ["Kabar Jateng"] for e in edits)
