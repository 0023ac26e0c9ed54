"""`pantau classify` and `pantau eval`: JSON-lines classification and the dev-set report."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.classify import CASE_KEYS, classify
from bot.classify.text import fold_name
from bot.errors import InputError
from bot.models import Classification

SENTIMENTS = ("positive", "neutral", "negative")


def classification_to_dict(record_id: Any, cls: Classification) -> dict[str, Any]:
    return {
        "id": record_id,
        "city": cls.city.name if cls.city else None,
        "city_code": cls.city.code if cls.city else None,
        "province": cls.province,
        "other_cities": [p.name for p in cls.other_cities],
        "cases": list(cls.cases),
        "sentiment": str(cls.sentiment),
        "confidence": cls.confidence,
        "evidence": cls.evidence,
    }


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f'"{key}" must be a string')
    return value


def classify_jsonl(infile: TextIO, outfile: TextIO, errfile: TextIO) -> int:
    """Classify JSON lines {"id", "title", "body", "source"?, "default_city"?, "language"?, "link"?}; bad
    lines are reported and skipped.

    Returns 0 if every line was classified, 1 if any line was malformed.
    """
    status = 0
    for lineno, line in enumerate(infile, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            print(f"line {lineno}: not valid JSON: {exc}", file=errfile)
            status = 1
            continue
        if not isinstance(obj, dict):
            print(f"line {lineno}: not a JSON object", file=errfile)
            status = 1
            continue
        if "title" not in obj:
            print(f'line {lineno}: missing "title"', file=errfile)
            status = 1
            continue
        try:
            title = _opt_str(obj, "title") or ""
            body = _opt_str(obj, "body") or ""
            source = _opt_str(obj, "source")
            default_city = _opt_str(obj, "default_city")
            language = _opt_str(obj, "language")
            link = _opt_str(obj, "link")
        except ValueError as exc:
            print(f"line {lineno}: {exc}", file=errfile)
            status = 1
            continue
        cls = classify(title, body, source=source, default_city=default_city, language=language, link=link)
        outfile.write(json.dumps(classification_to_dict(obj.get("id"), cls), ensure_ascii=False) + "\n")
    return status


# --------------------------------------------------------------------------------- evaluation


@dataclass(slots=True)
class ArticleError:
    id: str
    field: str  # "city", "others", "cases" or "sentiment"
    expected: str
    predicted: str


@dataclass(slots=True)
class SeedResult:
    city: str | None
    cases: tuple[str, ...]
    sentiment: str
    confidence: int
    ok: bool


@dataclass(slots=True)
class EvalReport:
    path: str
    n: int = 0
    mode: str = "full"
    city_correct: int = 0
    case_tp: Counter[str] = field(default_factory=Counter)
    case_fp: Counter[str] = field(default_factory=Counter)
    case_fn: Counter[str] = field(default_factory=Counter)
    sentiment_correct: int = 0
    confusion: dict[str, Counter[str]] = field(default_factory=lambda: {s: Counter() for s in SENTIMENTS})
    # (confidence, correct) per article, for the confidence check
    confidence: list[tuple[int, bool]] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)
    # other_cities, compared as folded names over the articles whose labels have the field
    other_tp: int = 0
    other_fp: int = 0
    other_fn: int = 0
    seed: SeedResult | None = None

    @property
    def city_accuracy(self) -> float:
        return self.city_correct / self.n if self.n else 0.0

    @property
    def sentiment_accuracy(self) -> float:
        return self.sentiment_correct / self.n if self.n else 0.0

    def case_prf(self, key: str | None = None) -> tuple[float, float, float]:
        if key is None:
            tp, fp, fn = sum(self.case_tp.values()), sum(self.case_fp.values()), sum(self.case_fn.values())
        else:
            tp, fp, fn = self.case_tp[key], self.case_fp[key], self.case_fn[key]
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f

    def other_cities_pr(self) -> tuple[float, float]:
        """Precision and recall of `other_cities` (1.0 when nothing was predicted / expected)."""
        p = self.other_tp / (self.other_tp + self.other_fp) if self.other_tp + self.other_fp else 1.0
        r = self.other_tp / (self.other_tp + self.other_fn) if self.other_tp + self.other_fn else 1.0
        return p, r

    @property
    def case_micro_f1(self) -> float:
        return self.case_prf()[2]

    @property
    def sentiment_macro_f1(self) -> float:
        f1s = []
        for s in SENTIMENTS:
            tp = self.confusion[s][s]
            fp = sum(self.confusion[g][s] for g in SENTIMENTS if g != s)
            fn = sum(self.confusion[s][p] for p in SENTIMENTS if p != s)
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn) if tp + fn else 0.0
            f1s.append(2 * p * r / (p + r) if p + r else 0.0)
        return sum(f1s) / len(f1s)

    def confidence_halves(self) -> tuple[float, float]:
        """Sentiment accuracy of the more confident half and of the less confident half."""
        ranked = sorted(self.confidence, key=lambda cc: cc[0], reverse=True)
        half = len(ranked) // 2
        high, low = ranked[:half], ranked[half:]
        return _accuracy(high), _accuracy(low)


def _same_city(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return fold_name(a) == fold_name(b)


@dataclass(frozen=True, slots=True)
class TextMode:
    """Which part of a record the classifier sees: all of it, a teaser, or the headline alone.

    `full` is title + body; `teaser:N` is the title + the first N characters of the body (what a
    feed that cuts its items carries); `teaser` is the title + the record's own `teaser` field
    (dev_clusters.jsonl has the RSS description); `title` is the headline only.
    """

    kind: str  # "full", "teaser", "feed" or "title"
    chars: int = 0

    @classmethod
    def parse(cls, spec: str) -> TextMode:
        """'full', 'title', 'teaser' (the record's field) or 'teaser:N'; ValueError otherwise."""
        spec = spec.strip().lower()
        if spec in {"full", "title"}:
            return cls(spec)
        if spec == "teaser":
            return cls("feed")
        name, _, num = spec.partition(":")
        if name == "teaser" and num.isdigit() and int(num) > 0:
            return cls("teaser", int(num))
        raise ValueError(f"unknown text mode {spec!r}: use full, title, teaser or teaser:N (N > 0)")

    def __str__(self) -> str:
        return {"full": "full", "title": "title", "feed": "teaser"}.get(self.kind, f"teaser:{self.chars}")

    def apply(self, rec: dict[str, Any]) -> tuple[str, str]:
        """(title, body) of a record as this mode shows it to the classifier."""
        title = str(rec.get("title") or "")
        body = str(rec.get("body") or "")
        if self.kind == "title":
            return title, ""
        if self.kind == "teaser":
            return title, body[: self.chars]
        if self.kind == "feed":
            if "teaser" not in rec:
                raise InputError(f'record {rec.get("id")!r} has no "teaser" field')
            return title, str(rec.get("teaser") or "")
        return title, body


FULL_TEXT = TextMode("full")


def evaluate_records(records: list[dict[str, Any]], path: str = "", mode: TextMode = FULL_TEXT) -> EvalReport:
    report = EvalReport(path, mode=str(mode))
    for rec in records:
        labels = rec["labels"]
        title, body = mode.apply(rec)
        cls = classify(title, body, source=rec.get("outlet"), link=rec.get("url") or None)
        report.n += 1
        rid = str(rec.get("id"))
        got_city = cls.city.name if cls.city else None
        if _same_city(got_city, labels.get("city")):
            report.city_correct += 1
        else:
            report.errors.append(ArticleError(rid, "city", str(labels.get("city")), str(got_city)))
        if "other_cities" in labels:
            gold_o = {fold_name(c) for c in labels.get("other_cities") or []}
            pred_o = {fold_name(p.name) for p in cls.other_cities}
            report.other_tp += len(pred_o & gold_o)
            report.other_fp += len(pred_o - gold_o)
            report.other_fn += len(gold_o - pred_o)
            if pred_o != gold_o:
                report.errors.append(
                    ArticleError(rid, "others", ",".join(sorted(gold_o)) or "-", ",".join(sorted(pred_o)) or "-")
                )
        gold = set(labels.get("cases", []))
        ok_extra = set(labels.get("cases_also_ok", []))
        pred = set(cls.cases)
        for k in pred & gold:
            report.case_tp[k] += 1
        for k in pred - gold - ok_extra:
            report.case_fp[k] += 1
        for k in gold - pred:
            report.case_fn[k] += 1
        if (pred - ok_extra) != gold - ok_extra or not gold <= pred:
            report.errors.append(
                ArticleError(rid, "cases", ",".join(labels.get("cases", [])) or "-", ",".join(cls.cases) or "-")
            )
        gold_s = labels["sentiment"]
        pred_s = str(cls.sentiment)
        correct = pred_s == gold_s or pred_s in labels.get("sentiment_also_ok", [])
        report.confusion[gold_s][gold_s if correct else pred_s] += 1
        report.sentiment_correct += correct
        report.confidence.append((cls.confidence, correct))
        if not correct:
            report.errors.append(ArticleError(rid, "sentiment", gold_s, f"{pred_s} ({cls.confidence}%)"))
    return report


def parse_seed_record(text: str) -> tuple[str, str]:
    """Title and body of the old system's monitoring record (seed_record.txt).

    The title is the first line after the "Kasus: ..." block; the body is what follows the last
    repetition of the title, without the old system's own "Sentimen" lines.
    """
    lines = [ln.strip() for ln in text.splitlines()]
    start = next((i for i, ln in enumerate(lines) if ln.lower().startswith("kasus")), -1)
    title = next((ln for ln in lines[start + 1 :] if ln), "")
    last = max((i for i, ln in enumerate(lines) if ln == title), default=start)
    body_lines = [ln for ln in lines[last + 1 :] if ln and not ln.lower().startswith("sentimen")]
    return title, "\n".join(body_lines)


def check_seed(path: Path) -> SeedResult:
    title, body = parse_seed_record(path.read_text(encoding="utf-8"))
    cls = classify(title, body)
    city = cls.city.name if cls.city else None
    ok = (
        _same_city(city, "Kota Surakarta")
        and "kecelakaan" not in cls.cases
        and str(cls.sentiment) in {"neutral", "positive"}
        and 1 <= cls.confidence <= 100
    )
    return SeedResult(city, cls.cases, str(cls.sentiment), cls.confidence, ok)


def read_labelled(path: Path) -> list[dict[str, Any]]:
    """The records of a labelled JSON-lines file; InputError naming the first line that is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    records: list[dict[str, Any]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} line {lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("labels"), dict):
            raise InputError(f'{path} line {lineno}: expected a JSON object with a "labels" object')
        records.append(record)
    return records


def evaluate_file(path: str | Path, mode: TextMode = FULL_TEXT) -> EvalReport:
    """Evaluate a labelled JSON-lines file on the text `mode` shows.

    One object per line: {"id", "title", "body", "teaser"?, "outlet"?, "labels": {"city", "province"?,
    "other_cities"?, "cases", "cases_also_ok"?, "sentiment", "sentiment_also_ok"?}}.
    """
    p = Path(path)
    report = evaluate_records(read_labelled(p), str(p), mode)
    seed = p.parent / "seed_record.txt"
    if seed.is_file() and mode == FULL_TEXT:
        report.seed = check_seed(seed)
    return report


def format_report(report: EvalReport) -> str:
    out: list[str] = []
    p, r, f = report.case_prf()
    out.append(f"{report.path}: {report.n} articles, text: {report.mode}")
    out.append(f"city accuracy      {report.city_accuracy:.3f} ({report.city_correct}/{report.n})")
    out.append(f"case micro-F1      {f:.3f} (precision {p:.3f}, recall {r:.3f})")
    out.append(f"sentiment accuracy {report.sentiment_accuracy:.3f}, macro-F1 {report.sentiment_macro_f1:.3f}")
    op, orr = report.other_cities_pr()
    out.append(
        f"other_cities       precision {op:.3f} ({report.other_tp}/{report.other_tp + report.other_fp}), "
        f"recall {orr:.3f} ({report.other_tp}/{report.other_tp + report.other_fn})"
    )
    out.append("")
    out.append("per case            P      R   support")
    for key in CASE_KEYS:
        support = report.case_tp[key] + report.case_fn[key]
        if support or report.case_fp[key]:
            cp, cr, _ = report.case_prf(key)
            out.append(f"  {key:<16} {cp:5.2f}  {cr:5.2f}  {support:4d}")
    out.append("")
    out.append("sentiment confusion (rows = expected, columns = predicted)")
    out.append("            " + "".join(f"{s:>10}" for s in SENTIMENTS))
    for g in SENTIMENTS:
        out.append(f"  {g:<10}" + "".join(f"{report.confusion[g][s]:>10}" for s in SENTIMENTS))
    hi, lo = report.confidence_halves()
    verdict = "ok" if hi > lo else "FAILED"
    out.append("")
    out.append(f"confidence check: accuracy {hi:.3f} in the more confident half, {lo:.3f} in the other ({verdict})")
    if report.seed is not None:
        s = report.seed
        out.append(
            f"seed record: city {s.city}, cases {list(s.cases)}, sentiment {s.sentiment} "
            f"({s.confidence}%) -> {'ok' if s.ok else 'WRONG'}"
        )
    if report.errors:
        out.append("")
        out.append(f"wrong answers ({len(report.errors)}):")
        for e in report.errors:
            out.append(f"  {e.id}  {e.field:<9} expected {e.expected}  got {e.predicted}")
    return "\n".join(out)


def _accuracy(answers: list[tuple[int, bool]]) -> float:
    return sum(ok for _, ok in answers) / len(answers) if answers else 0.0
