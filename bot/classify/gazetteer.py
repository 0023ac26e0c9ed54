"""Gazetteer: 38 provinces, 514 Kab/Kota, kecamatan and hand-written aliases, loaded once.

Holds the lookup API the Telegram bot uses (`resolve_place`, `suggest_places`, ...) and the
Aho-Corasick automaton the classifier runs over tokenised text.
"""

from __future__ import annotations

import csv
import difflib
import functools
from dataclasses import dataclass, field
from importlib import resources

import ahocorasick

from bot.classify.text import fold_name, normalize_phrase
from bot.models import Place


@dataclass(frozen=True, slots=True)
class Province:
    """One of the 38 provinces."""

    name: str  # "Jawa Tengah"
    code: str  # "33"


@dataclass(slots=True)
class KeyInfo:
    """Everything one automaton key can mean."""

    key: str
    cities: tuple[str, ...] = ()  # Kab/Kota codes the name can refer to (two for Kota/Kab pairs)
    explicit: str | None = None  # "kabupaten" / "kota" when the key itself says which
    province: str | None = None  # province code when the key names a province
    kec: tuple[str, ...] = ()  # Kab/Kota codes of kecamatan with this name
    kind: str = "name"  # name, alias, nickname, abbrev, landmark, province, kec, ignore
    weight: float = 1.0
    common: bool = False  # also an ordinary word ("batu", "malang")


@dataclass(slots=True)
class Gazetteer:
    places: dict[str, Place]  # code -> Place
    types: dict[str, str]  # code -> "kabupaten" / "kota"
    short: dict[str, str]  # code -> short name ("Bandung")
    provinces: dict[str, Province]  # code -> Province
    province_of: dict[str, str]  # kab/kota code -> province code
    keys: dict[str, KeyInfo]
    automaton: ahocorasick.Automaton
    by_province: dict[str, list[Place]] = field(default_factory=dict)
    display_keys: dict[str, list[str]] = field(default_factory=dict)  # folded -> codes, for lookups

    def iter_keys(self, joined: str) -> list[tuple[int, int, KeyInfo]]:
        """(start, end_exclusive, info) for whole-token matches in a `Tokens.joined` string.

        Leftmost-longest among matches that sit on token boundaries: `iter_long` alone would let
        "kab bandung" inside "pemkab bandung" hide the valid "bandung".
        """
        found: list[tuple[int, int, KeyInfo]] = []
        for end, info in self.automaton.iter(joined):
            start = end - len(info.key) + 1
            if joined[start - 1] == " " and joined[end + 1] == " ":
                found.append((start, end + 1, info))
        found.sort(key=lambda m: (m[0], m[0] - m[1]))
        out: list[tuple[int, int, KeyInfo]] = []
        last_end = -1
        for m in found:
            if m[0] >= last_end:
                out.append(m)
                last_end = m[1]
        return out


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("bot.classify").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return list(csv.DictReader(lines))


def _info(keys: dict[str, KeyInfo], phrase: str) -> KeyInfo:
    key = normalize_phrase(phrase)
    if key not in keys:
        keys[key] = KeyInfo(key)
    return keys[key]


# Kecamatan names are written joined or split ("Gunungputri" / "Gunung Putri", "Babakan Madang" /
# "Babakanmadang"); a split is only guessed after a generic landform word.
# (Not "batu", "air", "karang", "pasir": "batu putih", "air garam" are ordinary phrases.)
_SPLIT_PREFIXES = (
    "gunung",
    "tanjung",
    "sungai",
    "pulau",
    "teluk",
    "bukit",
    "muara",
    "lubuk",
    "kuala",
    "pangkalan",
    "ujung",
)


def _kec_spellings(name: str) -> list[str]:
    key = normalize_phrase(name)
    out = [key]
    words = key.split()
    if len(words) > 1 and all(w.isalpha() for w in words):
        out.append("".join(words))
    elif len(words) == 1:
        for p in _SPLIT_PREFIXES:
            if key.startswith(p) and len(key) - len(p) >= 4:
                out.append(f"{p} {key[len(p) :]}")
                break
    return out


# Bare island names that are also ordinary words ("Kepulauan Seribu" -> "seribu" = a thousand).
_ISLAND_COMMON = frozenset({"seribu"})


@dataclass(slots=True)
class _Build:
    """The gazetteer while it is read from the data files."""

    places: dict[str, Place] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    short: dict[str, str] = field(default_factory=dict)
    provinces: dict[str, Province] = field(default_factory=dict)
    province_of: dict[str, str] = field(default_factory=dict)
    keys: dict[str, KeyInfo] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)  # lower-case official name -> code

    def info(self, phrase: str) -> KeyInfo:
        return _info(self.keys, phrase)


def _add_regions(b: _Build) -> None:
    """Provinces and Kab/Kota of regions.csv, with their spellings and "Kabupaten X"/"Kota X" forms."""
    for row in _rows("regions.csv"):
        if row["type"] == "provinsi":
            b.provinces[row["code"]] = Province(row["name"], row["code"])
            for phrase in (row["name"], "provinsi " + row["name"]):
                info = b.info(phrase)
                info.province, info.kind = row["code"], "province"
            b.by_name[row["name"].lower()] = row["code"]
            continue
        code = row["code"]
        b.places[code] = Place(row["name"], code, row["province"])
        b.types[code] = row["type"]
        b.short[code] = row["short_name"]
        b.province_of[code] = row["province_code"]
        b.by_name[row["name"].lower()] = code
        sname = row["short_name"]
        variants = {sname, sname.replace(" ", ""), sname.replace("-", ""), *_kec_spellings(sname)[1:]}
        for v in variants:
            info = b.info(v)
            info.cities = (*info.cities, code) if code not in info.cities else info.cities
        prefixes = ["kabupaten", "kab"] if row["type"] == "kabupaten" else ["kota", "kodya"]
        for v in variants:
            for p in prefixes:
                info = b.info(f"{p} {v}")
                info.cities, info.explicit = (code,), row["type"]


def _add_island_names(b: _Build) -> None:
    """ "Kepulauan Mentawai" is usually just "Mentawai" (Anambas, Talaud, Sangihe, Selayar, Meranti...):
    the island regency is the usual meaning of the bare name, even where a kecamatan shares it."""
    for code, sname in b.short.items():
        if b.types[code] != "kabupaten" or not sname.startswith("Kepulauan "):
            continue
        bare = sname[len("Kepulauan ") :]
        info = b.info(bare)
        if info.cities or info.province is not None or bare.lower() in _ISLAND_COMMON:
            continue
        info.cities, info.kind = (code,), "alias"


def _add_regency_towns(b: _Build) -> None:
    """ "Kota Sragen" is common usage for a regency's capital town: map it unless a real Kota exists."""
    for code, sname in b.short.items():
        key = normalize_phrase("kota " + sname)
        if key not in b.keys or not b.keys[key].cities:
            b.info(key).cities = (code,)


def _add_kecamatan(b: _Build) -> None:
    kec_rows = _rows("kecamatan.csv")
    official = {normalize_phrase(row["name"]) for row in kec_rows}
    for row in kec_rows:
        for variant in _kec_spellings(row["name"]):
            if variant != normalize_phrase(row["name"]) and variant in official:
                continue  # another kecamatan is officially spelled so
            info = b.info(variant)
            if row["kab_code"] not in info.kec:
                info.kec = (*info.kec, row["kab_code"])
            if not info.cities and info.province is None and info.kind == "name":
                info.kind = "kec"


# "Tambun Selatan" and "Tambun Utara" are served by "Polsek Tambun": a police unit, a market or a
# headline names a split kecamatan by its old, undivided name.
_SPLIT_SUFFIXES = frozenset({"utara", "selatan", "barat", "timur", "tengah", "pusat"})
# Stems that are ordinary words, names or landmarks elsewhere ("di Pantai", "Gunung Merapi", "Fajar").
_NOT_A_STEM = frozenset(
    {"fajar", "karang", "merapi", "pantai", "pesisir", "kelam", "bahar", "raman", "rimbo", "mendo", "kayan", "babar"}
)


def _add_kecamatan_stems(b: _Build) -> None:
    """The undivided name of kecamatan split by direction, when it has no other meaning and all its
    parts lie in one Kab/Kota."""
    stems: dict[str, set[str]] = {}
    for row in _rows("kecamatan.csv"):
        words = normalize_phrase(row["name"]).split()
        if len(words) >= 2 and words[-1] in _SPLIT_SUFFIXES:
            stems.setdefault(" ".join(words[:-1]), set()).add(row["kab_code"])
    for stem, kabs in stems.items():
        new = stem not in b.keys and stem not in _NOT_A_STEM
        if new and len(kabs) == 1 and len(stem) >= 5 and stem.replace(" ", "").isalpha():
            info = b.info(stem)
            info.kec, info.kind = tuple(kabs), "kec"


def _add_aliases(b: _Build) -> None:
    """aliases.csv: nicknames, abbreviations, landmarks, province short forms, ordinary words, ignores."""
    for row in _rows("aliases.csv"):
        kind, weight = row["kind"], float(row["weight"] or 0)
        info = b.info(row["alias"])
        if kind == "common":
            info.common = True
            continue
        if kind == "ignore":
            info.kind, info.weight = "ignore", 0.0
            continue
        target = b.by_name.get(row["target"].lower())
        if target is None:
            raise ValueError(f"aliases.csv: unknown target {row['target']!r}")
        if kind == "province":
            if info.province is None or info.kind != "province":
                info.province, info.kind = target, "province"
            if not info.cities:
                info.weight = weight
            continue
        info.cities = (target,)
        info.kind, info.weight = kind, weight
        info.explicit = b.types[target] if kind != "landmark" else None


@functools.cache
def load() -> Gazetteer:
    """Read the data files and build the automaton (once per process)."""
    b = _Build()
    _add_regions(b)
    _add_island_names(b)
    _add_regency_towns(b)
    _add_kecamatan(b)
    _add_kecamatan_stems(b)
    _add_aliases(b)
    automaton = ahocorasick.Automaton()
    for key, info in b.keys.items():
        if key:
            automaton.add_word(key, info)
    automaton.make_automaton()
    by_province: dict[str, list[Place]] = {code: [] for code in b.provinces}
    for code, place in b.places.items():
        by_province[b.province_of[code]].append(place)
    display_keys: dict[str, list[str]] = {}
    for code, place in b.places.items():
        display_keys.setdefault(fold_name(place.name), []).append(code)
    return Gazetteer(
        b.places, b.types, b.short, b.provinces, b.province_of, b.keys, automaton, by_province, display_keys
    )


# --------------------------------------------------------------------------- lookup API for the bot


def all_places() -> list[Place]:
    """The 514 Kab/Kota in code order."""
    return list(load().places.values())


def all_provinces() -> list[Province]:
    return list(load().provinces.values())


def place_by_code(code: str) -> Place | None:
    """Accepts "33.72" or "3372"."""
    code = code.strip()
    if "." not in code and len(code) == 4 and code.isdigit():
        code = f"{code[:2]}.{code[2:]}"
    return load().places.get(code)


def province_by_code(code: str) -> Province | None:
    return load().provinces.get(code.strip())


def places_in_province(code: str) -> list[Place]:
    return list(load().by_province.get(code.strip(), []))


def _kota_first(codes: tuple[str, ...]) -> list[str]:
    gaz = load()
    return sorted(codes, key=lambda c: (gaz.types[c] != "kota", c))


def resolve_place(text: str) -> list[Place | Province]:
    """What a user typed -> matching Kab/Kota or province, best first ("bandung" -> Kota, Kabupaten)."""
    gaz = load()
    raw = text.strip()
    if not raw:
        return []
    by_code = place_by_code(raw) or gaz.provinces.get(raw)
    if by_code is not None:
        return [by_code]
    key = normalize_phrase(raw)
    info = gaz.keys.get(key)
    out: list[Place | Province] = []
    if info is not None and info.kind != "ignore":
        out.extend(gaz.places[c] for c in _kota_first(info.cities))
        if info.province is not None and (not info.cities or info.kind == "province"):
            out.append(gaz.provinces[info.province])
        if not out and info.kec and len(info.kec) == 1:
            out.append(gaz.places[info.kec[0]])
    if not out:
        for code in gaz.display_keys.get(fold_name(raw), []):
            out.append(gaz.places[code])
    return out


@functools.cache
def _suggest_pool() -> dict[str, str]:
    gaz = load()
    pool: dict[str, str] = {}
    for place in gaz.places.values():
        pool[place.name.lower()] = place.name
        pool.setdefault(gaz.short[place.code].lower(), place.name)
    for prov in gaz.provinces.values():
        pool[prov.name.lower()] = prov.name
    for key, info in gaz.keys.items():
        if info.kind in {"alias", "nickname", "abbrev"} and info.cities:
            pool.setdefault(key, gaz.places[info.cities[0]].name)
    return pool


def suggest_places(text: str, n: int = 3) -> list[str]:
    """Closest known names for a "did you mean" reply."""
    pool = _suggest_pool()
    matches = difflib.get_close_matches(text.strip().lower(), list(pool), n=n * 3, cutoff=0.6)
    out: list[str] = []
    for m in matches:
        name = pool[m]
        if name not in out:
            out.append(name)
    return out[:n]
