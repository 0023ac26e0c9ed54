"""Case keys decided by weighted phrase rules kept in data/cases.toml (keys, labels, tones and words too).

Indonesian rules (`patterns`, `anti`, [_global]) and English ones (`en_patterns`, `en_anti`,
[_global_en]) cover the same keys; an article is matched with the rules of its language.
"""

from __future__ import annotations

import functools
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import ahocorasick

from bot.classify.text import Tokens, normalize_phrase

TITLE_FACTOR = 3.0
LEAD_FACTOR = 1.5
LEAD_TOKENS = 60
REPEAT_FACTOR = 0.5  # a phrase seen again adds half its weight
# A body this short is a feed teaser: one strong mention in it is the article's subject, where in a
# full article one passing mention is not.
TEASER_CHARS = 400
# A pattern of this weight names the event on its own (data/cases.toml).
STRONG_WEIGHT = 3.0
# A weapon is not an act: a robber "membawa celurit" threatens, and only words for the act itself
# (dibacok, dianiaya, dikeroyok) make an assault.
INSTRUMENTS: dict[str, frozenset[str]] = {
    "penganiayaan": frozenset({"sajam", "senjata tajam", "celurit", "parang", "golok", "clurit", "pisau", "knife"}),
}
# A killing reported with the violence that caused it is one event ("pembunuhan" covers fatal
# assaults and stabbings), and a victim's body burned to hide a murder is not a fire; an attack in a
# bombing is terrorism, not an assault. The subsumed key is dropped when the main key is also found
# and, where marked True, outscores it.
SUBSUMES: dict[str, tuple[tuple[str, bool], ...]] = {
    "pembunuhan": (("penganiayaan", False), ("kebakaran", True)),
    "terorisme": (("penganiayaan", False), ("pembunuhan", True), ("kecelakaan", False)),
}


@dataclass(frozen=True, slots=True)
class _Entry:
    case: str
    weight: float
    anti: bool
    prefix: bool = False  # the phrase ended in "*": its last word may go on ("tabrak*" -> "tabrakan")


@dataclass(slots=True)
class PhraseRules:
    """The phrase rules of one language."""

    automaton: ahocorasick.Automaton
    negations: frozenset[str]
    plain_negations: frozenset[str]  # say there was no event ("tidak"), unlike "cegah" or "rawan"
    fillers: frozenset[str]  # may stand between a plain negation and the event ("tidak ada", "tak terjadi")
    drills: frozenset[str]
    hoax: tuple[str, ...]
    hoax_not: tuple[str, ...]  # phrases with a hoax word that are no fact-check ("termakan hoaks")
    name_heads: frozenset[str]  # "Dinas", "BPJS", "Badan": a case word after them is part of a name
    procedure: tuple[str, ...]  # trial and arrest words: with a case's institution they name the case
    institutions: dict[str, frozenset[str]]  # case -> phrases of the bodies that handle it ("kpk")


@dataclass(slots=True)
class CaseRules:
    keys: tuple[str, ...]
    labels: dict[str, str]
    tones: dict[str, float]  # key -> pull of the sentiment towards negative
    words: dict[str, str]  # everyday Indonesian word -> key
    en_words: dict[str, str]  # English everyday word -> key, for /subscribe
    threshold: float
    relative: float
    id: PhraseRules
    en: PhraseRules

    @property
    def automaton(self) -> ahocorasick.Automaton:
        return self.id.automaton

    def lang(self, language: str) -> PhraseRules:
        return self.en if language == "en" else self.id


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


def _phrase_rules(data: dict[str, Any], glob: dict[str, Any], prefix: str) -> PhraseRules:
    """Phrase rules from `{prefix}patterns` / `{prefix}anti` of every case and a [_global] table."""
    table: dict[str, list[_Entry]] = defaultdict(list)
    institutions: dict[str, frozenset[str]] = {}
    for case, spec in data.items():
        for phrase, weight in spec.get(f"{prefix}patterns", {}).items():
            key, wild = _phrase(phrase, case)
            table[key].append(_Entry(case, float(weight), False, wild))
        for phrase in spec.get(f"{prefix}anti", []):
            key, wild = _phrase(phrase, case)
            table[key].append(_Entry(case, 0.0, True, wild))
        institutions[case] = frozenset(normalize_phrase(p) for p in spec.get(f"{prefix}institutions", []))
    automaton = ahocorasick.Automaton()
    for key, entries in table.items():
        automaton.add_word(key, (key, tuple(entries)))
    automaton.make_automaton()

    def norm(name: str) -> frozenset[str]:
        return frozenset(normalize_phrase(n) for n in glob.get(name, []))

    return PhraseRules(
        automaton=automaton,
        negations=norm("negations"),
        plain_negations=norm("plain_negations"),
        fillers=norm("negation_fillers"),
        drills=norm("drills"),
        hoax=tuple(normalize_phrase(h) for h in glob.get("hoax", [])),
        hoax_not=tuple(normalize_phrase(h) for h in glob.get("hoax_not", [])),
        name_heads=norm("name_heads"),
        procedure=tuple(normalize_phrase(p) for p in glob.get("procedure", [])),
        institutions=institutions,
    )


def parse_case_rules(raw: str) -> CaseRules:
    """Build the rules from the text of a cases.toml; every case needs a label and a tone."""
    data = tomllib.loads(raw)
    glob = data.pop("_global")
    glob_en = data.pop("_global_en", {})
    labels: dict[str, str] = {}
    tones: dict[str, float] = {}
    words: dict[str, str] = {}
    en_words: dict[str, str] = {}
    for case, spec in data.items():
        if "label" not in spec or "tone" not in spec:
            raise ValueError(f"cases.toml [{case}]: needs a label and a tone")
        labels[case] = spec["label"]
        tones[case] = float(spec["tone"])
        for w in [case, case.replace("_", " "), spec["label"], *spec.get("words", [])]:
            words.setdefault(normalize_phrase(w), case)
        for w in spec.get("en_words", []):
            en_words.setdefault(normalize_phrase(w), case)
    return CaseRules(
        keys=tuple(data),
        labels=labels,
        tones=tones,
        words=words,
        en_words=en_words,
        threshold=float(glob["threshold"]),
        relative=float(glob["relative"]),
        id=_phrase_rules(data, glob, ""),
        en=_phrase_rules(data, glob_en, "en_"),
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


def _matches(tokens: Tokens, rules: PhraseRules, where: str) -> tuple[list[_Hit], dict[str, list[tuple[int, int]]]]:
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


def _covered(tokens: Tokens, h: _Hit, antis: dict[str, list[tuple[int, int]]], rules: PhraseRules) -> str | None:
    """ "drop" or "drill"/"idiom" if an anti phrase of the case covers the hit, else None.

    "cegah korupsi", "rawan longsor": prevention of a real ill is dropped but keeps its tone.
    """
    cover = next(((a, b) for a, b in antis.get(h.case, ()) if a <= h.start and h.end <= b), None)
    if cover is None:
        return None
    span = tokens.lower[cover[0] : cover[1]]
    if any(w in rules.negations and w not in rules.plain_negations for w in span):
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


def _in_a_name(tokens: Tokens, h: _Hit, rules: PhraseRules) -> bool:
    """ "BPJS Tenaga Kerja", "Dinas Pemadam Kebakaran": the case word is part of an institution's name."""
    j = h.start - 1
    return (
        j >= 0 and not tokens.breaks[h.start] and tokens.lower[j] in rules.name_heads and tokens.words[j][:1].isupper()
    )


def _plainly_negated(tokens: Tokens, h: _Hit, rules: PhraseRules) -> bool:
    """A plain negation right before the event word, with only fillers between ("tidak ada korban",
    "tak terjadi banjir"). "Tak Maju di Pilkada" negates the candidacy, not the election: a negated
    verb leaves the topic standing."""
    j = h.start - 1
    skipped = 0
    while j >= 0 and not tokens.breaks[j + 1] and skipped <= 3:
        word = tokens.lower[j]
        if word in rules.plain_negations:
            return True
        if word not in rules.fillers:
            return False
        skipped += 1
        j -= 1
    return False


def _other_negation(tokens: Tokens, h: _Hit, rules: PhraseRules) -> bool:
    """Prevention, risk and warning words within three words before: "cegah korupsi", "rawan banjir"."""
    return any(
        g in rules.negations and g.split()[0] not in rules.plain_negations
        for g in _preceding_ngrams(tokens, h.start, 3)
    )


def _hits(tokens: Tokens, rules: PhraseRules, where: str) -> tuple[list[_Hit], list[tuple[int, int, bool]], set[str]]:
    """Pattern hits that count, the suppressed ones as (first token, end token, is_drill), and the cases
    whose event words were a drill's.

    A hit is suppressed by an overlapping anti phrase (idiom, programme name, drill), by a negation,
    by a drill word just before it, or as part of an institution's name; the sentiment step silences
    those words too (`mask_suppressed`), so "simulasi kebakaran" or "banjir diskon" carry no disaster
    valence.
    """
    pats, antis = _matches(tokens, rules, where)
    out: list[_Hit] = []
    suppressed: list[tuple[int, int, bool]] = []
    negated: list[tuple[_Hit, bool]] = []  # negated hits and whether the negation was plain
    drilled: set[str] = set()  # cases whose event words here belong to a drill
    for h in pats:
        cover = _covered(tokens, h, antis, rules)
        if cover == "drop":
            continue
        if cover is not None or _in_a_name(tokens, h, rules):
            suppressed.append((h.start, h.end, cover == "drill"))
            if cover == "drill":
                drilled.add(h.case)
            continue
        if _inside_longer(h, pats):
            continue
        carried = next((plain for n, plain in negated if n.case == h.case and _listed_after(tokens, n, h)), None)
        plain = _plainly_negated(tokens, h, rules)
        if carried is not None or plain or _other_negation(tokens, h, rules):
            # Only a plain negation says there was no event; "cegah korupsi", "rawan banjir" and
            # "memberantas judi" still speak of a real ill, so those words keep their tone.
            # A negation covers the whole list it heads: "menjauhi korupsi, pungutan liar dan ...".
            plain = carried if carried is not None else plain
            negated.append((h, plain))
            if plain:
                suppressed.append((h.start, h.end, False))
            continue
        if any(g in rules.drills for g in _preceding_ngrams(tokens, h.start, 3)):
            suppressed.append((h.start, h.end, True))
            drilled.add(h.case)
            continue
        out.append(h)
    return out, suppressed, drilled


LIST_JOINERS = frozenset({"dan", "atau", "serta", "maupun", "ataupun", "and", "or"})


def _listed_after(tokens: Tokens, prev: _Hit, h: _Hit) -> bool:
    """True if hit h follows hit prev as the next item of one list ("korupsi, pungli dan suap")."""
    if not 0 <= h.start - prev.end <= 1:
        return False
    if any(w not in LIST_JOINERS for w in tokens.lower[prev.end : h.start]):
        return False
    a = tokens.starts[prev.end - 1] + len(tokens.words[prev.end - 1])
    gap = tokens.text[a : tokens.starts[h.start]]
    return not gap.strip(" ,") or gap.strip(" ,") in LIST_JOINERS


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
CONCESSIVE = frozenset(
    {"meski", "meskipun", "walau", "walaupun", "kendati", "sekalipun", "biarpun", "despite", "although"}
)


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


@dataclass(slots=True)
class _Tally:
    scores: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    n_hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    acts: set[str] = field(default_factory=set)  # keys with a hit that names an act, not only a weapon
    in_title: set[str] = field(default_factory=set)
    strong_lead: set[str] = field(default_factory=set)  # keys named outright (weight 3) in the first sentence
    evidence: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def _first_sentence_end(tokens: Tokens) -> int:
    """Index of the first token after the body's first sentence."""
    for i in range(1, len(tokens.words)):
        gap = tokens.text[tokens.starts[i - 1] + len(tokens.words[i - 1]) : tokens.starts[i]]
        if "\n" in gap or (gap.strip()[:1] in {".", "!", "?"} and tokens.words[i][:1].isupper()):
            return i
    return len(tokens.words)


def _tally(hits: list[_Hit], first_sentence_end: int) -> _Tally:
    t = _Tally()
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for h in hits:
        factor = TITLE_FACTOR if h.where == "title" else LEAD_FACTOR if h.where == "lead" else 1.0
        n = seen[(h.case, h.phrase)]
        seen[(h.case, h.phrase)] += 1
        t.scores[h.case] += h.weight * factor * (REPEAT_FACTOR**n if n < 3 else 0.0)
        t.n_hits[h.case] += 1
        if h.phrase not in INSTRUMENTS.get(h.case, ()):
            t.acts.add(h.case)
        if h.where == "title":
            t.in_title.add(h.case)
        if h.where == "lead" and h.weight >= 3 and h.start < first_sentence_end:
            t.strong_lead.add(h.case)
        if len(t.evidence[h.case]) < 5 and n == 0:
            t.evidence[h.case].append(f"{h.where}: {h.phrase}")
    return t


def _unsuppressed(tokens: Tokens, spans: list[tuple[int, int, bool]], n: int) -> str:
    """The first n lower-case tokens with suppressed case words left out, joined for phrase lookups."""
    gone = {k for i, j, _ in spans for k in range(i, j)}
    return " ".join(w for k, w in enumerate(tokens.lower[:n]) if k not in gone)


def _procedure_context(t: _Tally, hits: list[_Hit], head: str, rules: PhraseRules, need: float) -> None:
    """A case named only by the body that handles it: "KPK" with trial or arrest words ("terdakwa",
    "sidang", "ditahan") is a corruption case, "BNN" with "ditangkap" a drug case. The institution
    raises its case to the threshold and counts as naming the act."""
    if not any(f" {p} " in head for p in rules.procedure):
        return
    for case, names in rules.institutions.items():
        found = [h for h in hits if h.case == case and h.phrase in names and h.where in {"title", "lead"}]
        if not found:
            continue
        t.scores[case] = max(t.scores[case], need)
        t.acts.add(case)
        t.n_hits[case] = max(t.n_hits[case], 2)
        t.evidence[case].append(f"institution and procedure: {found[0].phrase}")


def _select(t: _Tally, rules: CaseRules, teaser: bool) -> list[str]:
    """Keys over the threshold and near the best one, named in the title, twice, or (in a teaser) outright."""
    ranked = sorted(t.scores.items(), key=lambda kv: (-kv[1], rules.keys.index(kv[0])))
    if not ranked or ranked[0][1] < rules.threshold:
        return []
    top = ranked[0][1]
    # One passing mention in the body of a full article is not an article about the event.
    cases = [
        k
        for k, s in ranked
        if s >= rules.threshold
        and s >= rules.relative * top
        and (k in t.in_title or t.n_hits[k] >= 2 or (teaser and k in t.strong_lead))
        and k in t.acts
    ]
    for main, subs in SUBSUMES.items():
        if main not in cases:
            continue
        for sub, only_if_weaker in subs:
            if sub in cases and (not only_if_weaker or t.scores[sub] < t.scores[main]):
                cases.remove(sub)
    return cases


def detect_cases(title: Tokens, body: Tokens, language: str = "id") -> CaseResult:
    rules = load_rules()
    lang = rules.lang(language)
    thits, tsup, drilled = _hits(title, lang, "title")
    for h in thits:
        if _concessive(title, h.start):
            h.where = "body"  # "Meski Banyak Kebakaran Hutan, Aceh Diguyur Hujan Es": background only
    # "Damkar Gelar Simulasi Kebakaran": when the headline's event is a drill, the case's supporting
    # words (the fire brigade, its engines) describe the drill too; only words that name the event on
    # their own still count.
    thits = [h for h in thits if h.case not in drilled or h.weight >= STRONG_WEIGHT]
    bhits, bsup, _ = _hits(body, lang, "body")
    bhits = [h for h in bhits if h.case not in drilled or h.weight >= STRONG_WEIGHT]
    hits = thits + bhits
    t = _tally(hits, _first_sentence_end(body))
    head = f" {_unsuppressed(title, tsup, len(title.lower))} {_unsuppressed(body, bsup, LEAD_TOKENS)} "
    _procedure_context(t, hits, head, lang, rules.threshold)
    head = title.joined + " " + " ".join(body.lower[:25]) + " "
    for phrase in lang.hoax_not:
        head = head.replace(f" {phrase} ", "  ")
    hoax = any(f" {m} " in head for m in lang.hoax)
    if hoax:
        for k in t.scores:
            t.scores[k] *= 0.1
    cases = _select(t, rules, len(body.text) < TEASER_CHARS)
    return CaseResult(
        cases,
        dict(t.scores),
        {k: t.evidence[k] for k in cases},
        hoax,
        mask_suppressed(title, tsup),
        mask_suppressed(body, bsup),
        any(d for _, _, d in tsup),
    )
