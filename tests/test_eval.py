"""classify_jsonl error handling and the dev-set evaluation against the issue's targets."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.classify.evaluation import classify_jsonl, evaluate_file, format_report, parse_seed_record
from tests.shared_data import shared_data_dir

SHARED_DATA = shared_data_dir()


def test_classify_jsonl_keeps_going_after_bad_lines() -> None:
    lines = [
        json.dumps({"id": "a", "title": "Banjir Rendam Ratusan Rumah di Klaten", "body": "Air meluap."}),
        "{not json",
        json.dumps({"id": "c", "body": "tanpa judul"}),
        "",
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "f", "title": "Festival Budaya di Solo", "body": "Meriah.", "source": "Solopos"}),
        json.dumps({"id": "g", "title": 5, "body": ""}),
    ]
    out, err = io.StringIO(), io.StringIO()
    status = classify_jsonl(io.StringIO("\n".join(lines) + "\n"), out, err)
    assert status == 1
    rows = [json.loads(ln) for ln in out.getvalue().splitlines()]
    assert [r["id"] for r in rows] == ["a", "f"]
    assert rows[0]["city"] == "Kabupaten Klaten" and rows[0]["city_code"] == "33.10"
    assert rows[0]["cases"] == ["banjir"]
    assert rows[1]["city"] == "Kota Surakarta"
    for r in rows:
        assert {
            "id",
            "city",
            "city_code",
            "province",
            "other_cities",
            "cases",
            "sentiment",
            "confidence",
            "evidence",
        } <= r.keys()
        assert 1 <= r["confidence"] <= 100
    messages = err.getvalue().splitlines()
    assert messages[0].startswith("line 2: not valid JSON:")
    assert messages[1] == 'line 3: missing "title"'
    assert messages[2] == "line 5: not a JSON object"
    assert messages[3] == 'line 7: "title" must be a string'


def test_classify_jsonl_all_good() -> None:
    out, err = io.StringIO(), io.StringIO()
    line = json.dumps({"id": 1, "title": "Gempa Guncang Garut", "body": ""})
    assert classify_jsonl(io.StringIO(line), out, err) == 0
    assert err.getvalue() == ""


def test_parse_seed_record() -> None:
    text = (
        "Sentimen\nUndefined (0%)\nKab/Kota: Solo\n\nKasus: banjir\n\nJudul Berita\n\nx\n\nJudul Berita\n\n"
        "Esposin, SOLO \u2014 Isi berita.\n\nSentimen: neutral (0%)"
    )
    title, body = parse_seed_record(text)
    assert title == "Judul Berita"
    assert body == "Esposin, SOLO \u2014 Isi berita."


def test_eval_on_small_file(tmp_path: Path) -> None:
    rec = {
        "id": "t1",
        "title": "Kebakaran Hanguskan Pasar di Klaten",
        "body": "Api melalap kios.",
        "labels": {
            "city": "Kabupaten Klaten",
            "province": "Jawa Tengah",
            "other_cities": [],
            "cases": ["kebakaran"],
            "cases_also_ok": [],
            "sentiment": "negative",
            "sentiment_also_ok": [],
        },
    }
    path = tmp_path / "mini.jsonl"
    path.write_text(json.dumps(rec) + "\n", encoding="utf-8")
    report = evaluate_file(path)
    assert report.n == 1 and report.city_accuracy == 1.0 and report.case_micro_f1 == 1.0
    text = format_report(report)
    assert "city accuracy" in text and "confidence check" in text


@pytest.mark.parametrize("name", ["dev_articles.jsonl", "dev_articles_extra.jsonl"])
def test_dev_set_targets(name: str) -> None:
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not available")
    report = evaluate_file(path)
    assert report.city_accuracy >= 0.90, format_report(report)
    assert report.case_micro_f1 >= 0.85, format_report(report)
    assert report.sentiment_accuracy >= 0.75, format_report(report)
    high, low = report.confidence_halves()
    assert high > low
    assert report.seed is not None and report.seed.ok
