"""Sentiment with VADER's engine: an Indonesian news lexicon, Indonesian control words, per sentence.

Indonesian negation, booster and contrast words are rewritten onto the English control tokens
VADER already knows ("tidak" -> "not", "sangat" -> "very", "namun" -> "but"), so the engine's rules
apply without patching its module globals (so other users of vaderSentiment are unaffected). Articles are scored
sentence by sentence because one call on a whole article costs quadratic time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.classify.cases import DRILL_MARK
from bot.classify.text import split_sentences

NEGATORS = frozenset(
    {"tidak", "tak", "bukan", "belum", "jangan", "tanpa", "tiada", "enggak", "nggak", "gak", "ga", "tdk", "bkn", "blm"}
)
BOOSTERS = frozenset(
    {
        "sangat",
        "amat",
        "paling",
        "sungguh",
        "terlalu",
        "makin",
        "semakin",
        "begitu",
        "sangatlah",
        "benar-benar",
        "sekali-kali",
    }
)
DAMPENERS = frozenset({"agak", "sedikit", "cukup", "hampir", "kurang", "lumayan", "relatif"})
CONTRAST = frozenset({"tetapi", "tapi", "namun", "melainkan", "padahal", "sedangkan", "sayangnya"})
POST_BOOSTERS = frozenset({"sekali", "banget", "amat"})
# Multi-word expressions joined into one lexicon token before scoring.
PHRASES = {
    "rumah sakit": "rumahsakit",
    "sakit hati": "sakithati",
    "luar biasa": "luarbiasa",
    "terima kasih": "terimakasih",
    "gotong royong": "gotongroyong",
    "kerja sama": "kerjasama",
    "bekerja sama": "kerjasama",
    "unjuk rasa": "unjukrasa",
    "meninggal dunia": "meninggal",
    # "dibuka" alone carries no tone ("IHSG Dibuka Melemah": the market opened); an opening is good news.
    "resmi dibuka": "diresmikan",
    "dibuka untuk umum": "diresmikan",
    "tidak ada korban jiwa": "nihilkorban",
    "tidak ada korban": "nihilkorban",
    "tak ada korban": "nihilkorban",
    "tidak menimbulkan korban": "nihilkorban",
    "tidak ada kerusakan": "nihilkorban",
    "tidak berpotensi tsunami": "nihiltsunami",
    "tak berpotensi tsunami": "nihiltsunami",
    # Agencies named after the ill they fight carry no tone of their own.
    "pemadam kebakaran": "damkar",
    "penanggulangan bencana": "bpbd",
    "pemberantasan korupsi": "kpk",
    "narkotika nasional": "bnn",
    # Running for office is no progress ("Kader Maju Pilkada"): "maju" alone is a positive word.
    "maju pilkada": "pilkada",
    "maju di pilkada": "di pilkada",
    "maju dalam pilkada": "dalam pilkada",
    "maju pilkades": "pilkades",
    "maju pileg": "pileg",
    "maju pilpres": "pilpres",
    "maju pemilu": "pemilu",
    "maju sebagai calon": "sebagai calon",
    "maju sebagai bakal calon": "sebagai bakal calon",
    "maju mencalonkan": "mencalonkan",
    # The measure's name carries no tone of its own; what follows it ("berbahaya", "baik") does.
    "kualitas udara": "kualitasudara",
}
_PHRASE_RE = re.compile(r"\b(" + "|".join(re.escape(p) for p in sorted(PHRASES, key=len, reverse=True)) + r")\b")
_WORD_SPLIT = re.compile(r"\s+")
_STRIP = ".,;:!?\"'()[]{}\u201c\u201d\u2018\u2019"

ID_STOPWORDS = frozenset(
    {
        "yang",
        "dan",
        "di",
        "ini",
        "itu",
        "dengan",
        "untuk",
        "dari",
        "ke",
        "pada",
        "tidak",
        "akan",
        "dalam",
        "karena",
        "oleh",
        "juga",
        "telah",
        "sudah",
        "saat",
    }
)
EN_STOPWORDS = frozenset(
    {
        "the",
        "and",
        "of",
        "to",
        "is",
        "in",
        "that",
        "was",
        "for",
        "with",
        "on",
        "are",
        "as",
        "by",
        "it",
        "has",
        "have",
        "were",
        "from",
        "its",
        "their",
        "after",
        "into",
        "at",
        "over",
        "amid",
        "says",
        "said",
        "will",
        "be",
        "been",
        "this",
        "who",
        "an",
    }
)


class IndoVader(SentimentIntensityAnalyzer):  # type: ignore[misc]  # vaderSentiment ships no types
    """VADER with a replaced lexicon and Indonesian control words mapped to English ones."""

    def __init__(self, lexicon: dict[str, float]) -> None:
        super().__init__()
        self.lexicon = dict(lexicon)
        self.lexicon.update({"nihilkorban": 1.0, "nihiltsunami": 0.8})
        self.emojis: dict[str, str] = {}  # emoji descriptions are English; they would leak English valence

    def rewrite(self, text: str) -> str:
        text = _PHRASE_RE.sub(lambda m: PHRASES[m.group(1)], text.lower())
        words = [w for w in _WORD_SPLIT.split(text) if w]
        out: list[str] = []
        skip = False
        for k, w in enumerate(words):
            core = w.strip(_STRIP)
            if skip:
                skip = False
                continue
            if core in NEGATORS and k + 1 < len(words) and self.lexicon.get(words[k + 1].strip(_STRIP), 0.0) < 0:
                # "tidak rusak" says no harm was done; it is no praise, so it carries no tone at all
                # (VADER would flip the negative word into a positive one).
                skip = True
                continue
            if core in NEGATORS:
                out.append("not")
            elif core in BOOSTERS:
                out.append("very")
            elif core in DAMPENERS:
                out.append("slightly")
            elif core in CONTRAST:
                out.append("but")
            elif core in POST_BOOSTERS and out:
                # "bagus sekali" -> "very bagus": VADER's boosters only look backwards.
                out.insert(len(out) - 1, "very")
            else:
                out.append(w)
        return " ".join(out)

    def score(self, text: str) -> float:
        return float(super().polarity_scores(self.rewrite(text))["compound"])


@functools.cache
def indo_analyzer() -> IndoVader:
    raw = resources.files("bot.classify").joinpath("data").joinpath("lexicon_id.tsv").read_text("utf-8")
    lex: dict[str, float] = {}
    for line in raw.splitlines():
        if line and not line.startswith("#"):
            word, value = line.split("\t")[:2]
            lex[word] = float(value)
    return IndoVader(lex)


@functools.cache
def english_analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def detect_language(words: list[str]) -> str:
    """'en', 'id' or (for a short text without stop words) 'und', from stop-word counts (some
    Indonesian outlets publish in English).

    A headline alone has few stop words: "Fire Destroys Traditional Market in Solo" has one English
    one and no Indonesian one, which is enough in so short a text.
    """
    sample = words[:300]
    en = sum(1 for w in sample if w in EN_STOPWORDS)
    id_ = sum(1 for w in sample if w in ID_STOPWORDS)
    if len(sample) <= 25:
        if en == id_ == 0:
            return "und"  # a headline with no stop word at all: the case rules decide (see classify)
        return "en" if en >= 1 and id_ == 0 else "id"
    return "en" if en > 2 * id_ and en >= 2 else "id"


@dataclass(slots=True)
class SentimentScore:
    score: float  # weighted mean compound over sentences, -1..1
    strength: float  # share of sentences with a clear polarity, 0..1
    agreement: float  # share of polar sentences that agree with the sign of `score`
    top: list[str]  # strongest sentences (evidence)
    chars: int = 0  # length of the text scored: less text, less evidence
    title_score: float = 0.0  # compound score of the headline alone


def _positive_words(lexicon: dict[str, float], rewritten: str) -> int:
    words = rewritten.split()
    return sum(
        1 for k, w in enumerate(words) if lexicon.get(w.strip(_STRIP), 0.0) > 0 and (k == 0 or words[k - 1] != "not")
    )


def _drill_clip(scorer: Callable[[str], float], sentence: str) -> float:
    """Score a sentence; one that describes a drill or simulation (DRILL_MARK) is at worst neutral."""
    if DRILL_MARK not in sentence:
        return float(scorer(sentence))
    return max(0.0, float(scorer(sentence.replace(DRILL_MARK, " "))))


def count_positive_words(title: str, body: str, language: str) -> int:
    """Words of positive valence, not negated, in the title and body (asked only of positive calls)."""
    body = body[:3000]
    if language == "en":
        lexicon: dict[str, float] = english_analyzer().lexicon
        return _positive_words(lexicon, f"{title} {body}".lower())
    indo = indo_analyzer()
    return _positive_words(indo.lexicon, indo.rewrite(f"{title} {body}"))


def score_text(title: str, body: str, language: str) -> SentimentScore:
    scorer: Callable[[str], float]
    if language == "en":
        eng = english_analyzer()

        def scorer_en(s: str) -> float:
            return float(eng.polarity_scores(s)["compound"])

        scorer = scorer_en
    else:
        scorer = indo_analyzer().score
    sentences = split_sentences(body)[:60]
    items: list[tuple[float, float, str]] = []
    if title.strip():
        items.append((2.0, _drill_clip(scorer, title), title.strip()))
    for i, s in enumerate(sentences):
        items.append((1.5 if i < 2 else 1.0, _drill_clip(scorer, s[:600]), s))
    if not items:
        return SentimentScore(0.0, 0.0, 1.0, [], 0)
    total_w = sum(w for w, _, _ in items)
    mean = sum(w * c for w, c, _ in items) / total_w
    polar = [(w, c) for w, c, _ in items if abs(c) >= 0.3]
    strength = sum(w for w, _ in polar) / total_w
    same = sum(w for w, c in polar if (c > 0) == (mean > 0))
    agreement = same / sum(w for w, _ in polar) if polar else 1.0
    ranked = sorted(items, key=lambda it: abs(it[1]) * it[0], reverse=True)[:2]
    top = [f"{c:+.2f}: {s[:80]}" for _, c, s in ranked if abs(c) >= 0.05]
    chars = len(title.strip()) + len(body.strip())
    title_score = items[0][1] if title.strip() else 0.0
    return SentimentScore(mean, strength, agreement, top, chars, title_score)
