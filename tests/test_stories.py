"""Stories (issue #10): features, the assigner's rules, B-cubed scoring, storage in the ingest
transaction, restart, and the measured targets on the project's own set and on ../shared."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.classify import classify
from bot.ingest import stories as story_hook
from bot.ingest.store import store_and_queue
from bot.models import FeedItem
from bot.stories import Params, ReportFeatures, StoryAssigner, extract
from bot.stories.evaluation import bcubed, cluster, evaluate, read_reports
from bot.stories.features import lead_of, stem, title_places
from storage import articles as article_store
from storage import stories as story_store
from storage.articles import NewArticle
from storage.db import Database, open_database

HERE = Path(__file__).resolve().parent
WRITTEN = HERE / "data" / "stories_written.jsonl"
DEV_CLUSTERS = HERE.parents[1] / "shared" / "data" / "dev_clusters.jsonl"
T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def features(title: str, body: str, when: datetime = T0) -> ReportFeatures:
    return extract(title, body, classify(title, body), when)


def run(reports: list[tuple[str, str, datetime]]) -> list[int]:
    """Story number of each (title, body, time), assigned in order."""
    assigner = StoryAssigner()
    out: list[int] = []
    for title, body, when in reports:
        f = features(title, body, when)
        sid = assigner.decide(f).story_id or max(out, default=0) + 1
        assigner.add(sid, f)
        out.append(sid)
    return out


# -- features ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "stem_"),
    [
        (("kebakaran", "terbakar", "dibakar"), "bakar"),
        (("menabrak", "tabrakan", "ditabrak"), "tabrak"),
        (("penangkapan", "ditangkap", "menangkap"), "tangkap"),
        (("pembunuhan", "dibunuh", "pembunuh"), "bunuh"),
    ],
)
def test_stemmer_brings_word_forms_together(words: tuple[str, ...], stem_: str) -> None:
    assert {stem(w) for w in words} == {stem_}


def test_lead_is_the_first_paragraph_and_a_short_dateline_takes_the_next() -> None:
    assert lead_of("Paragraf pertama yang cukup panjang. " * 5 + "\nKedua.").startswith("Paragraf pertama")
    assert "Kedua" not in lead_of("Paragraf pertama yang cukup panjang. " * 5 + "\nKedua.")
    assert "isi berita" in lead_of("SOLO\nisi berita di paragraf berikutnya")


def test_details_are_read_from_title_and_lead_only() -> None:
    f = features(
        "Truk Terguling di Tol Cipali KM 164",
        "MAJALENGKA - Truk bermuatan besi terguling di Tol Cipali KM 164 jalur B, Kecamatan Kertajati, "
        "Kabupaten Majalengka, Sabtu dini hari. Sopirnya selamat.\n"
        "Di hari yang sama, sedan menabrak pembatas di KM 158.",
    )
    assert f.km == frozenset({"164"})
    g = features("Gempa M4,8 Guncang Bantul", "Gempa bermagnitudo 4,8 terjadi di laut barat daya Bantul.")
    assert g.magnitude == frozenset({"4.8"})


def test_headline_place_is_the_name_after_di() -> None:
    names = frozenset({"nusuk", "mangg"})
    assert title_places("Kebakaran Kedua, Rumah di Nusukan Solo Terbakar", names) == {"nusuk"}
    # Kab/Kota names are compared as places, not here; place nouns are skipped to reach the name.
    assert title_places("Banjir di Semarang", frozenset()) == frozenset()
    assert title_places("Terseret Ombak di Pantai Samas", frozenset()) == {"samas"}


# -- the assigner's rules --------------------------------------------------------------------------------


def test_place_and_case_bonuses_alone_never_reach_the_threshold() -> None:
    # Candidates come only from shared words; this keeps that complete.
    p = Params()
    best_case = max(p.shared_case, p.related_case, p.one_side_case)  # one of them applies, at most
    assert p.same_city + p.same_kecamatan + best_case < p.threshold


def test_solo_and_surakarta_with_different_titles_are_one_story() -> None:
    ids = run(
        [
            (
                "Motor Mahasiswa Raib di Parkiran Kos Jebres Solo",
                "SOLO - Sepeda motor milik mahasiswa bernama Arif hilang dicuri di parkiran kos di Kelurahan "
                "Jebres, Solo, Minggu dini hari. Pelaku terekam CCTV membobol kunci setang.",
                T0,
            ),
            (
                "Polresta Surakarta Bekuk Pencuri Motor",
                "Polresta Surakarta menangkap pencuri sepeda motor milik Arif di parkiran kos Jebres berbekal "
                "rekaman CCTV, Senin.",
                T0 + timedelta(hours=20),
            ),
        ]
    )
    assert ids[0] == ids[1]


def test_two_fires_in_one_city_on_one_day_at_different_kecamatan_are_two_stories() -> None:
    ids = run(
        [
            (
                "Rumah Terbakar di Pasar Kliwon Solo",
                "SOLO - Sebuah rumah di Kelurahan Semanggi, Kecamatan Pasar Kliwon, Solo, terbakar Selasa "
                "siang. Damkar mengerahkan lima unit mobil pemadam.",
                T0,
            ),
            (
                "Rumah Terbakar di Banjarsari Solo",
                "SOLO - Sebuah rumah di Kelurahan Nusukan, Kecamatan Banjarsari, Solo, terbakar Selasa "
                "malam. Damkar mengerahkan lima unit mobil pemadam.",
                T0 + timedelta(hours=8),
            ),
        ]
    )
    assert ids[0] != ids[1]


def test_quake_bulletins_with_different_magnitudes_are_two_stories() -> None:
    body = "Gempa bumi bermagnitudo {m} mengguncang wilayah Kabupaten Bantul. BMKG: tidak berpotensi tsunami."
    ids = run(
        [
            ("BMKG: Gempa M4,8 Guncang Bantul", body.format(m="4,8"), T0),
            ("BMKG: Gempa M4,1 Guncang Bantul", body.format(m="4,1"), T0 + timedelta(hours=30)),
            ("Gempa M4,1 Guncang Bantul Malam Ini", body.format(m="4,1"), T0 + timedelta(hours=31)),
        ]
    )
    assert ids[0] != ids[1] and ids[1] == ids[2]


def test_a_story_closes_after_72_hours() -> None:
    title, body = "Banjir Rob Rendam Pekalongan Utara", "PEKALONGAN - Banjir rob merendam Panjang Wetan, Krapyak."
    ids = run([(title, body, T0), (title, body, T0 + timedelta(hours=20)), (title, body, T0 + timedelta(hours=100))])
    assert ids[0] == ids[1] != ids[2]


def test_representative_is_the_report_closest_to_the_others() -> None:
    assigner = StoryAssigner()
    reports = [
        ("Kebakaran Gudang Mebel Mantingan Jepara", "Gudang mebel Harsono di Mantingan Tahunan Jepara terbakar."),
        ("Detik-detik Api Muncul", "Gudang mebel Harsono di Mantingan terbakar, asap terlihat dari jalan raya."),
        ("Kebakaran Gudang Mebel Mantingan", "Gudang mebel Harsono di Mantingan Tahunan terbakar, kerugian besar."),
    ]
    for ref, (title, body) in enumerate(reports, start=10):
        assigner.add(1, features(title, body), ref=ref)
    assert assigner.representative(1) in (10, 12)
    assert assigner.representative(99) is None


# -- B-cubed ------------------------------------------------------------------------------------------------


def test_bcubed_on_a_worked_example() -> None:
    gold = {"a": 1, "b": 1, "c": 2, "d": 2}
    score = bcubed(gold, {"a": "x", "b": "x", "c": "x", "d": "y"})
    # precision: a, b 2/3; c 1/3; d 1 -> 8/3 / 4 = 2/3.  recall: a, b 1; c, d 1/2 -> 3/4
    assert score.precision == pytest.approx(2 / 3) and score.recall == pytest.approx(0.75)
    assert score.wrongly_merged == [("a", "c"), ("b", "c")]
    assert score.wrongly_split == [("c", "d")]
    perfect = bcubed(gold, {"a": 5, "b": 5, "c": 6, "d": 6})
    assert perfect.f1 == 1.0 and not perfect.wrongly_merged and not perfect.wrongly_split


# -- targets ------------------------------------------------------------------------------------------------


def _score(path: Path, text: str) -> tuple[float, list[tuple[str, str]]]:
    reports = list(read_reports(path.read_text(encoding="utf-8").splitlines(), body_field=text))
    score = evaluate(reports)
    return score.f1, score.wrongly_merged


def test_own_written_set_meets_the_target() -> None:
    f1, merged = _score(WRITTEN, "body")
    assert f1 >= 0.95 and merged == []
    f1_teaser, merged_teaser = _score(WRITTEN, "teaser")
    assert merged_teaser == []
    assert f1_teaser >= 0.85  # measured 0.897: a teaser has fewer words and places to go on


@pytest.mark.skipif(not DEV_CLUSTERS.is_file(), reason="../shared/data not present")
def test_dev_clusters_meet_the_target() -> None:
    f1, merged = _score(DEV_CLUSTERS, "body")
    assert f1 >= 0.95 and merged == []
    f1_teaser, merged_teaser = _score(DEV_CLUSTERS, "teaser")
    assert merged_teaser == []
    assert f1_teaser >= 0.74  # measured 0.771


def test_own_set_has_the_hard_cases_it_claims() -> None:
    rows = [json.loads(line) for line in WRITTEN.read_text(encoding="utf-8").splitlines()]
    kinds = {r["hard"] for r in rows}
    assert {"A1", "A2", "A3", "A4", "B", "C", "HP-place", "HP-titles", "near-copy"} <= kinds
    assert len({r["story"] for r in rows}) >= 15


def test_cluster_answers_in_input_order_and_numbers_stories_by_time() -> None:
    reports = list(read_reports(WRITTEN.read_text(encoding="utf-8").splitlines()))
    out = cluster(reports)
    assert list(out) == [r.id for r in reports]
    earliest = min(reports, key=lambda r: r.published)
    assert out[earliest.id] == 1
    assert set(out.values()) == set(range(1, max(out.values()) + 1))


# -- storage and the ingest hook --------------------------------------------------------------------


def _new(title: str, body: str, link: str, when: datetime) -> NewArticle:
    item = FeedItem(guid=link, link=link, title=title, summary=body, author=None, published=when)
    return NewArticle(item=item, link=link, classification=classify(title, body), alert=True)


INCIDENT = [
    (
        "Gudang Mebel di Tahunan Jepara Terbakar",
        "JEPARA - Gudang mebel milik Harsono di Desa Mantingan, Kecamatan Tahunan, Jepara, terbakar Senin siang.",
        "Warta Pantura",
    ),
    (
        "Kerugian Kebakaran Gudang Ukir Mantingan Rp 800 Juta",
        "Damkar Jepara memastikan api di gudang ukir milik Harsono di Mantingan, Tahunan, padam. Kerugian Rp 800 juta.",
        "Kabar Muria",
    ),
    (
        "Api Hanguskan Gudang Harsono di Mantingan",
        "JEPARA - Api menghanguskan gudang mebel Harsono di Mantingan, Tahunan, Jepara, Senin siang.",
        "Jateng Terkini",
    ),
]
OTHER = (
    "Kios Sembako di Pasar Pecangaan Jepara Terbakar",
    "JEPARA - Dua kios sembako di Pasar Pecangaan, Kecamatan Pecangaan, Jepara, terbakar Senin malam.",
    "Warta Pantura",
)


async def _store(db: Database, title: str, body: str, source: str, n: int, when: datetime) -> int:
    result = await store_and_queue(
        db, None, [_new(title, body, f"https://x.example/{n}", when)], source=source, now=when
    )
    ((article, _),) = result.stored
    assert article.story_id is not None
    # story_starts names the article exactly when it began its story (phase 2 alerts those, edits the rest).
    story = await story_store.get_story(db, article.story_id)
    assert story is not None
    assert (article.id in result.story_starts) == (story.reports == 1)
    return article.story_id


async def test_one_incident_from_three_outlets_is_one_story_row(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "p.db")
    try:
        ids = [await _store(db, t, b, s, n, T0 + timedelta(minutes=30 * n)) for n, (t, b, s) in enumerate(INCIDENT)]
        other = await _store(db, *OTHER, 9, T0 + timedelta(hours=8))
        assert len(set(ids)) == 1 and other != ids[0]
        story = await story_store.get_story(db, ids[0])
        assert story is not None
        assert story.reports == 3 and story.outlets == ("Warta Pantura", "Kabar Muria", "Jateng Terkini")
        assert story.first_at == T0 and story.last_at == T0 + timedelta(minutes=60)
        assert "kebakaran" in story.cases and story.city_codes[0] == "33.20"
        assert story.title in {t for t, _, _ in INCIDENT}
        reports = await story_store.story_articles(db, ids[0])
        assert [a.source for a in reports] == ["Warta Pantura", "Kabar Muria", "Jateng Terkini"]
        assert all(a.story_id == ids[0] for a in reports)
        recent = await story_store.recent_stories(db, limit=5)
        assert [s.id for s in recent] == [other, ids[0]]
    finally:
        await db.close()


def test_a_story_that_arrived_late_still_leaves_the_window() -> None:
    # Reports do not arrive in time order: a slow feed delivers yesterday's news after today's. The old
    # story must leave the window when its time is up, however late it arrived.
    assigner = StoryAssigner()
    today = features("Gudang Mebel di Klaten Terbakar", "KLATEN - Gudang mebel di Ceper terbakar.", T0)
    late = features(
        "Banjir Rendam Ratusan Rumah di Bandung",
        "BANDUNG - Banjir merendam ratusan rumah di Kota Bandung.",
        T0 - timedelta(hours=60),
    )
    assigner.add(1, today)
    assigner.add(2, late)
    assert len(assigner) == 2
    # 13 hours on, the late story's last report is 73 hours old, today's 13: only the late one leaves.
    probe = features(
        "Pasar Murah Digelar di Medan", "MEDAN - Pemkot Medan menggelar pasar murah.", T0 + timedelta(hours=13)
    )
    assigner.decide(probe)
    assert len(assigner) == 1


async def test_restart_rebuilds_the_window_from_the_database(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "p.db")
    first = await _store(db, *INCIDENT[0], 0, T0)
    await db.close()
    db = await open_database(tmp_path / "p.db")  # a new Database: its assigner starts empty
    try:
        assert await _store(db, *INCIDENT[1], 1, T0 + timedelta(hours=2)) == first
    finally:
        await db.close()


async def test_a_rolled_back_transaction_leaves_no_story_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await open_database(tmp_path / "p.db")
    try:
        await _store(db, *INCIDENT[0], 0, T0)
        # The disk fails while the second article of a batch is written, after the first got its story.
        real_insert = article_store.insert_article
        calls = 0

        async def failing_insert(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise sqlite3.OperationalError("disk I/O error")
            return await real_insert(*args, **kwargs)

        monkeypatch.setattr(article_store, "insert_article", failing_insert)
        batch = [_new(*INCIDENT[2][:2], "https://x.example/2", T0), _new(*OTHER[:2], "https://x.example/3", T0)]
        with pytest.raises(sqlite3.OperationalError):
            await store_and_queue(db, None, batch, now=T0)
        monkeypatch.undo()
        assert db not in story_hook._assigners
        async with db.conn.execute("SELECT count(*), count(DISTINCT story_id) FROM articles") as cursor:
            assert tuple(await cursor.fetchone()) == (1, 1)
        sid = await _store(db, *INCIDENT[1], 3, T0 + timedelta(hours=1))
        story = await story_store.get_story(db, sid)
        assert story is not None and story.reports == 2
    finally:
        await db.close()


# -- command line ----------------------------------------------------------------------------------


def test_cluster_and_eval_stories_commands(tmp_path: Path) -> None:
    from tests.test_cli import pantau

    result = pantau("cluster", str(WRITTEN))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 34 and all(set(r) == {"id", "story"} for r in rows)
    result = pantau("eval-stories", "--text", "teaser", "-", stdin=WRITTEN.read_text(encoding="utf-8"))
    assert result.returncode == 0 and "B-cubed precision" in result.stdout
    assert "wrongly merged pairs: 0" in result.stdout

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "title": "Banjir", "body": "x", "published": "2025-01-01T08:00:00+07:00"}\n{oops\n')
    for command in ("cluster", "eval-stories"):
        result = pantau(command, str(bad))
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.strip().splitlines() == [
            f"pantau: {bad}:2: not JSON (Expecting property name enclosed in double quotes)"
        ]
    no_gold = tmp_path / "nogold.jsonl"
    no_gold.write_text('{"id": "a", "title": "Banjir", "body": "x", "published": "2025-01-01T08:00:00+07:00"}\n')
    result = pantau("eval-stories", str(no_gold))
    assert result.returncode == 2 and "no record has a gold 'story'" in result.stderr


async def test_stories_command_lists_recent_stories(tmp_path: Path) -> None:
    from tests.test_cli import pantau

    path = tmp_path / "p.db"
    result = pantau("stories", env={"PANTAU_DB": str(path)})
    assert result.returncode == 0 and "no stories yet" in result.stdout
    db = await open_database(path)
    try:
        for n, (title, body, source) in enumerate(INCIDENT):
            await _store(db, title, body, source, n, T0 + timedelta(minutes=30 * n))
    finally:
        await db.close()
    result = pantau("stories", "--limit", "5", env={"PANTAU_DB": str(path)})
    assert result.returncode == 0, result.stderr
    assert "3 outlets, 3 reports" in result.stdout
    assert "Kabupaten Jepara" in result.stdout and "Kebakaran" in result.stdout
    assert pantau("stories", "--limit", "0", env={"PANTAU_DB": str(path)}).returncode != 0
