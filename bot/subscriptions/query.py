"""Parse the words of /subscribe and /latest into a SubscriptionFilter, and say a filter in plain words.

`/subscribe Solo kecelakaan kebakaran negatif "jalan tol" -"simulasi"`:

- a word or run of words naming a Kab/Kota or province (any alias: Solo, Surakarta, Kota Surakarta,
  Kab. Sukoharjo, Jawa Tengah) → an area; an ambiguous name ("bandung") takes every place it names;
- a named region (Solo Raya, Jabodetabek, … in data/region_groups.csv) → the areas of its members;
- a case key or its everyday word (tabrakan → kecelakaan) → a case; an umbrella word (kriminal, bencana)
  (data/case_words.csv) or an English word (accident, flood; the classifier's English vocabulary) → the
  case keys it stands for;
- positif / netral / negatif → a sentiment;
- "a quoted phrase" → a keyword that must appear; -"phrase" or -word → a keyword that must not.

Runs of up to four words are tried longest first, so "Kota Surakarta" and "tabrak lari" are one term.
A word that resolves to nothing makes the whole query fail with suggestions; nothing half-parsed is saved.
So does a word that names a place only as some kecamatan when it stands next to another place in another
province: "Solo Sentul" is a name nobody means as two places, not Kota Surakarta plus a district in Bogor.
Pure: no I/O beyond the classifier's cached vocabulary.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from bot import classify
from bot.classify import Province, gazetteer
from bot.classify.text import normalize_phrase
from bot.errors import InputError
from bot.models import Place, Sentiment, SubscriptionFilter
from bot.subscriptions.case_words import case_word_table, resolve_case_words
from bot.subscriptions.regions import RegionGroup, region_names, resolve_region

MAX_RUN = 4
MAX_KEYWORDS = 10
MAX_KEYWORD_LEN = 100
MAX_QUERY_LEN = 500  # characters; a longer query is refused before any parsing
MAX_UNKNOWN_SHOWN = 5  # unknown words named (with suggestions) in the error

SENTIMENT_WORDS: dict[str, Sentiment] = {
    "positif": Sentiment.POSITIVE,
    "positive": Sentiment.POSITIVE,
    "netral": Sentiment.NEUTRAL,
    "neutral": Sentiment.NEUTRAL,
    "negatif": Sentiment.NEGATIVE,
    "negative": Sentiment.NEGATIVE,
}
SENTIMENT_NAME: dict[Sentiment, str] = {
    Sentiment.POSITIVE: "positif",
    Sentiment.NEUTRAL: "netral",
    Sentiment.NEGATIVE: "negatif",
}
# Joining words people type between terms; they mean nothing for the filter ("Solo dan Sukoharjo").
_FILLER = frozenset({"dan", "atau", "di", "&", "+", "/", "|", "kasus", "wilayah", "sentimen"})
# Telegram clients turn "…" into typographic quotes; treat them all as plain double quotes.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‟": '"'})
# Single quotes ('jalan tol', ‘jalan tol’) quote a phrase too, but only at the edge of a word: the
# apostrophe inside "Jum'at" or "Ma’ruf" stays part of the word.
_SINGLE_OPEN = re.compile(r"(?:(?<=^)|(?<=[\s\-]))['‘’‚‛]")
_SINGLE_CLOSE = re.compile(r"['‘’‛](?=[\s,.;:!?]|$)")
# "Kabupaten Solo", "Kota Bandung", "Provinsi Jawa Tengah": the kind of area the user means.
_AREA_PREFIXES = {
    "kabupaten": "Kabupaten",
    "kab": "Kabupaten",
    "kab.": "Kabupaten",
    "kota": "Kota",
    "kotamadya": "Kota",
    "provinsi": "Provinsi",
    "prov": "Provinsi",
    "prov.": "Provinsi",
}


def normalize_quotes(text: str) -> str:
    """Typographic and single quotes around a phrase → plain double quotes (for /langganan and /cari)."""
    text = text.translate(_QUOTES)
    return _SINGLE_CLOSE.sub('"', _SINGLE_OPEN.sub('"', text))


_TERM_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    quoted: bool = False
    negated: bool = False


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    filter: SubscriptionFilter
    # What each typed name was taken to mean, for names that are not already official
    # ("Solo → Kota Surakarta", "bandung → Kota Bandung, Kabupaten Bandung").
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class UnknownWords(InputError):
    """Some words resolved to nothing; `suggestions` maps each to the closest known names."""

    unknown: list[str]
    suggestions: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        InputError.__init__(self, render_unknown(self.unknown, self.suggestions))


def split_terms(text: str) -> list[Term]:
    """Words, "quoted phrases" and -"negated phrases" / -words, in order."""
    terms: list[Term] = []
    for minus, phrase, word in _TERM_RE.findall(normalize_quotes(text)):
        if phrase or (minus and not word):
            phrase = " ".join(phrase.split())
            if phrase:
                terms.append(Term(phrase, quoted=True, negated=bool(minus)))
            continue
        for piece in word.split(","):
            piece = piece.strip(" .;:!?")
            if piece.startswith("-") and len(piece) > 1:
                terms.append(Term(piece[1:], quoted=True, negated=True))
            elif piece and piece != "-":
                terms.append(Term(piece))
    return terms


def _resolve_run(words: list[str]) -> tuple[str, object] | None:
    """('sentiment'|'region'|'case'|'place', value) for a run of words, or None."""
    phrase = " ".join(words)
    folded = phrase.casefold()
    if len(words) == 1 and folded in SENTIMENT_WORDS:
        return "sentiment", SENTIMENT_WORDS[folded]
    region = resolve_region(phrase)
    if region is not None:
        return "region", region
    family = resolve_case_words(phrase)
    if family is not None:
        return "cases", family
    english = classify.english_case_words().get(" ".join(folded.split()))
    if english is not None:
        return "case", english
    case_key = classify.resolve_case_word(phrase)
    if case_key is not None:
        return "case", case_key
    places = classify.resolve_place(phrase)
    if places:
        return "place", places
    return None


def _resolve_prefixed(kind: str, words: list[str]) -> tuple[int, list[Place | Province], str] | None:
    """After "Kabupaten"/"Kota"/"Provinsi": (words used, the areas of that kind, a note when the name is
    of another kind — "Kabupaten Solo: Solo adalah Kota Surakarta"), or None if no place follows."""
    for n in range(len(words), 0, -1):
        found = classify.resolve_place(" ".join(words[:n]))
        if not found:
            continue
        if kind == "Provinsi":
            same: list[Place | Province] = [p for p in found if isinstance(p, Province)]
        else:
            same = [p for p in found if isinstance(p, Place) and p.name.startswith(kind + " ")]
        if same:
            return n, same, ""
        typed = " ".join(words[:n])
        names = ", ".join(_place_name(p) for p in found)
        return n, found, f"{typed} adalah {names} (tidak ada {kind} {typed})"
    return None


def _kecamatan_only(word: str) -> bool:
    """The word names a place only as a kecamatan (district), e.g. "raya" (in Simalungun), "kota", "barat"."""
    info = gazetteer.load().keys.get(normalize_phrase(word))
    return info is not None and info.kind == "kec"


def _span_areas(kind: str, value: object) -> set[str]:
    """Area codes a resolved span stands for (Kab/Kota "33.72" or province "31")."""
    if kind == "region":
        assert isinstance(value, RegionGroup)
        return set(value.members)
    if kind in ("place", "place_noted"):
        assert isinstance(value, list)
        return {p.code for p in value}
    return set()


def _covers(areas: set[str], code: str) -> bool:
    return code in areas or code.split(".")[0] in areas


_Span = tuple[int, int, str, object]  # (first word, word count, kind, value)


def _stray_districts(words: list[str], spans: list[_Span]) -> list[str]:
    """Phrases like "Solo Raya" whose one word would be read alone as a far-off kecamatan.

    A kecamatan word next to a place stays only when it lies in that place ("Klaten Wedi", "Sleman Depok").
    """
    stray = []
    for k, (start, n, kind, value) in enumerate(spans):
        if n != 1 or kind != "place" or not _kecamatan_only(words[start]):
            continue
        for other in (spans[k - 1] if k else None, spans[k + 1] if k + 1 < len(spans) else None):
            if other is None or not (other[0] + other[1] == start or start + 1 == other[0]):
                continue  # not next to this word
            near = _span_areas(other[2], other[3])
            if near and not any(_covers(near, code) for code in _span_areas(kind, value)):
                first, last = min(start, other[0]), max(start, other[0] + other[1] - 1)
                stray.append(" ".join(words[first : last + 1]))
                break
    return stray


def parse_query(text: str) -> ParsedQuery:
    """The filter the words describe; raises UnknownWords (an InputError) naming what is not understood."""
    if len(text) > MAX_QUERY_LEN:
        raise InputError(f"Terlalu panjang: tulis paling banyak {MAX_QUERY_LEN} karakter.")
    areas: set[str] = set()
    cases: set[str] = set()
    sentiments: set[Sentiment] = set()
    include: list[str] = []
    exclude: list[str] = []
    notes: list[str] = []
    unknown: list[str] = []

    def flush(words: list[str]) -> None:
        spans: list[_Span] = []
        i = 0
        while i < len(words):
            typed_kind = _AREA_PREFIXES.get(words[i].casefold())
            if typed_kind is not None and i + 1 < len(words):
                prefixed = _resolve_prefixed(typed_kind, words[i + 1 : i + 1 + MAX_RUN])
                if prefixed is not None:
                    n, places, note = prefixed
                    # With its own note ("Solo adalah Kota Surakarta …") the span needs no other.
                    spans.append((i, n + 1, "place_noted" if note else "place", places))
                    if note:
                        notes.append(note)
                    i += n + 1
                    continue
            for n in range(min(MAX_RUN, len(words) - i), 0, -1):
                resolved = _resolve_run(words[i : i + n])
                if resolved is not None:
                    spans.append((i, n, *resolved))
                    i += n
                    break
            else:
                if words[i].casefold() not in _FILLER:
                    unknown.append(words[i])
                i += 1
        stray = _stray_districts(words, spans)
        if stray:
            unknown.extend(stray)
            return
        for start, n, kind, value in spans:
            run = words[start : start + n]
            if kind == "sentiment":
                assert isinstance(value, Sentiment)
                sentiments.add(value)
            elif kind == "case":
                assert isinstance(value, str)
                cases.add(value)
            elif kind == "cases":
                assert isinstance(value, tuple)
                cases.update(value)
                if len(value) > 1:
                    notes.append(f"{' '.join(run)} → " + ", ".join(case_name(k) for k in value))
            elif kind == "region":
                assert isinstance(value, RegionGroup)
                areas.update(value.members)
                notes.append(f"{' '.join(run)} → {', '.join(value.member_names)}")
            elif kind == "place_noted":
                assert isinstance(value, list)
                areas.update(p.code for p in value)
            else:
                assert isinstance(value, list)
                typed = " ".join(run)
                chosen = [p for p in value if isinstance(p, Place)] or value
                areas.update(p.code for p in chosen)
                names = [_place_name(p) for p in chosen]
                note = ""
                if len(chosen) > 1 or typed.casefold() not in (chosen[0].name.casefold(), names[0].casefold()):
                    note = f"{typed} → {', '.join(names)}"
                # "Yogyakarta" names a city and a province: take the city, say how to get the province.
                for province in (p for p in value if p not in chosen):
                    note += f" (seluruh provinsi: tulis “Provinsi {province.name}”)"
                if note:
                    notes.append(note)

    pending: list[str] = []
    for term in split_terms(text):
        if not term.quoted:
            pending.append(term.text)
            continue
        flush(pending)
        pending = []
        keyword = term.text[:MAX_KEYWORD_LEN]
        target = exclude if term.negated else include
        if keyword.casefold() not in (k.casefold() for k in target):
            target.append(keyword)
    flush(pending)

    if unknown:
        unknown = list(dict.fromkeys(unknown))
        shown = unknown[:MAX_UNKNOWN_SHOWN]
        raise UnknownWords(unknown, {word: suggest(word) for word in shown if len(word) <= MAX_RUN * 20})
    if len(include) + len(exclude) > MAX_KEYWORDS:
        raise InputError(f"Paling banyak {MAX_KEYWORDS} kata kunci dalam tanda kutip per langganan.")
    flt = SubscriptionFilter(
        area_codes=frozenset(areas),
        cases=frozenset(cases),
        sentiments=frozenset(sentiments),
        include_keywords=tuple(include),
        exclude_keywords=tuple(exclude),
    )
    return ParsedQuery(filter=flt, notes=tuple(dict.fromkeys(notes)))


def is_empty(flt: SubscriptionFilter) -> bool:
    """Nothing chosen that narrows what arrives (exclusions alone still let everything else through)."""
    return not (flt.area_codes or flt.cases or flt.sentiments or flt.include_keywords)


def is_broad(flt: SubscriptionFilter) -> bool:
    """All of Indonesia and every case (maybe one sentiment): hundreds of alerts a day; ask before saving."""
    return not (flt.area_codes or flt.cases or flt.include_keywords)


def suggest(word: str, n: int = 3) -> list[str]:
    """Closest known names for a word that resolved to nothing: case words when it looks like one
    ("kriminl" → kriminal, not Kabupaten Karimun), else places, regions and sentiment words."""
    folded = word.casefold()
    case_vocabulary = list(
        dict.fromkeys([*classify.CASE_KEYS, *classify.case_words(), *case_word_table(), *classify.english_case_words()])
    )
    case_like = difflib.get_close_matches(folded, case_vocabulary, n=n, cutoff=0.75)
    if case_like:
        return case_like
    regions = {name.casefold(): name for name in region_names()}
    candidates = [regions[m] for m in difflib.get_close_matches(folded, list(regions), n=n, cutoff=0.75)]
    candidates += list(classify.suggest_places(word, n=n))
    candidates += difflib.get_close_matches(folded, list(SENTIMENT_WORDS), n=n, cutoff=0.75)

    def closeness(name: str) -> float:
        # Compare with the bare name too: "Surakrta" is close to "Surakarta", not to "Kota Surakarta".
        bare = re.sub(r"^(kota|kabupaten|provinsi) ", "", name.casefold())
        return max(
            difflib.SequenceMatcher(None, folded, bare).ratio(),
            difflib.SequenceMatcher(None, folded, name.casefold()).ratio(),
        )

    ranked = sorted(dict.fromkeys(candidates), key=closeness, reverse=True)
    return ranked[:n]


def render_unknown(unknown: list[str], suggestions: dict[str, list[str]]) -> str:
    lines = []
    for typed in unknown[:MAX_UNKNOWN_SHOWN]:
        hint = suggestions.get(typed) or []
        word = typed if len(typed) <= 40 else typed[:40] + "…"
        if hint:
            lines.append(f"• “{word}” tidak dikenal. Mungkin maksud Anda: {', '.join(hint)}?")
        else:
            lines.append(f"• “{word}” tidak dikenal sebagai kota/kabupaten, provinsi, kasus, atau sentimen.")
    if len(unknown) > MAX_UNKNOWN_SHOWN:
        lines.append(f"• dan {len(unknown) - MAX_UNKNOWN_SHOWN} kata lain yang tidak dikenal.")
    lines.append('Tidak ada yang disimpan. Kata kunci bebas tulis dalam tanda kutip, mis. "jalan tol".')
    lines.append("Lihat /kota dan /kasus untuk nama yang dikenal.")
    return "\n".join(lines)


def _place_name(place: Place | Province) -> str:
    return place.name if isinstance(place, Place) else f"Provinsi {place.name}"


def area_name(code: str) -> str:
    """ "33.72" → "Kota Surakarta"; "33" → "Provinsi Jawa Tengah"; unknown codes as they are."""
    if "." in code:
        place = classify.place_by_code(code)
        return place.name if place else code
    province = classify.province_by_code(code)
    return f"Provinsi {province.name}" if province else code


def case_name(key: str) -> str:
    return classify.case_label(key).lower()


def describe_filter(flt: SubscriptionFilter) -> str:
    """The filter in plain words: "Kota Surakarta · kasus kecelakaan atau kebakaran · sentimen negatif"."""
    parts: list[str] = []
    if flt.area_codes:
        parts.append(_or_list(sorted(area_name(c) for c in flt.area_codes)))
    else:
        parts.append("semua wilayah")
    if flt.cases:
        parts.append("kasus " + _or_list(sorted(case_name(k) for k in flt.cases)))
    else:
        parts.append("semua kasus")
    if flt.sentiments:
        order = [s for s in (Sentiment.NEGATIVE, Sentiment.NEUTRAL, Sentiment.POSITIVE) if s in flt.sentiments]
        parts.append("sentimen " + _or_list([SENTIMENT_NAME[s] for s in order]))
    for keyword in flt.include_keywords:
        parts.append(f"memuat “{keyword}”")
    for keyword in flt.exclude_keywords:
        parts.append(f"tanpa “{keyword}”")
    return " · ".join(parts)


def _or_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " atau " + items[-1]
