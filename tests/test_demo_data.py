"""The demo's bundled feeds (written for the project) are classified the way their labels say.

These articles were written after the classifier's rules, so they are a small check on text the rules were
not tuned on; expected.json gives, per item, the answers an analyst would sign off.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from bot.classify.evaluation import evaluate_records
from bot.feeds.parser import parse_feed
from bot.runtime.demo import DEMO_FEEDS


def demo_records() -> list[dict[str, Any]]:
    data = resources.files("bot.runtime").joinpath("demo_data")
    expected = {e["guid"]: e for e in json.loads(data.joinpath("expected.json").read_text(encoding="utf-8"))}
    records = []
    for name in DEMO_FEEDS:
        parsed = parse_feed(data.joinpath(name).read_bytes(), url=f"https://demo.example/{name}")
        for item in parsed.items:
            label = expected[item.guid]
            records.append({"id": label["item"], "title": item.title, "body": item.summary, "labels": label})
    return records


def test_every_demo_item_has_a_label_and_there_are_enough() -> None:
    records = demo_records()
    assert len(records) >= 36
    assert len({r["id"] for r in records}) == len(records)


def test_demo_items_are_classified_as_labelled() -> None:
    report = evaluate_records(demo_records(), path="demo")
    assert report.city_accuracy >= 0.9
    assert report.case_micro_f1 >= 0.85
    assert report.sentiment_accuracy >= 0.75
