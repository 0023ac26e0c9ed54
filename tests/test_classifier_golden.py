"""Golden outputs of the classifier, frozen so a refactor of its rules can prove it changed nothing.

For every record of the shared dev sets (read by path, skipped when absent), the held-out file written
for the project and the demo feeds, the file `tests/data/classifier_golden.json` holds what `classify`
answered (city, province, other cities, cases, sentiment, confidence) on the full text, a 250-character
teaser and the title alone, keyed by set, record id and text mode, with a short hash of the title so a
changed data file is noticed. It holds no publisher's text.

An intended change of outputs is made deliberately: `PANTAU_UPDATE_GOLDEN=1 pytest tests/test_classifier_golden.py`
rewrites the file, and the diff shows what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from bot.classify import classify
from bot.classify.evaluation import TextMode
from tests.shared_data import shared_data_dir
from tests.test_demo_data import demo_records

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = shared_data_dir()
GOLDEN = ROOT / "tests" / "data" / "classifier_golden.json"
SETS: dict[str, Path] = {
    "dev": SHARED_DATA / "dev_articles.jsonl",
    "extra": SHARED_DATA / "dev_articles_extra.jsonl",
    "clusters": SHARED_DATA / "dev_clusters.jsonl",
    "holdout": ROOT / "tests" / "data" / "holdout_written.jsonl",
}
MODES = ("full", "teaser:250", "title")


def _records(name: str) -> list[dict[str, Any]] | None:
    if name == "demo":
        return demo_records()
    path = SETS[name]
    if not path.is_file():
        return None
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _output(rec: dict[str, Any], mode: TextMode) -> dict[str, Any]:
    title, body = mode.apply(rec)
    cls = classify(title, body, source=rec.get("outlet"))
    return {
        "title_sha1": hashlib.sha1(str(rec.get("title") or "").encode("utf-8")).hexdigest()[:10],
        "city": cls.city.name if cls.city else None,
        "province": cls.province,
        "other_cities": [p.name for p in cls.other_cities],
        "cases": list(cls.cases),
        "sentiment": str(cls.sentiment),
        "confidence": cls.confidence,
    }


def _current(name: str) -> dict[str, dict[str, Any]] | None:
    records = _records(name)
    if records is None:
        return None
    out: dict[str, dict[str, Any]] = {}
    modes = [TextMode.parse(m) for m in MODES]
    if name == "clusters":
        modes.append(TextMode.parse("teaser"))
    for rec in records:
        for mode in modes:
            out[f"{name}:{rec['id']}:{mode}"] = _output(rec, mode)
    return out


def _load() -> dict[str, dict[str, Any]]:
    if not GOLDEN.is_file():
        return {}
    data: dict[str, dict[str, Any]] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("name", [*SETS, "demo"])
def test_classifier_outputs_match_golden(name: str) -> None:
    current = _current(name)
    if current is None:
        pytest.skip(f"{SETS[name]} not available")
    golden = _load()
    if os.environ.get("PANTAU_UPDATE_GOLDEN"):
        golden = {k: v for k, v in golden.items() if not k.startswith(f"{name}:")} | current
        # One record per line, so the diff of an intended change reads record by record.
        rows = [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in sorted(golden.items())]
        GOLDEN.write_text("{\n" + ",\n".join(rows) + "\n}\n", "utf-8")
        return
    frozen = {k: v for k, v in golden.items() if k.startswith(f"{name}:")}
    assert frozen, f"no golden outputs for {name}: run with PANTAU_UPDATE_GOLDEN=1"
    assert current.keys() == frozen.keys(), "the data set changed: regenerate the golden file"
    changed = [f"{k}: {frozen[k]} -> {current[k]}" for k in current if current[k] != frozen[k]]
    assert not changed, f"{len(changed)} outputs changed:\n" + "\n".join(changed[:40])
