"""What the story assigner looks at in one report: weighted words of its title and lead, its places,
cases and the details that tell two look-alike incidents apart.

Only the title and the lead (the first paragraph, or the whole teaser) are used. Later paragraphs
often mention *another* incident in passing ("it was the second fire today, after the one in
Semanggi"), and a feed's teaser is all some outlets publish, so title + lead is what every report
has in common.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from datetime import datetime

from bot.classify import cases as _cases
from bot.classify import gazetteer as _gaz
from bot.classify.text import Tokens, tokenize
from bot.models import Classification

LEAD_CHARS = 420  # the first paragraph of a news body, or a long teaser

# Function words and newsroom boilerplate that say nothing about which incident a report is about.
_STOPWORD_TEXT = """
    yang dan di ke dari ini itu dengan untuk pada dalam akan tidak ada atau juga oleh karena saat
    sudah telah masih bisa dapat para sebuah seorang sebanyak sejumlah tersebut hingga sampai sejak
    usai setelah sebelum ketika kata ujar mengatakan menurut kepada bagi agar namun tetapi tapi
    serta lalu kemudian pun lagi jadi menjadi adalah ialah yakni pukul wib wita wit sekitar mulai
    senin selasa rabu kamis jumat sabtu minggu pagi siang sore malam petang subuh dini hari kemarin
    tadi kini baru lebih kurang sangat banyak beberapa seluruh semua tiap setiap antara tak belum
    terjadi sempat mereka kami kita ia dia nya the of com co id news tahun bulan pekan detik
    kompas antara tribun okezone liputan suara espos jpnn inews solopos radar merdeka post pos
    jam usai hal kali satu dua tiga empat lima enam tujuh delapan sembilan sepuluh puluhan ratusan ribuan
    warga orang polisi pihak lokasi kejadian peristiwa kabupaten kota kecamatan desa kelurahan jalan
    provinsi daerah wilayah kawasan sebut diduga dugaan disebut terkait atas bawah akibat
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Details that differ between two incidents of the same kind, place and day.
_KM_RE = re.compile(r"\bkm\s*\.?\s*(\d{1,4})(?:\s*[+.,]\s*(\d{1,3}))?", re.IGNORECASE)
_MAGNITUDE_RE = re.compile(r"\b(?:m|magnitudo|bermagnitudo|sr|skala richter)\s*(\d)\s*[,.]\s*(\d)\b", re.IGNORECASE)
_NUMBER_RE = re.compile(r"^\d+$")
# Gazetteer entries naming a Kab/Kota or province (not a kecamatan or landmark).
_AREA_KINDS = frozenset({"name", "alias", "nickname", "abbrev", "province"})

# Inflectional and derivational affixes, stripped so "kebakaran", "terbakar" and "dibakar" meet.
_PLAIN_PREFIXES = ("memper", "diper", "per", "ter", "ber", "di", "ke", "se")
# me-/pe- with nasal assimilation: the nasal replaced the root's first consonant before a vowel
# ("menabrak" <- tabrak, "memukul" <- pukul, "menyerang" <- serang).
_NASAL = (
    ("meny", "s"),
    ("peny", "s"),
    ("meng", ""),
    ("peng", ""),
    ("men", "t"),
    ("pen", "t"),
    ("mem", "p"),
    ("pem", "p"),
    ("me", ""),
    ("pe", ""),
)
_VOWELS = frozenset("aeiou")


def _strip_prefix(w: str) -> str | None:
    for p in ("memper", "diper", "per"):
        if w.startswith(p) and len(w) - len(p) >= 4 and w[len(p)] in _VOWELS:
            return w[len(p) :]
    for p, root_initial in _NASAL:
        if w.startswith(p) and len(w) - len(p) >= 4:
            rest = w[len(p) :]
            if len(p) == 2 and not (rest[0] in "lrwy" and rest[1] in _VOWELS):
                continue  # bare me-/pe- only before l, r, w, y ("merusak"), not "merbabu", "persen"
            if rest[0] in _VOWELS and root_initial:
                return root_initial + rest
            return rest
    for p in _PLAIN_PREFIXES:
        if w.startswith(p) and len(w) - len(p) >= 4:
            return w[len(p) :]
    return None


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately light Indonesian stemmer: one particle, one prefix, one suffix, keep ≥ 4 letters.

    Good enough for overlap between paraphrases; it need not find the dictionary root.
    """
    w = word
    for particle in ("nya", "lah", "kah"):
        if w.endswith(particle) and len(w) - len(particle) >= 4:
            w = w[: -len(particle)]
            break
    stripped = _strip_prefix(w)
    prefixed = stripped is not None
    if stripped is not None:
        w = stripped
    # -kan and -i are verb suffixes: only after a verb prefix ("tabrakan" is tabrak + -an, not tabra + -kan).
    suffixes = ("kan", "an", "i") if prefixed else ("an",)
    for s in suffixes:
        if w.endswith(s) and len(w) - len(s) >= 4:
            return w[: -len(s)]
    return w


def lead_of(body: str) -> str:
    """The first paragraph of the body, cut at a word boundary near LEAD_CHARS."""
    text = body.strip()
    first = text.split("\n", 1)[0]
    if len(first) < 120 and "\n" in text:  # a dateline or a one-line kicker: take the next paragraph too
        first = " ".join(text.split("\n", 2)[:2])
    if len(first) > LEAD_CHARS:
        cut = first.rfind(" ", 0, LEAD_CHARS)
        first = first[: cut if cut > 0 else LEAD_CHARS]
    return first


def _area_tokens(lower: list[str], keys: dict[str, _gaz.KeyInfo]) -> set[int]:
    """Indexes of tokens that spell a Kab/Kota or province name, one or two words ("Jawa Tengah")."""
    out: set[int] = set()
    for i, tok in enumerate(lower):
        info = keys.get(tok)
        if info is not None and info.kind in _AREA_KINDS:
            out.add(i)
        if i + 1 < len(lower):
            pair = keys.get(f"{tok} {lower[i + 1]}")
            if pair is not None and pair.kind in _AREA_KINDS:
                out.update((i, i + 1))
    return out


def terms(text: str | Tokens) -> list[str]:
    """Content words of a text, stemmed; numbers kept when they can identify something (not years).

    Names of a Kab/Kota or province are left out: places are compared through the classification
    (which knows "Solo" is Surakarta), and counting them again as words would make every report from
    one city look alike.
    """
    keys = _gaz.load().keys
    lower = (tokenize(text) if isinstance(text, str) else text).lower
    area = _area_tokens(lower, keys)
    out: list[str] = []
    for i, tok in enumerate(lower):
        if tok in _STOPWORDS or i in area:
            continue
        if _NUMBER_RE.match(tok):
            # Years, dates and single digits are shared by unrelated reports; 105 gram or KM 538 are not.
            if len(tok) < 2 or (len(tok) == 4 and tok.startswith("20")):
                continue
            out.append(tok)
            continue
        if len(tok) < 3:
            continue
        out.append(stem(tok))
    return out


def _numbers(pattern: re.Pattern[str], text: str) -> frozenset[str]:
    return frozenset(".".join(g for g in m.groups() if g) for m in pattern.finditer(text))


# A kecamatan, or a landmark that is one ("Kartasura"); not the Kab/Kota's own name ("Sukoharjo").
_SUBPLACE_KINDS = frozenset({"kec", "landmark"})


def kecamatan_of(text: str | Tokens, city_codes: frozenset[str]) -> frozenset[str]:
    """Kecamatan of the report's own Kab/Kota named in the text ("Pasar Kliwon", "Kartasura")."""
    if not city_codes:
        return frozenset()
    gaz = _gaz.load()
    found: set[str] = set()
    joined = (tokenize(text) if isinstance(text, str) else text).joined
    for _start, _end, info in gaz.iter_keys(joined):
        if info.kind in _SUBPLACE_KINDS and city_codes.intersection(info.kec):
            found.add(info.key)
    return frozenset(found)


_LOCATIVES = frozenset({"di", "dekat", "sekitar"})
# Words that say what kind of place follows: skipped to reach its name ("di Pantai Samas").
_PLACE_NOUN_TEXT = """
    pantai jalan jl jln pasar desa dusun kampung kelurahan gunung kali sungai tol ruas perairan teluk
    pulau kawasan lereng hutan lahan perumahan komplek kompleks gang gg simpang perempatan jembatan
    terminal stasiun bandara pelabuhan alun pegunungan jalur km gedung kantor kamar kos rumah kontrakan
    warung lapo lapak kios toko dapur sekolah masjid lokasi area wilayah tengah tepi pinggir depan
    belakang dalam luar atas bawah sebuah salah raya
"""
_PLACE_NOUNS = frozenset(_PLACE_NOUN_TEXT.split())


def title_places(title: str | Tokens, names: frozenset[str]) -> frozenset[str]:
    """The place a headline gives its incident: the name after "di" ("Rumah di Nusukan Solo Terbakar").

    A headline says where *its* incident happened; a later paragraph may name another place in
    passing. Kab/Kota names are left out (compared as places), and so are words the lead writes in
    lower case, which are ordinary words rather than names.
    """
    tokens = tokenize(title) if isinstance(title, str) else title
    keys = _gaz.load().keys
    lower = tokens.lower
    out: set[str] = set()
    for i, word in enumerate(lower):
        if word not in _LOCATIVES:
            continue
        j = i + 1
        while j < len(lower) and lower[j] in _PLACE_NOUNS and not tokens.breaks[j]:
            j += 1
        if j >= len(lower) or tokens.breaks[j] or lower[j] in _STOPWORDS or _NUMBER_RE.match(lower[j]):
            continue
        info = keys.get(lower[j])
        pair = keys.get(f"{lower[j]} {lower[j + 1]}") if j + 1 < len(lower) else None
        if any(k is not None and k.kind in _AREA_KINDS for k in (info, pair)):
            continue
        t = stem(lower[j])
        if t in names or not names:
            out.add(t)
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class ReportFeatures:
    """One report as the assigner sees it."""

    terms: dict[str, float]  # term -> weight (title words count double), not yet IDF-weighted
    cities: frozenset[str]  # Kab/Kota codes
    provinces: frozenset[str]  # province codes
    cases: frozenset[str]
    kecamatan: frozenset[str]
    title_places: frozenset[str]  # names right after "di" in the title: where this report's incident is
    km: frozenset[str]  # "538", "12.400"
    magnitude: frozenset[str]  # "4.6"
    time: float  # POSIX seconds of publication (or of fetching when the feed gave no date)


TITLE_WEIGHT = 2.0
NAME_WEIGHT = 2.0  # a word written capitalised mid-sentence in the lead: a person, place or organisation
NUMBER_WEIGHT = 1.5
# Words that name a kind of incident ("kebakaran", "demo", "tewas") say which case it is, which the
# classification already compares; they do not tell two fires or two protests apart.
CASE_WORD_WEIGHT = 0.3


@functools.cache
def case_vocabulary() -> frozenset[str]:
    """Stems of the one-word patterns that name an incident on their own (weight ≥ 2), and case labels.

    Multi-word patterns are left out: their words ("ada", "air", "korban") are ordinary on their own.
    """
    rules = _cases.load_rules()
    out: set[str] = set()
    for key, entries in rules.automaton.values():
        if " " not in key and any(not e.anti and e.weight >= 2 for e in entries):
            out.add(stem(key.rstrip("*")))
    for phrase, _case in rules.words.items():
        if " " not in phrase:
            out.add(stem(phrase))
    return frozenset(w for w in out if len(w) >= 3)


def names_in(text: str | Tokens) -> frozenset[str]:
    """Stemmed words the lead writes capitalised where a sentence does not start (names, not headline case)."""
    tokens = tokenize(text) if isinstance(text, str) else text
    text = tokens.text
    keys = _gaz.load().keys
    out: set[str] = set()
    for i, word in enumerate(tokens.words):
        info = keys.get(tokens.lower[i])
        if info is not None and info.kind in _AREA_KINDS:
            continue  # Kab/Kota and province names are compared as places, not as words
        if i == 0 or tokens.breaks[i] and text[tokens.starts[i] - 2 : tokens.starts[i]].strip() in {".", ""}:
            continue
        if word[:1].isupper() and not word.isupper() and len(word) >= 3 and tokens.lower[i] not in _STOPWORDS:
            out.add(stem(tokens.lower[i]))
    return frozenset(out)


def extract(title: str, body: str, classification: Classification, when: datetime) -> ReportFeatures:
    """Features of one report; pure, about 0.2 ms (title and lead are tokenised once each)."""
    lead = lead_of(body)
    title_tokens, lead_tokens = tokenize(title), tokenize(lead)
    names = names_in(lead_tokens)
    weights: dict[str, float] = {}
    # Interned: the window keeps tens of thousands of reports whose words repeat; one string object per word.
    for t in terms(lead_tokens):
        weights[sys.intern(t)] = 1.0
    for t in terms(title_tokens):
        weights[sys.intern(t)] = TITLE_WEIGHT
    generic = case_vocabulary()
    for t in weights:
        if t in generic:
            weights[t] *= CASE_WORD_WEIGHT
        elif t in names:
            weights[t] *= NAME_WEIGHT
        elif t.isdigit():
            weights[t] *= NUMBER_WEIGHT
    cls = classification
    cities = frozenset(p.code for p in (cls.city, *cls.other_cities) if p is not None)
    provinces = frozenset(code.split(".", 1)[0] for code in cities)
    if not provinces and cls.province:
        gaz = _gaz.load()
        provinces = frozenset(code for code, prov in gaz.provinces.items() if prov.name == cls.province)
    head = f"{title}\n{lead}"
    return ReportFeatures(
        terms=weights,
        cities=cities,
        provinces=provinces,
        cases=frozenset(cls.cases),
        kecamatan=kecamatan_of(title_tokens, cities) | kecamatan_of(lead_tokens, cities),
        title_places=title_places(title_tokens, names) - generic,
        km=_numbers(_KM_RE, head),
        magnitude=_numbers(_MAGNITUDE_RE, head),
        time=when.timestamp(),
    )
