"""`pantau cluster` and `pantau eval-stories`: run the assigner over JSON lines and score it.

Scoring is B-cubed over records (Bagga & Baldwin 1998): for each record, precision is the share of
its predicted story that belongs to its gold story, recall the share of its gold story that landed
in its predicted story; both are averaged over records. The pairs wrongly merged and wrongly split
are listed so a regression can be read, not just measured.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from typing import Any, TextIO

from bot.classify import classify
from bot.errors import InputError
from bot.stories.assigner import Params, StoryAssigner
from bot.stories.features import extract


@dataclass(frozen=True, slots=True)
class Report:
    id: str
    title: str
    body: str
    published: datetime
    outlet: str | None
    gold: str | None = None


def parse_time(value: str) -> datetime:
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def read_reports(lines: Iterable[str], *, source: str = "-", body_field: str = "body") -> Iterator[Report]:
    """Parse JSON lines; a bad line raises PantauError naming it (a half-read file clusters nothing)."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise InputError(f"{source}:{n}: expected a JSON object")
        rid, title, published = obj.get("id"), obj.get("title"), obj.get("published")
        if body_field not in obj and "body" not in obj:
            raise InputError(f"{source}:{n}: missing '{body_field}'")
        body = obj.get(body_field, obj.get("body"))
        if not isinstance(rid, str | int) or isinstance(rid, bool):
            raise InputError(f"{source}:{n}: missing or bad 'id'")
        if not isinstance(title, str) or not title.strip():
            raise InputError(f"{source}:{n}: missing or bad 'title'")
        if not isinstance(body, str):
            raise InputError(f"{source}:{n}: '{body_field}' must be a string")
        if not isinstance(published, str):
            raise InputError(f"{source}:{n}: missing 'published' (ISO 8601 time)")
        try:
            when = parse_time(published)
        except ValueError:
            raise InputError(f"{source}:{n}: bad 'published' time {published!r}") from None
        outlet = obj.get("outlet")
        gold = obj.get("story")
        yield Report(
            id=str(rid),
            title=title,
            body=body,
            published=when,
            outlet=outlet if isinstance(outlet, str) else None,
            gold=str(gold) if isinstance(gold, str | int) and not isinstance(gold, bool) else None,
        )


def cluster(reports: Iterable[Report], params: Params | None = None) -> dict[str, int]:
    """Each report's story number (1, 2, … in order of first report), in input order.

    Reports are assigned in order of publication (a stable sort: a file already in time order is
    taken as it is), as a feed would bring them.
    """
    assigner = StoryAssigner(params)
    ordered = list(reports)
    out: dict[str, int] = {r.id: 0 for r in ordered}
    next_id = 1
    for r in sorted(ordered, key=lambda r: r.published):
        features = extract(r.title, r.body, classify(r.title, r.body, source=r.outlet), r.published)
        decision = assigner.decide(features)
        story = decision.story_id
        if story is None:
            story, next_id = next_id, next_id + 1
        assigner.add(story, features)
        out[r.id] = story
    return out


@dataclass(frozen=True, slots=True)
class StoryScore:
    precision: float
    recall: float
    f1: float
    records: int
    gold_stories: int
    predicted_stories: int
    wrongly_merged: list[tuple[str, str]]  # pairs in one predicted story, different gold stories
    wrongly_split: list[tuple[str, str]]  # pairs of one gold story, different predicted stories


def bcubed(gold: Mapping[str, Any], predicted: Mapping[str, Any]) -> StoryScore:
    ids = [i for i in gold if i in predicted]
    if not ids:
        raise InputError("no record has both a gold 'story' and a prediction")
    by_gold: dict[Any, set[str]] = defaultdict(set)
    by_pred: dict[Any, set[str]] = defaultdict(set)
    for i in ids:
        by_gold[gold[i]].add(i)
        by_pred[predicted[i]].add(i)
    p_sum = r_sum = 0.0
    for i in ids:
        g, p = by_gold[gold[i]], by_pred[predicted[i]]
        both = len(g & p)
        p_sum += both / len(p)
        r_sum += both / len(g)
    precision, recall = p_sum / len(ids), r_sum / len(ids)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    merged = [(a, b) for members in by_pred.values() for a, b in combinations(sorted(members), 2) if gold[a] != gold[b]]
    split = [
        (a, b)
        for members in by_gold.values()
        for a, b in combinations(sorted(members), 2)
        if predicted[a] != predicted[b]
    ]
    return StoryScore(precision, recall, f1, len(ids), len(by_gold), len(by_pred), sorted(merged), sorted(split))


def evaluate(reports: list[Report], params: Params | None = None) -> StoryScore:
    gold = {r.id: r.gold for r in reports if r.gold is not None}
    if not gold:
        raise InputError("no record has a gold 'story' field")
    return bcubed(gold, cluster(reports, params))


def format_score(score: StoryScore, titles: Mapping[str, str] | None = None, label: str = "") -> str:
    titles = titles or {}
    lines = [
        f"{label}records {score.records}, gold stories {score.gold_stories}, predicted {score.predicted_stories}",
        f"B-cubed precision {score.precision:.3f}  recall {score.recall:.3f}  F1 {score.f1:.3f}",
        f"wrongly merged pairs: {len(score.wrongly_merged)}",
    ]
    lines += [f"  {a} + {b}  ({titles.get(a, '')[:50]} | {titles.get(b, '')[:50]})" for a, b in score.wrongly_merged]
    lines.append(f"wrongly split pairs: {len(score.wrongly_split)}")
    lines += [f"  {a} / {b}  ({titles.get(a, '')[:50]} | {titles.get(b, '')[:50]})" for a, b in score.wrongly_split]
    return "\n".join(lines)


def write_clusters(reports: Iterable[Report], out: TextIO) -> int:
    """`pantau cluster`: one {"id", "story"} line per input record."""
    for rid, story in cluster(reports).items():
        out.write(json.dumps({"id": rid, "story": story}) + "\n")
    return 0
