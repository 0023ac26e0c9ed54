"""Classify an Indonesian news article by Kab/Kota, case keys and sentiment.

`classify` is pure: the gazetteer, place rules, lexicon and automata load once (functools.cache) on
first use, the case rules at import (CASE_KEYS and CASE_TONE come from them), and no call does I/O.
The lookup helpers serve the Telegram commands (/subscribe, /cases).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final

from bot.classify import cases as _cases
from bot.classify import gazetteer as _gaz
from bot.classify import links as _links
from bot.classify import places as _places
from bot.classify import sentiment as _sent
from bot.classify.gazetteer import (
    Province,
    all_places,
    all_provinces,
    place_by_code,
    places_in_province,
    province_by_code,
    resolve_place,
    suggest_places,
)
from bot.classify.text import Tokens, normalize_phrase, tokenize
from bot.models import Classification, Place, Sentiment

__all__ = [
    "CASE_KEYS",
    "Province",
    "all_places",
    "all_provinces",
    "candidate_places",
    "case_label",
    "case_words",
    "classify",
    "english_case_words",
    "place_by_code",
    "places_in_province",
    "province_by_code",
    "resolve_case_word",
    "resolve_place",
    "suggest_places",
]

# The case keys in taxonomy order and how much each pulls the tone towards negative, both from
# data/cases.toml (the one source of truth: a case added there gets a key, a label, a tone and a button).
CASE_KEYS: Final[tuple[str, ...]] = _cases.load_rules().keys
CASE_TONE: Final[dict[str, float]] = dict(_cases.load_rules().tones)
# A quake bulletin with no damage reported is neutral news: words that say
# there was damage or harm, and the negated phrases that say there was none.
_DAMAGE_RE = re.compile(
    r"\b(rusak|kerusakan|roboh|ambruk|runtuh|retak|korban|tewas|meninggal|luka|"
    r"mengungsi|pengungsi|tsunami)\w*"
)
# "belum ada laporan kerusakan bangunan maupun korban jiwa": the object may carry a noun, and a second
# object may follow a conjunction.
_NO_DAMAGE_RE = re.compile(
    r"\b(tidak|tak|belum|tanpa|nihil)\s+(ada\s+)?(laporan\s+)?(menimbulkan\s+|"
    r"berpotensi\s+|dilaporkan\s+)?(adanya\s+)?(kerusakan|korban|tsunami)\w*"
    r"(\s+(jiwa|bangunan|rumah|fisik|berarti|serius))?"
    r"(\s+(maupun|atau|ataupun|dan)\s+(kerusakan|korban)\w*(\s+(jiwa|bangunan|rumah))?)?"
)
# A headline about the good outcome of a bad event (rescues, stolen goods returned,
# missing people found safe, aid delivered, reopenings) is positive even though the case is negative;
# not when someone was found dead.
_OUTCOME_RE = re.compile(
    r"\b(selamatkan|diselamatkan|menyelamatkan|berhasil dievakuasi|ditemukan|"
    r"ke pemiliknya|ke pemilik|kembalikan|dikembalikan|mengembalikan|"
    r"kembali dibuka|kembali buka|dibuka kembali|salurkan|disalurkan|menyalurkan|"
    r"mulai dibangun|diresmikan|resmikan|meresmikan)\b"
)
_DEATH_RE = re.compile(
    r"\b(tewas|meninggal|jasad|jenazah|mayat|tak bernyawa|tidak bernyawa|tewaskan|"
    r"membusuk|kerangka|pembunuhan|pembunuh|dibunuh|tersangka|sabu|ganja|narkoba|bom)\b"
)
OUTCOME_PULL = 0.25
# Harm outside the 23 case keys (eruptions, drought and harvest failure, kidnapping, extortion) gets no
# case, yet such a headline is still bad news for residents.
_UNCASED_HARM_RE = re.compile(
    r"\b(erupsi|meletus|awan panas|guguran lava|kekeringan|krisis air|gagal panen|"
    r"puso|kelaparan|rawan pangan|penculikan|diculik|menculik|pemerasan|memeras|"
    r"diperas|pemadaman listrik|listrik padam|krisis listrik|krisis pangan|krisis bbm|kelangkaan|"
    r"berhenti beroperasi|lumpuh total|gelap gulita|kemarau panjang|formalin|boraks)\b"
)
# "1 Belum Ditemukan", "tak kunjung ditemukan": a good outcome that has not happened yet.
_NEGATED_OUTCOME_RE = re.compile(r"\b(belum|tidak|tak|tak kunjung|tidak kunjung|gagal)\s+(juga\s+|berhasil\s+)?$")
# A match report ("Persela Vs Arema FC", "PSIS kontra Persebaya") is a sports result, neutral news:
# who won, lost or "stole a point" is not good or bad news for residents (a riot still has its case).
# One side of the "vs" must be a club: the word next to it ("Persela Vs", "Vs Persipura") or "FC" after it.
_MATCH_RE = re.compile(r"(?:^|[\s,:])(\S+)\s+(?:vs\.?|versus|kontra)\s+(\S+)(?:\s+(\S+))?")
_CLUB_RE = re.compile(r"^(pers[a-z]+|psi[a-z]*|pss|psm[a-z]*|ps|arema|timnas|fc|united)$")
UNCASED_HARM_PULL = -0.2
# Cases whose harm no later outcome undoes (an arrest or a body found stays bad news).
GRAVE_CASES = frozenset({"pembunuhan", "bunuh_diri", "asusila", "terorisme"})
# Damping of the lexicon tone, each for its own reason:
# a hoax check quotes the alarming claim it refutes;
HOAX_DAMPING: Final = 0.3
# a drill or simulation is a routine story: what goes wrong in it is staged;
DRILL_DAMPING: Final = 0.3
# a quake bulletin with no damage or casualties reported is neutral news (and its case pulls nothing);
QUIET_QUAKE_DAMPING: Final = 0.3
# a sports result with no case is neutral news, however the match went.
MATCH_DAMPING: Final = 0.0
# Light news: one positive word ("hebat", "juara", "lancar") in the text of an item whose headline is
# not positive does not make it good news; positive then needs this many positive words, or a
# good-outcome headline.
MIN_POSITIVE_WORDS: Final = 2
# Confidence grows with the text read: a headline alone is far less evidence than an article.
FULL_EVIDENCE_CHARS: Final = 800
NEG_THRESHOLD = -0.20
POS_THRESHOLD = 0.10


def case_label(key: str) -> str:
    """Human label in Bahasa Indonesia ("kecelakaan" -> "Kecelakaan")."""
    return _cases.load_rules().labels.get(key, key.replace("_", " ").capitalize())


def case_words() -> dict[str, str]:
    """Everyday Indonesian word -> case key, for /subscribe and /cases."""
    return dict(_cases.load_rules().words)


def english_case_words() -> dict[str, str]:
    """English everyday word -> case key ("accident" -> "kecelakaan", "fire" -> "kebakaran"), from
    data/cases.toml (`en_words`): the words /subscribe can accept for English-reading users."""
    return dict(_cases.load_rules().en_words)


def resolve_case_word(word: str) -> str | None:
    """'tabrakan' -> 'kecelakaan', 'begal' -> 'pencurian', 'demo' -> 'unjuk_rasa'; None if unknown."""
    rules = _cases.load_rules()
    key = normalize_phrase(word)
    if key.replace(" ", "_") in rules.keys:
        return key.replace(" ", "_")
    if key in rules.words:
        return str(rules.words[key])
    # Fall back on the strongest rule phrases ("dibegal", "tabrakan").
    for _, (phrase, entries) in rules.automaton.iter(f" {key} "):
        if phrase == key:
            best = max((e for e in entries if not e.anti), key=lambda e: e.weight, default=None)
            if best is not None and best.weight >= 2:
                return str(best.case)
    return None


def _language_and_cases(ttok: Tokens, btok: Tokens, language: str | None) -> tuple[str, _cases.CaseResult]:
    """The article's language and its cases; a headline with no stop word is read in the language
    whose case rules find something ("Flash Floods Hit Malang Regency")."""
    lang = language or _sent.detect_language(ttok.lower + btok.lower)
    if lang != "und":
        return lang, _cases.detect_cases(ttok, btok, "en" if lang.lower().startswith("en") else "id")
    indonesian = _cases.detect_cases(ttok, btok, "id")
    if indonesian.cases:
        return "id", indonesian
    english = _cases.detect_cases(ttok, btok, "en")
    return ("en", english) if english.cases else ("id", indonesian)


def _resolve_default(default_city: str | None) -> str | None:
    if not default_city:
        return None
    place = place_by_code(default_city)
    if place is not None:
        return place.code
    hits = [p for p in resolve_place(default_city) if isinstance(p, Place)]
    return hits[0].code if hits else None


def candidate_places(title: str, body: str, *, limit: int = 8) -> list[Place]:
    """Every Kab/Kota the article names, best-scored first: what an analyst correcting the place picks from."""
    gaz = _gaz.load()
    pr = _places.locate(tokenize(title or ""), tokenize(body or ""), body or "", gaz)
    ranked = sorted(pr.scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [gaz.places[code] for code, _ in ranked if code in gaz.places][:limit]


def classify(
    title: str,
    body: str,
    *,
    source: str | None = None,
    default_city: str | None = None,
    language: str | None = None,
    link: str | None = None,
) -> Classification:
    """Classify one article. `default_city` (name or code) is used only when the text names no place;
    `link` (the article's URL) gives only the province of a regional desk, and only then too."""
    gaz = _gaz.load()
    title = title or ""
    body = body or ""
    ttok = tokenize(title)
    btok = tokenize(body)
    pr = _places.locate(ttok, btok, body, gaz, _resolve_default(default_city))
    lang, cr = _language_and_cases(ttok, btok, language)
    # Words of a suppressed case hit (idiom, programme name, negated event, drill) carry no tone.
    sent_lang = "en" if lang.lower().startswith("en") else "id"
    ss = _sent.score_text(cr.title_masked, cr.body_masked, sent_lang)

    tone = _tone(ss, cr, title, body)
    label, margin = _label(tone.final)
    if _light_news(label, ss, tone, cr, sent_lang):
        label, margin = Sentiment.NEUTRAL, 0.0
        tone = _Tone(tone.lexicon, tone.case_pull, (*tone.notes, "light news: one positive word"))
    confidence = _confidence(label, margin, ss, tone.case_pull)

    city = gaz.places[pr.city] if pr.city else None
    province = gaz.provinces[pr.province].name if pr.province else None
    evidence: dict[str, list[str]] = {"city": pr.evidence}
    if city is None and province is None:
        region = _links.link_region(link, gaz)
        if region is not None:
            province = gaz.provinces[region.province].name
            evidence["city"] = [f"no place named; link section {region.label!r}: province {province}"]
    evidence["cases"] = [f"{k}: {cr.scores[k]:.1f}" for k in cr.cases] or ["no case rule matched"]
    if cr.hoax:
        evidence["cases"].append("hoax check: cases dropped")
    for k in cr.cases:
        evidence[k] = cr.evidence.get(k, [])
    evidence["sentiment"] = [
        f"lexicon {ss.score:+.2f}, case pull {tone.case_pull:+.2f}, language {lang}"
        + "".join(f", {note}" for note in tone.notes),
        *ss.top,
    ]
    if source:
        evidence["source"] = [source]
    return Classification(
        city=city,
        other_cities=tuple(gaz.places[c] for c in pr.others),
        province=province,
        cases=tuple(cr.cases),
        sentiment=label,
        confidence=confidence,
        evidence=evidence,
    )


@dataclass(frozen=True, slots=True)
class _Tone:
    lexicon: float  # the lexicon score after damping
    case_pull: float  # the pull of the main case (or of uncased harm, or a good outcome)
    notes: tuple[str, ...]  # the named adjustments that applied, for the evidence

    @property
    def final(self) -> float:
        return self.lexicon + self.case_pull


def _case_pull(cr: _cases.CaseResult, title: str) -> float:
    """The pull of the main case, stronger the surer the case; uncased harm in the title pulls too."""
    if cr.cases:
        main = cr.cases[0]
        strength = min(1.0, cr.scores[main] / 12.0)
        return CASE_TONE.get(main, 0.0) * (0.5 + 0.5 * strength)
    if not cr.hoax and _UNCASED_HARM_RE.search(title.lower()):
        return UNCASED_HARM_PULL
    return 0.0


def _tone(ss: _sent.SentimentScore, cr: _cases.CaseResult, title: str, body: str) -> _Tone:
    """Lexicon score plus the case's pull, with the named adjustments."""
    lexicon = ss.score
    case_pull = _case_pull(cr, title)
    notes: list[str] = []
    if cr.hoax:
        lexicon *= HOAX_DAMPING
        notes.append("hoax check")
    elif cr.title_drill and not cr.cases:
        lexicon *= DRILL_DAMPING
        notes.append("drill")
    tl = title.lower()
    main = cr.cases[0] if cr.cases else None
    if main is None and _match_report(tl):
        lexicon *= MATCH_DAMPING
        notes.append("match report")
    elif _good_outcome(tl) and not _DEATH_RE.search(tl) and main not in GRAVE_CASES:
        case_pull = max(case_pull, 0.0) + OUTCOME_PULL
        notes.append("good-outcome headline")
    elif main in GRAVE_CASES and not cr.hoax and lexicon > 0:
        # "Pria Cabul Ini Berhasil ...", "Pembunuh Sukses Kabur": the perpetrator's success is no good news.
        lexicon = 0.0
        notes.append("grave case: no good news")
    if main == "gempa" and not _quake_damage(title, body):
        lexicon *= QUIET_QUAKE_DAMPING
        case_pull = 0.0
        notes.append("quake without damage")
    return _Tone(lexicon, case_pull, tuple(notes))


def _good_outcome(title_lower: str) -> bool:
    """True if the headline reports a good outcome that happened (not "belum ditemukan")."""
    return any(not _NEGATED_OUTCOME_RE.search(title_lower[: m.start()]) for m in _OUTCOME_RE.finditer(title_lower))


def _match_report(title_lower: str) -> bool:
    """A headline of two sides of a match, one of them a club ("PSS Vs Persipura"), not "Bus Vs Truk"."""
    m = _MATCH_RE.search(title_lower)
    if m is None or m.group(1) == "pro":  # "pro kontra": for and against, no match
        return False
    before, after, after2 = (w.strip(",.:;") for w in (m.group(1), m.group(2), m.group(3) or ""))
    return bool(_CLUB_RE.match(before) or _CLUB_RE.match(after)) or after2 == "fc"


def _light_news(label: Sentiment, ss: _sent.SentimentScore, tone: _Tone, cr: _cases.CaseResult, lang: str) -> bool:
    """A positive call resting on one positive word in the text of an item whose headline is not positive."""
    return (
        label is Sentiment.POSITIVE
        and ss.title_score <= 0
        and "good-outcome headline" not in tone.notes
        and _sent.count_positive_words(cr.title_masked, cr.body_masked, lang) < MIN_POSITIVE_WORDS
    )


def _label(final: float) -> tuple[Sentiment, float]:
    """The sentiment of a final tone and its distance from the decision boundary."""
    if final <= NEG_THRESHOLD:
        return Sentiment.NEGATIVE, NEG_THRESHOLD - final
    if final >= POS_THRESHOLD:
        return Sentiment.POSITIVE, final - POS_THRESHOLD
    return Sentiment.NEUTRAL, min(final - NEG_THRESHOLD, POS_THRESHOLD - final)


def _quake_damage(title: str, body: str) -> bool:
    """True if a quake story reports damage or casualties (negated mentions do not count)."""
    text = _NO_DAMAGE_RE.sub(" ", f"{title}\n{body}".lower())
    return bool(_DAMAGE_RE.search(text))


def _confidence(label: Sentiment, margin: float, ss: _sent.SentimentScore, case_pull: float) -> int:
    """1..100: distance from the decision boundary, raised when sentences agree."""
    base = math.tanh(max(margin, 0.0) / 0.2)
    if label is Sentiment.NEUTRAL:
        # Neutral is surest when few sentences carry polarity at all.
        support = 1.0 - ss.strength
    else:
        support = ss.agreement * (0.5 + 0.5 * min(1.0, ss.strength * 2))
        if case_pull and (case_pull < 0) == (label is Sentiment.NEGATIVE):
            support = min(1.0, support + 0.3)
    value = 100 * (0.15 + 0.55 * base + 0.3 * support)
    amount = min(1.0, ss.chars / FULL_EVIDENCE_CHARS)
    value *= 0.5 + 0.5 * amount
    return max(1, min(100, round(value)))
