"""Case keys decided by weighted phrase rules kept in data/cases.toml (keys, labels, tones and words too)."""

from __future__ import annotations

import functools
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources

import ahocorasick

from bot.classify.text import Tokens, normalize_phrase

TITLE_FACTOR = 3.0
LEAD_FACTOR = 1.5
LEAD_TOKENS = 60
REPEAT_FACTOR = 0.5  # a phrase seen again adds half its weight
# A weapon is not an act: a robber "membawa celurit" threatens, and only words for the act itself
# (dibacok, dianiaya, dikeroyok) make an assault.
INSTRUMENTS: dict[str, frozenset[str]] = {
    "penganiayaan": frozenset({"sajam", "senjata tajam", "celurit", "parang", "golok", "clurit", "pisau"}),
}
# A killing reported with the violence that caused it is one event ("pembunuhan" covers fatal
# assaults and stabbings), and a victim's body burned to hide a murder is not a fire. The
# subsumed key is dropped when the main key is also found and, for fire, outscores it.
SUBSUMES: dict[str, tuple[tuple[str, bool], ...]] = {
    "pembunuhan": (("penganiayaan", False), ("kebakaran", True)),
}


@dataclass(frozen=True, slots=True)
class _Entry:
    case: str
    weight: float
    anti: bool
    prefix: bool = False  # the phrase ended in "*": its last word may go on ("tabrak*" -> "tabrakan")


@dataclass(slots=True)
class CaseRules:
    keys: tuple[str, ...]
    labels: dict[str, str]
    tones: dict[str, float]  # key -> pull of the sentiment towards negative
    words: dict[str, str]  # everyday word -> key
    automaton: ahocorasick.Automaton
    negations: frozenset[str]
    drills: frozenset[str]
    hoax: tuple[str, ...]
    threshold: float
    relative: float


def _phrase(raw: str, case: str) -> tuple[str, bool]:
    """A rule phrase in its automaton form, and whether it ends in the wildcard "*"."""
    text = raw.strip()
    prefix = text.endswith("*")
    if prefix:
        text = text[:-1]
    if "*" in text or (prefix and not text[-1:].isalnum()):
        raise ValueError(f"cases.toml [{case}]: {raw!r}: '*' may only end a word")
    key = normalize_phrase(text)
    if not key:
        raise ValueError(f"cases.toml [{case}]: {raw!r} has no words")
    return key, prefix


def parse_case_rules(raw: str) -> CaseRules:
    """Build the rules from the text of a cases.toml; every case needs a label and a tone."""
    data = tomllib.loads(raw)
    glob = data.pop("_global")
    table: dict[str, list[_Entry]] = defaultdict(list)
    labels: dict[str, str] = {}
    tones: dict[str, float] = {}
    words: dict[str, str] = {}
    for case, spec in data.items():
        if "label" not in spec or "tone" not in spec:
            raise ValueError(f"cases.toml [{case}]: needs a label and a tone")
        labels[case] = spec["label"]
        tones[case] = float(spec["tone"])
        for phrase, weight in spec.get("patterns", {}).items():
            key, prefix = _phrase(phrase, case)
            table[key].append(_Entry(case, float(weight), False, prefix))
        for phrase in spec.get("anti", []):
            key, prefix = _phrase(phrase, case)
            table[key].append(_Entry(case, 0.0, True, prefix))
        for w in [case, case.replace("_", " "), spec["label"], *spec.get("words", [])]:
            words.setdefault(normalize_phrase(w), case)
    automaton = ahocorasick.Automaton()
    for key, entries in table.items():
        automaton.add_word(key, (key, tuple(entries)))
    automaton.make_automaton()
    return CaseRules(
        keys=tuple(data),
        labels=labels,
        tones=tones,
        words=words,
        automaton=automaton,
        negations=frozenset(normalize_phrase(n) for n in glob["negations"]),
        drills=frozenset(normalize_phrase(n) for n in glob["drills"]),
        hoax=tuple(normalize_phrase(h) for h in glob["hoax"]),
        threshold=float(glob["threshold"]),
        relative=float(glob["relative"]),
    )


@functools.cache
def load_rules() -> CaseRules:
    raw = resources.files("bot.classify").joinpath("data").joinpath("cases.toml").read_text("utf-8")
    return parse_case_rules(raw)


def _preceding_ngrams(tokens: Tokens, i: int, n: int) -> list[str]:
    """Phrases of 1..n tokens ending anywhere in the n tokens before i (same clause)."""
    win: list[str] = []
    j = i
    while j > 0 and len(win) < n and not tokens.breaks[j]:
        j -= 1
        win.append(tokens.lower[j])
    win.reverse()
    grams = []
    for a in range(len(win)):
        for b in range(a + 1, len(win) + 1):
            grams.append(" ".join(win[a:b]))
    return grams


@dataclass(slots=True)
class _Hit:
    case: str
    start: int
    end: int
    weight: float
    phrase: str
    where: str


def _matches(tokens: Tokens, rules: CaseRules, where: str) -> tuple[list[_Hit], dict[str, list[tuple[int, int]]]]:
    """Pattern hits and anti-phrase spans (per case) on whole tokens; a "*" phrase may end inside a word."""
    joined = tokens.joined
    pats: list[_Hit] = []
    antis: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for end, (key, entries) in rules.automaton.iter(joined):
        start = end - len(key) + 1
        if joined[start - 1] != " ":
            continue
        whole = joined[end + 1] == " "
        ti, tj = tokens.token_at(start), tokens.token_at(end) + 1
        for e in entries:
            if not whole and not e.prefix:
                continue
            if e.anti:
                antis[e.case].append((ti, tj))
            elif e.weight > 0:
                w = where
                if where == "body" and ti < LEAD_TOKENS:
                    w = "lead"
                pats.append(_Hit(e.case, ti, tj, e.weight, key, w))
    pats.sort(key=lambda h: h.start)
    return pats, antis


def _covered(tokens: Tokens, h: _Hit, antis: dict[str, list[tuple[int, int]]], rules: CaseRules) -> str | None:
    """ "drop" or "drill"/"idiom" if an anti phrase of the case covers the hit, else None.

    "cegah korupsi", "rawan longsor": prevention of a real ill is dropped but keeps its tone.
    """
    cover = next(((a, b) for a, b in antis.get(h.case, ()) if a <= h.start and h.end <= b), None)
    if cover is None:
        return None
    span = tokens.lower[cover[0] : cover[1]]
    if any(w in rules.negations and w not in PLAIN_NEGATIONS for w in span):
        return "drop"
    drill = any(w in rules.drills for w in span) or any(
        g in rules.drills for g in _preceding_ngrams(tokens, cover[0], 3)
    )
    return "drill" if drill else "idiom"


def _inside_longer(h: _Hit, pats: list[_Hit]) -> bool:
    """Keep only the longest phrase of a case at one place ("kecelakaan lalu lintas" over "kecelakaan")."""
    return any(
        o is not h
        and o.case == h.case
        and o.start <= h.start
        and h.end <= o.end
        and (o.end - o.start) > (h.end - h.start)
        for o in pats
    )


def _hits(tokens: Tokens, rules: CaseRules, where: str) -> tuple[list[_Hit], list[tuple[int, int, bool]]]:
    """Pattern hits that count, and the suppressed ones as (first token, end token, is_drill).

    A hit is suppressed by an overlapping anti phrase (idiom, programme name, drill), by a negation
    or by a drill word just before it; the sentiment step silences those words too
    (`mask_suppressed`), so "simulasi kebakaran" or "banjir diskon" carry no disaster valence.
    """
    pats, antis = _matches(tokens, rules, where)
    out: list[_Hit] = []
    suppressed: list[tuple[int, int, bool]] = []
    negated: list[tuple[_Hit, bool]] = []  # negated hits and whether the negation was plain
    for h in pats:
        cover = _covered(tokens, h, antis, rules)
        if cover == "drop":
            continue
        if cover is not None:
            suppressed.append((h.start, h.end, cover == "drill"))
            continue
        if _inside_longer(h, pats):
            continue
        before = _preceding_ngrams(tokens, h.start, 3)
        carried = next((plain for n, plain in negated if n.case == h.case and _listed_after(tokens, n, h)), None)
        if carried is not None or any(g in rules.negations for g in before):
            # Only a plain negation says there was no event; "cegah korupsi", "rawan banjir" and
            # "memberantas judi" still speak of a real ill, so those words keep their tone.
            # A negation covers the whole list it heads: "menjauhi korupsi, pungutan liar dan ...".
            plain = carried if carried is not None else any(g in PLAIN_NEGATIONS for g in before)
            negated.append((h, plain))
            if plain:
                suppressed.append((h.start, h.end, False))
            continue
        if any(g in rules.drills for g in before):
            suppressed.append((h.start, h.end, True))
            continue
        out.append(h)
    return out, suppressed


LIST_JOINERS = frozenset({"dan", "atau", "serta", "maupun", "ataupun"})


def _listed_after(tokens: Tokens, prev: _Hit, h: _Hit) -> bool:
    """True if hit h follows hit prev as the next item of one list ("korupsi, pungli dan suap")."""
    if not 0 <= h.start - prev.end <= 1:
        return False
    if any(w not in LIST_JOINERS for w in tokens.lower[prev.end : h.start]):
        return False
    a = tokens.starts[prev.end - 1] + len(tokens.words[prev.end - 1])
    gap = tokens.text[a : tokens.starts[h.start]]
    return not gap.strip(" ,") or gap.strip(" ,") in LIST_JOINERS


PLAIN_NEGATIONS = frozenset({"tidak", "tak", "bukan", "belum", "tanpa", "nihil", "bebas", "tiada"})
DRILL_MARK = "\ue000"  # put into a sentence whose event words belong to a drill or simulation


def mask_suppressed(tokens: Tokens, spans: list[tuple[int, int, bool]]) -> str:
    """`tokens.text` with suppressed case words blanked out (same length, so offsets hold)."""
    if not spans:
        return tokens.text
    chars = list(tokens.text)
    for i, j, drill in spans:
        a = tokens.starts[i]
        b = tokens.starts[j - 1] + len(tokens.words[j - 1])
        chars[a:b] = [" "] * (b - a)
        if drill:
            chars[a] = DRILL_MARK
    return "".join(chars)


# A headline clause opened by one of these gives background, not the news ("Meski ..., ...").
CONCESSIVE = frozenset({"meski", "meskipun", "walau", "walaupun", "kendati", "sekalipun", "biarpun"})


def _concessive(tokens: Tokens, i: int) -> bool:
    """True if token i sits in a clause opened by a concessive word."""
    j = i
    while j >= 0:
        if tokens.lower[j] in CONCESSIVE:
            return True
        if tokens.breaks[j]:
            return False
        j -= 1
    return False


@dataclass(slots=True)
class CaseResult:
    cases: list[str]
    scores: dict[str, float]
    evidence: dict[str, list[str]]
    hoax: bool
    title_masked: str = ""  # title and body with suppressed case words blanked (mask_suppressed)
    body_masked: str = ""
    title_drill: bool = False  # the headline's event words belong to a drill or simulation


def detect_cases(title: Tokens, body: Tokens) -> CaseResult:
    rules = load_rules()
    thits, tsup = _hits(title, rules, "title")
    for h in thits:
        if _concessive(title, h.start):
            h.where = "body"  # "Meski Banyak Kebakaran Hutan, Aceh Diguyur Hujan Es": background only
    bhits, bsup = _hits(body, rules, "body")
    hits = thits + bhits
    scores: dict[str, float] = defaultdict(float)
    seen: dict[tuple[str, str], int] = defaultdict(int)
    n_hits: dict[str, int] = defaultdict(int)
    acts: set[str] = set()  # keys with a hit that names an act, not only a weapon
    in_title: set[str] = set()
    evidence: dict[str, list[str]] = defaultdict(list)
    for h in hits:
        factor = TITLE_FACTOR if h.where == "title" else LEAD_FACTOR if h.where == "lead" else 1.0
        n = seen[(h.case, h.phrase)]
        seen[(h.case, h.phrase)] += 1
        w = h.weight * factor * (REPEAT_FACTOR**n if n < 3 else 0.0)
        scores[h.case] += w
        n_hits[h.case] += 1
        if h.phrase not in INSTRUMENTS.get(h.case, ()):
            acts.add(h.case)
        if h.where == "title":
            in_title.add(h.case)
        if len(evidence[h.case]) < 5 and n == 0:
            evidence[h.case].append(f"{h.where}: {h.phrase}")
    head = title.joined + " " + " ".join(body.lower[:25]) + " "
    hoax = any(f" {m} " in head for m in rules.hoax)
    if hoax:
        for k in scores:
            scores[k] *= 0.1
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], rules.keys.index(kv[0])))
    cases: list[str] = []
    if ranked and ranked[0][1] >= rules.threshold:
        top = ranked[0][1]
        # One passing mention in the body is not an article about the event.
        cases = [
            k
            for k, s in ranked
            if s >= rules.threshold and s >= rules.relative * top and (k in in_title or n_hits[k] >= 2) and k in acts
        ]
    for main, subs in SUBSUMES.items():
        if main not in cases:
            continue
        for sub, only_if_weaker in subs:
            if sub in cases and (not only_if_weaker or scores[sub] < scores[main]):
                cases.remove(sub)
    return CaseResult(
        cases,
        dict(scores),
        {k: evidence[k] for k in cases},
        hoax,
        mask_suppressed(title, tsup),
        mask_suppressed(body, bsup),
        any(d for _, _, d in tsup),
    )
