"""Where the story happens: datelines, names, aliases, kecamatan, Kota vs Kabupaten, origin vs event.

The rules run in named phases, their words and weights kept in data/places.toml:

1. find mentions (`_mentions`): every gazetteer name in the title and body, read in its context —
   a village or kecamatan, a street, a person, a newspaper, a road's ends, a title-case word — and
   weighted by what the words before it say (origin, destination, a speaker's place, a police unit);
   then lists of places and "Place, Larger Region" pairs are discounted;
2. tally the article (`_tally`): Kota/Kabupaten votes per ambiguous name, kecamatan support,
   provinces named;
3. score each Kab/Kota (`_score_seats`, `_score_names`, `_score_kecamatan`, `_support_by_province`);
4. pick the place of the event and further places of the same event (`_choose`).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from bot.classify.gazetteer import Gazetteer, KeyInfo
from bot.classify.text import Tokens, fold_name, normalize_phrase

# "Solo-Semarang" after a route word: the ends of a road or a line, not where the story is.
_ROUTE_GAP = frozenset({"-", "\u2013", "\u2014", "/"})
# A name followed by an age in brackets is a person: "Kediri (45)", not a date "(15/9)".
_AGE_AFTER = re.compile(r"\s*\(\d{1,2}\)")
CLUB_PREFIX = re.compile(r"^(pers[a-z]*|psi[a-z]*|pss|psm[a-z]*|ps|arema)$")

# Dateline: up to ~60 characters before the first dash, e.g. "KLATEN, KOMPAS.com -".
_DATELINE_RE = re.compile(r"^\s*([^\n]{1,70}?)\s*[-\u2013\u2014]+")
_OUTLET_PART = re.compile(
    r"\.(com|id|co|net|news|org)\b|^\s*(antara|esposin|espos|kompas|detik\w*|"
    r"okezone|sindonews|liputan6|tempo|tribun\w*|suara\w*|idn\s?times|merdeka|"
    r"viva|info nasional|jpnn|inews|republika)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Weights:
    """[weights] of data/places.toml."""

    title: float
    dateline: float
    lead: float
    body: float
    lead_tokens: int
    seat: float
    seat_speech: float
    repeat_decay: float
    explicit_bonus: float
    bare_province_name: float
    bare_kecamatan: float
    province_support: float
    min_city_score: float
    province_story_min: float
    other_share: float
    other_min: float
    event_share: float

    def position(self, where: str) -> float:
        return {"title": self.title, "dateline": self.dateline, "lead": self.lead}.get(where, self.body)


@dataclass(frozen=True, slots=True)
class Factors:
    """[factors] of data/places.toml: multipliers of one mention's weight."""

    route: float
    title_case_common: float
    origin: float
    police_unit: float
    coming_from: float
    toward: float
    event_before: float
    speech: float
    club: float
    regional_office: float
    listed: float
    larger_region: float
    direction: float


@dataclass(frozen=True, slots=True)
class PlaceRules:
    """Everything of data/places.toml, loaded once."""

    kabupaten: frozenset[str]
    kota: frozenset[str]
    kabupaten_after: frozenset[str]
    kota_after: frozenset[str]
    police: frozenset[str]
    origin: frozenset[str]
    coming_from: frozenset[str]
    toward: frozenset[str]
    street: frozenset[str]
    route: frozenset[str]
    village: frozenset[str]
    kecamatan: frozenset[str]
    polsek: frozenset[str]
    official: frozenset[str]
    regional_office: frozenset[str]
    compare: frozenset[str]
    outlet_before: frozenset[str]
    outlet_after: frozenset[str]
    event_before: frozenset[str]
    speech: frozenset[str]
    honorifics: frozenset[str]
    given_names: frozenset[str]
    headline_place: frozenset[str]
    province_before: frozenset[str]
    foreign: frozenset[str]
    direction: frozenset[str]
    seat_skip: frozenset[str]
    weights: Weights
    factors: Factors
    seats: dict[tuple[str, ...], str]  # words before the province name, nearest first -> institution
    capitals: dict[str, str]  # province name -> Kab/Kota name
    seat_exceptions: dict[tuple[str, str], str | None]  # (institution, province) -> Kab/Kota or none
    kec_prefix: frozenset[str] = frozenset()  # kecamatan | polsek
    # Offices named after their Kab/Kota: the speaker's unit, not a place the story passes through, so a
    # preceding speech verb or "dari" does not discount them ("kata Kasat Reskrim Polres Karawang").
    office: frozenset[str] = frozenset()


def parse_place_rules(raw: str) -> PlaceRules:
    """Build the rules from the text of a places.toml; a missing or unknown entry raises ValueError."""
    data: dict[str, Any] = tomllib.loads(raw)
    try:
        words = {k: frozenset(normalize_phrase(w) for w in v) for k, v in data["words"].items()}
        kab, kota, police, polsek = words["kabupaten"], words["kota"], words["police"], words["polsek"]
        return PlaceRules(
            **words,
            weights=Weights(**data["weights"]),
            factors=Factors(**data["factors"]),
            seats={tuple(reversed(k.split())): v for k, v in data["seats"].items()},
            capitals=dict(data["capitals"]),
            seat_exceptions={
                (kind, prov): name or None
                for kind, table in data["seat_exceptions"].items()
                for prov, name in table.items()
            },
            kec_prefix=words["kecamatan"] | polsek,
            office=police | polsek | (kab | kota) - {"kabupaten", "kab", "kota"},
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"places.toml: missing or unknown entry: {exc}") from None


@functools.cache
def place_rules() -> PlaceRules:
    raw = resources.files("bot.classify").joinpath("data").joinpath("places.toml").read_text("utf-8")
    return parse_place_rules(raw)


@dataclass(slots=True)
class PlaceResult:
    city: str | None
    others: list[str]
    province: str | None
    evidence: list[str]
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Mention:
    info: KeyInfo
    start: int
    end: int
    weight: float
    where: str  # "title", "dateline", "lead", "body"
    vote: str | None  # "kota" / "kabupaten" from context
    text: str
    as_kec: bool = False
    prev1: str = ""
    route: bool = False  # an end of a named road or line ("Tol Semarang-Solo", "rute Solo-Yogya")
    passing: bool = False  # discounted as origin, destination, speaker's place, list or larger region
    compared: bool = False  # a reference point of a comparison ("lebih tinggi dibanding Klaten")
    seat: str | None = None  # the capital, for a province named as the seat of an institution
    located: bool = False  # right after a locative ("di Klaten", "di wilayah Klaten")
    province_reading: bool = False  # a province named as such ("Provinsi Jambi", "Gubernur Jambi")
    capital: tuple[str, ...] = ()  # for "Gubernur Jambi": the Kab/Kota the bare name could also mean


def parse_dateline(body: str, gaz: Gazetteer) -> tuple[KeyInfo, str] | None:
    """The place in an opening like "Espos.id, SOLO —" or "Boyolali (ANTARA) -"."""
    m = _DATELINE_RE.match(body[:90])
    if not m:
        return None
    pre = re.sub(r"\([^)]*\)", ",", m.group(1))
    parts = [p.strip() for p in pre.split(",") if p.strip()]
    parts = [p for p in parts if not _OUTLET_PART.search(p)]
    if len(parts) != 1 or len(parts[0].split()) > 4:
        return None
    phrase = parts[0]
    if not phrase[:1].isupper():
        return None
    info = gaz.keys.get(normalize_phrase(phrase))
    if info is None or info.kind == "ignore" or not (info.cities or info.province):
        return None
    return info, phrase


def _capitalised(tokens: Tokens, i: int) -> bool:
    return tokens.words[i][:1].isupper()


def _sentence_initial(tokens: Tokens, i: int) -> bool:
    if i == 0:
        return True
    gap = tokens.text[tokens.starts[i - 1] + len(tokens.words[i - 1]) : tokens.starts[i]]
    return bool(re.search(r"[.!?\n\"\u201c]", gap))


def _after_speech_verb(tokens: Tokens, i: int, speech: frozenset[str], span: int = 8) -> bool:
    """True if a speech verb precedes token i in the same sentence, within `span` tokens."""
    for j in range(i - 1, max(-1, i - span - 1), -1):
        gap = tokens.text[tokens.starts[j] + len(tokens.words[j]) : tokens.starts[j + 1]]
        if re.search(r"[.!?\n\"\u201c\u201d]", gap):
            return False
        if tokens.lower[j] in speech:
            return True
    return False


def _window(tokens: Tokens, i: int, n: int) -> list[str]:
    """Up to n tokens before token i, nearest first, not crossing a clause break."""
    out: list[str] = []
    j = i
    while j > 0 and len(out) < n and not tokens.breaks[j]:
        j -= 1
        out.append(tokens.lower[j])
    return out


def _gap(tokens: Tokens, i: int) -> str:
    """The text between token i-1 and token i."""
    return tokens.text[tokens.starts[i - 1] + len(tokens.words[i - 1]) : tokens.starts[i]] if i > 0 else ""


# ------------------------------------------------------------------------- phase 1: find mentions


@dataclass(slots=True)
class _Context:
    """The words around one gazetteer match (tokens i..j)."""

    i: int
    j: int
    win: list[str]  # up to four words before, nearest first, within the clause
    prev1: str
    prev2: str
    nxt: str  # the word after, within the clause
    gap: str  # the text between the word before and the name

    @classmethod
    def at(cls, tokens: Tokens, i: int, j: int) -> _Context:
        win = _window(tokens, i, 4)
        nxt = tokens.lower[j] if j < len(tokens.lower) and not tokens.breaks[j] else ""
        return cls(i, j, win, win[0] if win else "", win[1] if len(win) > 1 else "", nxt, _gap(tokens, i))


@dataclass(slots=True)
class _RouteState:
    """The token after the last road or route name seen, and whether that name had a route word."""

    end: int = -1
    word: bool = False


def _kecamatan_reading(info: KeyInfo, ctx: _Context, rules: PlaceRules) -> bool | None:
    """True if the name is read as a kecamatan, False as a Kab/Kota or province, None if neither."""
    if ctx.prev1 in rules.village or (ctx.prev1 in rules.polsek and info.kec):
        # "Desa Sukabumi" is a village named like a city; "Kecamatan Semin" and "Polsek Semin" a kecamatan.
        return True if ctx.prev1 in rules.kec_prefix and info.kec else None
    if info.kind == "kec" or (not info.cities and not info.province):
        return True if info.kec else None
    if not info.cities and info.province is None:
        return None
    return False


def _names_something_else(tokens: Tokens, info: KeyInfo, ctx: _Context, rules: PlaceRules) -> bool:
    """A newspaper ("Radar Solo"), a person ("Pak Tegal", "Joko Kediri", "Kediri (45)"), a police unit's name."""
    prev1, i, j = ctx.prev1, ctx.i, ctx.j
    if prev1 in rules.outlet_before or ctx.nxt in rules.outlet_after:
        return True
    if prev1 in rules.honorifics and not (prev1 == "ibu" and info.key.startswith("kota") and info.cities):
        return True  # "ibu kota Jakarta" is a capital, not a mother; "Ibu Kota Baru" no kecamatan
    if (
        prev1 in rules.given_names
        and not tokens.breaks[i]
        and _capitalised(tokens, i - 1)
        and not tokens.words[i - 1].isupper()  # "MAN Kaur" is a school (Madrasah Aliyah Negeri), "Man Kaur" a man
    ):
        return True
    if ctx.nxt in rules.foreign or prev1 in rules.foreign:
        return True  # "Benua Asia", "Asia Tenggara": the name is part of a place abroad
    if _AGE_AFTER.match(tokens.text, tokens.starts[j - 1] + len(tokens.words[j - 1])):
        return True  # people have ages, places do not
    # "Polres Metro Jakarta Utara", "Polda Metro Jaya": part of the unit's name.
    return info.key == "metro" and (prev1 in rules.police or prev1 in {"polda", "kapolda"})


def _on_route(tokens: Tokens, ctx: _Context, chained: bool, rules: PlaceRules) -> bool:
    """True if the name is an end of a road or line ("Tol Semarang-Solo", "jalur Solo - Yogya")."""
    nxt_gap = _gap(tokens, ctx.j).strip() if ctx.j < len(tokens.lower) else ""
    return (
        chained
        or ctx.prev1 in rules.route
        or (ctx.prev2 in rules.route and ctx.prev1 in {"ruas", "jalur"})
        or (
            (nxt_gap in _ROUTE_GAP or ctx.gap.strip() in _ROUTE_GAP)
            and any(w in rules.route | rules.street for w in ctx.win[:3])
        )
    )


def _spelling_factor(
    tokens: Tokens, info: KeyInfo, ctx: _Context, as_kec: bool, where: str, rules: PlaceRules
) -> float | None:
    """1.0, a discount, or None to drop: ordinary words and bare kecamatan names need a capital or a prefix."""
    prev1 = ctx.prev1
    if info.common or as_kec and info.explicit is None and prev1 not in rules.kec_prefix:
        has_prefix = bool(info.explicit) or prev1 in rules.kabupaten | rules.kota | rules.police | rules.kec_prefix
        if not has_prefix:
            named_as_place = prev1 in rules.event_before | rules.headline_place
            kec_ok = as_kec and where == "title" and (named_as_place or " " in info.key)
            if not kec_ok and (not _capitalised(tokens, ctx.i) or _sentence_initial(tokens, ctx.i) or where == "title"):
                if not (where == "title" and info.common):
                    return None
                # In a Title Case headline every word is capitalised; "Tawuran di Malang": the locative settles
                # it, and so do the people or a landmark of the place ("Warga Medan Tertipu", "Pasar Batu").
                if prev1 not in rules.event_before | rules.headline_place:
                    return rules.factors.title_case_common
    if as_kec and prev1 not in rules.kec_prefix and len(info.key) <= 4:
        return None
    if as_kec and prev1 not in rules.kec_prefix and ctx.nxt in rules.village | {"kota"}:
        return None  # "Balai Desa", "Balai Kota": a building, not the kecamatan Balai
    return 1.0


def _kota_or_kabupaten(ctx: _Context, rules: PlaceRules) -> str | None:
    """ "Pemkot Magelang" -> kota, "Bupati Bogor" -> kabupaten, "Polres Malang" -> kabupaten."""
    prev1, prev2, nxt = ctx.prev1, ctx.prev2, ctx.nxt
    if prev1 in rules.kota or (prev1 == "kota" and prev2 == "wali") or nxt in rules.kota_after:
        return "kota"
    if prev1 in rules.kabupaten or nxt in rules.kabupaten_after:
        return "kabupaten"
    if prev1 in rules.police or (prev1 == "metro" and prev2 in rules.police):
        return "kota" if nxt == "kota" else "kabupaten"
    return None


def _role(tokens: Tokens, ctx: _Context, route: bool, rules: PlaceRules) -> tuple[list[float], bool, bool]:
    """What the words before the name make of it: (weight factors in order, passing, compared).

    Passing places are named but are not where the event is: origin, destination, a speaker's place,
    an official's seat, a club, a regional office, a reference point of a comparison.
    """
    f = rules.factors
    prev1, win = ctx.prev1, ctx.win
    factors: list[float] = []
    office = prev1 in rules.office
    passing = route
    if any(w in rules.origin for w in win):
        factors.append(f.origin)
        passing = True
    elif office:
        if prev1 in rules.police:
            factors.append(f.police_unit)
    elif any(w in rules.coming_from for w in win[:3]):
        factors.append(f.coming_from)
        passing = True
    elif prev1 in rules.toward:
        factors.append(f.toward)
        passing = True
    elif any(w in rules.toward for w in win[1:4]):
        passing = True  # "dibawa ke RS Siaga Kabupaten Pemalang": where people were taken
    elif prev1 in rules.event_before or ctx.prev2 == "di":
        factors.append(f.event_before)
    if not office and _after_speech_verb(tokens, ctx.i, rules.speech):
        factors.append(f.speech)
        passing = True
    compared = any(w in rules.compare for w in win)
    if prev1 in rules.official or prev1 == "wali" or (prev1 == "kota" and ctx.prev2 == "wali") or compared:
        passing = True  # "Bupati Sragen", "dibanding Klaten": named, but not a place of the event
    if CLUB_PREFIX.match(prev1):
        factors.append(f.club)
        passing = True
    if prev1 in rules.regional_office:
        factors.append(f.regional_office)
        passing = True
    if prev1 in rules.direction and not ctx.gap.strip():
        factors.append(f.direction)
        passing = True
    return factors, passing, compared


def _read_mention(
    tokens: Tokens,
    gaz: Gazetteer,
    match: tuple[int, int, KeyInfo],
    where: str,
    lower_ok: bool,
    route_state: _RouteState,
    rules: PlaceRules,
) -> _Mention | None:
    """One gazetteer match read in its context, or None when it does not name a place here."""
    cstart, cend, info = match
    if info.kind == "ignore":
        return None
    i, j = tokens.token_at(cstart), tokens.token_at(cend - 1) + 1
    if not lower_ok and not _capitalised(tokens, i) and info.kind not in {"abbrev"}:
        return None
    ctx = _Context.at(tokens, i, j)
    as_kec = _kecamatan_reading(info, ctx, rules)
    if as_kec is None:
        return None
    # "Tol Semarang-Solo", "rute Batam Balikpapan": later ends of a road or line named so far.
    chained = i == route_state.end and (ctx.gap.strip() in _ROUTE_GAP or (route_state.word and ctx.gap == " "))
    if ctx.prev1 in rules.street or (ctx.prev2 in rules.street and ctx.prev1 in {"raya", "lingkar", "baru"}):
        route_state.end, route_state.word = j, False
        return None
    if _names_something_else(tokens, info, ctx, rules):
        return None
    weight = info.weight
    route = _on_route(tokens, ctx, chained, rules)
    if route:
        weight *= rules.factors.route  # a toll road or route is named after its ends, not where it happened
        route_state.word = route_state.word if chained else True
        route_state.end = j
    spelling = _spelling_factor(tokens, info, ctx, as_kec, where, rules)
    if spelling is None:
        return None
    if spelling != 1.0:
        weight *= spelling
    vote = info.explicit or _kota_or_kabupaten(ctx, rules)
    factors, passing, compared = _role(tokens, ctx, route, rules)
    for factor in factors:
        weight *= factor
    seat = _seat(gaz, info, _window(tokens, i, 5), rules) if info.province else None
    province_reading = info.kind == "province" and not info.cities
    capital: tuple[str, ...] = ()
    if info.province and info.cities and not vote and _province_meant(ctx, rules):
        # "Gubernur Jambi", "Pemprov Bengkulu": the province, not its capital.
        capital = info.cities
        info = KeyInfo(info.key, province=info.province, kind="province", weight=info.weight)
        province_reading = True
    text = " ".join(tokens.words[i:j])
    located = ctx.prev1 in rules.event_before or ctx.prev2 == "di"
    return _Mention(
        info,
        i,
        j,
        weight,
        where,
        vote,
        text,
        as_kec,
        ctx.prev1,
        route,
        passing,
        compared,
        seat,
        located,
        province_reading,
        capital,
    )


def _province_meant(ctx: _Context, rules: PlaceRules) -> bool:
    two = f"{ctx.prev2} {ctx.prev1}" if ctx.prev2 else ""
    return ctx.prev1 in rules.province_before or two in rules.province_before


def _discount_lists(tokens: Tokens, out: list[_Mention], rules: PlaceRules) -> None:
    """ "Jambi, Palembang, Banjarmasin, Palangkaraya": three or more places listed in one sentence
    describe a wide story, and none of them is its place."""
    run: list[_Mention] = []
    for m in [*out, None]:
        if (
            m is not None
            and run
            and m.start - run[-1].end <= 1
            and tokens.breaks[m.start]
            and m.start > 0
            and tokens.text[tokens.starts[m.start] - 2 : tokens.starts[m.start]].strip() in {",", ""}
        ):
            run.append(m)
            continue
        regions = {(r.info.cities, r.info.province) for r in run if not r.as_kec}
        if len(regions) >= 3:  # an address chain (kelurahan, kecamatan, kota) is not a list
            for r in run:
                r.weight *= rules.factors.listed
                r.passing = True
        run = [m] if m is not None else []


def _discount_larger_regions(tokens: Tokens, gaz: Gazetteer, out: list[_Mention], rules: PlaceRules) -> None:
    """ "Kecamatan Semin, Yogyakarta" / "Jebres, Jawa Tengah": a name right after another place and a
    comma is the larger region that contains it, not a second place."""
    for a, b in zip(out, out[1:], strict=False):
        if b.start == a.end and tokens.breaks[b.start] and b.info.cities and not b.as_kec:
            inner = a.info.kec if a.as_kec else a.info.cities
            same_prov = {gaz.province_of[c] for c in inner} & {gaz.province_of[c] for c in b.info.cities}
            if inner and same_prov and not set(inner) & set(b.info.cities):
                b.weight *= rules.factors.larger_region
                b.vote = None
                b.passing = True


def _mentions(tokens: Tokens, gaz: Gazetteer, where: str, lower_ok: bool) -> list[_Mention]:
    rules = place_rules()
    route_state = _RouteState()
    out: list[_Mention] = []
    for match in gaz.iter_keys(tokens.joined):
        m = _read_mention(tokens, gaz, match, where, lower_ok, route_state, rules)
        if m is not None:
            out.append(m)
    _discount_lists(tokens, out, rules)
    _discount_larger_regions(tokens, gaz, out, rules)
    return out


_SEAT_CACHE: dict[tuple[int, str, str], str | None] = {}


def _seat_code(gaz: Gazetteer, kind: str, province: str, rules: PlaceRules) -> str | None:
    key = (id(gaz), kind, province)
    if key not in _SEAT_CACHE:
        _SEAT_CACHE[key] = _find_seat(gaz, kind, province, rules)
    return _SEAT_CACHE[key]


def _find_seat(gaz: Gazetteer, kind: str, province: str, rules: PlaceRules) -> str | None:
    pname = gaz.provinces[province].name
    name = rules.seat_exceptions.get((kind, pname), rules.capitals.get(pname))
    if name is None:
        return None
    codes = [c for c in gaz.display_keys.get(fold_name(name), []) if gaz.province_of[c] == province]
    return codes[0] if len(codes) == 1 else None


def _seat(gaz: Gazetteer, info: KeyInfo, win: list[str], rules: PlaceRules) -> str | None:
    """The capital, when the province name follows an institution word ("Kantor Gubernur Jatim")."""
    if info.province is None:
        return None
    words = [w for w in win if w not in rules.seat_skip]
    for pattern, kind in rules.seats.items():
        if tuple(words[: len(pattern)]) == pattern:
            return _seat_code(gaz, kind, info.province, rules)
    return None


def _collect(title: Tokens, body: Tokens, raw_body: str, gaz: Gazetteer, rules: PlaceRules) -> list[_Mention]:
    """Mentions of the title, the body (its lead marked) and the dateline."""
    lower_ok = sum(1 for w in body.words[:200] if w[:1].isupper()) < 3
    mentions = _mentions(title, gaz, "title", lower_ok)
    for m in _mentions(body, gaz, "body", lower_ok):
        if m.start < rules.weights.lead_tokens:
            m.where = "lead"
        mentions.append(m)
    dl = parse_dateline(raw_body, gaz)
    if dl is not None:
        # The dateline's own words in the body are the outlet's base as much as the event's place.
        dm = _DATELINE_RE.match(raw_body[:90])
        for m in mentions:
            if dm is not None and m.where != "title" and body.starts[m.start] < dm.end():
                m.passing = True
        info, phrase = dl
        mentions.append(_Mention(info, -1, -1, info.weight if info.weight else 1.0, "dateline", info.explicit, phrase))
    return mentions


# ---------------------------------------------------------------------- phase 2: tally the article


@dataclass(slots=True)
class _Tally:
    votes: dict[str, dict[str, float]]  # short name -> {"kota"/"kabupaten": votes}
    kec_support: dict[str, float]  # Kab/Kota code -> kecamatan of it named
    prov_mentions: dict[str, float]  # province code -> weighted mentions of the province itself
    explicit_codes: set[str]  # codes named unambiguously (with Kota/Kabupaten or as a kecamatan's)
    province_named: set[str] = field(default_factory=set)  # provinces the headline names as provinces


def _tally(mentions: list[_Mention], gaz: Gazetteer, rules: PlaceRules) -> _Tally:
    votes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    kec_support: dict[str, float] = defaultdict(float)
    prov_mentions: dict[str, float] = defaultdict(float)
    for m in mentions:
        if m.as_kec:
            for c in m.info.kec:
                kec_support[c] += 1.0
        elif m.vote and len(m.info.cities) == 1:
            votes[gaz.short[m.info.cities[0]].lower()][m.vote] += 1.0
    for m in mentions:
        if m.info.province and not m.info.cities and not m.as_kec:
            prov_mentions[m.info.province] += rules.weights.position(m.where) * m.weight
    explicit_codes = {m.info.cities[0] for m in mentions if len(m.info.cities) == 1 and m.vote}
    explicit_codes |= {c for m in mentions if m.as_kec and m.prev1 in rules.kec_prefix for c in m.info.kec}
    # A province story names the province as such in its headline ("Pemprov Jambi Salurkan ...").
    named = {m.info.province for m in mentions if m.province_reading and m.info.province and m.where == "title"}
    return _Tally(votes, kec_support, prov_mentions, explicit_codes, named)


def _pick(codes: tuple[str, ...], vote: str | None, gaz: Gazetteer, tally: _Tally) -> str:
    """Which of a Kota/Kabupaten pair a name means: its own vote, else the article's votes and support."""
    if len(codes) == 1:
        return codes[0]
    if vote:
        for c in codes:
            if gaz.types[c] == vote:
                return c
    v = tally.votes.get(gaz.short[codes[0]].lower(), {})
    scored = []
    for c in codes:
        s = (
            v.get(gaz.types[c], 0.0) * 2
            + tally.kec_support.get(c, 0.0)
            + tally.prov_mentions.get(gaz.province_of[c], 0) * 0.1
        )
        scored.append((s, gaz.types[c] == "kota", c))
    scored.sort(reverse=True)
    return scored[0][2]


# ------------------------------------------------------------------------ phase 3: score Kab/Kota


@dataclass(slots=True)
class _Board:
    scores: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    reasons: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # Codes named other than as the end of a road or line, and codes named as a place of the event
    # (not only as origin, destination, speaker's place, the outlet's dateline or a larger region).
    placed: set[str] = field(default_factory=set)
    event: set[str] = field(default_factory=set)
    compared: set[str] = field(default_factory=set)  # a place the story compares with is not one of the event
    located: set[str] = field(default_factory=set)  # named right after a locative ("di Klaten")
    named_event: set[str] = field(default_factory=set)  # places of the event named by a Kab/Kota name
    seen_title: set[str] = field(default_factory=set)
    body_count: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def note(self, code: str, reason: str) -> None:
        if len(self.reasons[code]) < 4:
            self.reasons[code].append(reason)


def _score_seats(board: _Board, mentions: list[_Mention], rules: PlaceRules) -> None:
    """The institution's seat counts like a place of the event, unless it is only where a statement
    was made ("kata Gubernur di Kantor Gubernur Jatim")."""
    wt = rules.weights
    for m in mentions:
        if m.seat is None:
            continue
        speech = wt.seat_speech if m.weight < m.info.weight * 0.5 else 1.0
        w = wt.position(m.where) * wt.seat * speech
        board.scores[m.seat] += w
        board.placed.add(m.seat)
        if w >= wt.position(m.where) * wt.seat:
            board.event.add(m.seat)
        board.note(m.seat, f"{m.where}: seat of {m.text} ({w:.1f})")


def _name_weight(board: _Board, m: _Mention, code: str, rules: PlaceRules) -> float | None:
    """The score one Kab/Kota name adds by where it stands; None for a repeat in the title."""
    wt = rules.weights
    w = m.weight
    if m.info.province and not m.vote and m.where != "dateline":
        w *= wt.bare_province_name
    if m.where == "title":
        if code in board.seen_title:
            return None
        board.seen_title.add(code)
        w *= wt.title
    elif m.where == "dateline":
        w *= wt.dateline
    else:
        board.body_count[code] += 1
        k = board.body_count[code]
        w *= (wt.lead if m.where == "lead" else wt.body) / (1 + wt.repeat_decay * (k - 1))
    if m.vote and w > 0:
        w += wt.explicit_bonus
    return w


def _score_names(board: _Board, mentions: list[_Mention], gaz: Gazetteer, tally: _Tally, rules: PlaceRules) -> None:
    for m in mentions:
        # "Pemprov Gorontalo" in a story set in "Kabupaten Gorontalo": the Kab/Kota the article names.
        cities = m.info.cities or tuple(c for c in m.capital if c in tally.explicit_codes)
        if m.as_kec or len(cities) != 1 and not m.info.cities:
            continue
        code = _pick(cities, m.vote, gaz, tally)
        if (
            m.info.province
            and not m.vote
            and any(c != code and gaz.province_of[c] == m.info.province for c in tally.explicit_codes)
        ):
            continue  # "Jambi" next to "Kabupaten Muarojambi" is the province
        if (
            m.info.province
            and not m.vote
            and m.info.province in tally.province_named
            and code not in tally.explicit_codes
        ):
            continue  # "Jambi" in a story about "Provinsi Jambi" is the province, unless "Kota Jambi" is named
        w = _name_weight(board, m, code, rules)
        if w is None:
            continue
        board.scores[code] += w
        if m.located:
            board.located.add(code)
        if m.compared:
            board.compared.add(code)
        if not m.route:
            board.placed.add(code)
            if not m.passing and m.where != "dateline":
                board.event.add(code)
                board.named_event.add(code)
        board.note(code, f"{m.where}: {m.text} ({w:.1f})" + (" route" if m.route else ""))


def _kecamatan_code(board: _Board, m: _Mention, gaz: Gazetteer, tally: _Tally) -> str | None:
    """The Kab/Kota of a kecamatan name: the only one, the one already named, or the one in a named province."""
    cands = list(m.info.kec)
    if len(cands) > 1:
        named = [c for c in cands if c in board.scores]
        if len(named) == 1:
            return named[0]
        in_prov = [c for c in cands if gaz.province_of[c] in tally.prov_mentions]
        return in_prov[0] if len(in_prov) == 1 else None
    return cands[0]


def _score_kecamatan(board: _Board, mentions: list[_Mention], gaz: Gazetteer, tally: _Tally, rules: PlaceRules) -> None:
    """ "Kecamatan X" locates the story like the Kab/Kota name would; a bare kecamatan name only supports
    a Kab/Kota already named, unless it follows "di" or has several words (single bare words are too
    often people: "Bruno", "Bambang")."""
    for m in mentions:
        if not m.as_kec:
            continue
        code = _kecamatan_code(board, m, gaz, tally)
        if code is None:
            continue
        prefixed = m.prev1 in rules.kec_prefix
        named_as_place = m.prev1 in rules.event_before or (m.where == "title" and m.prev1 in rules.headline_place)
        if not prefixed and code not in board.scores and not (named_as_place or " " in m.info.key):
            continue
        w = rules.weights.position(m.where) * m.weight * (1.0 if prefixed else rules.weights.bare_kecamatan)
        board.scores[code] += w
        board.placed.add(code)
        if m.located:
            board.located.add(code)
        if not m.passing:
            board.event.add(code)
            if prefixed:
                board.named_event.add(code)
        board.note(code, f"kecamatan {m.text} ({w:.1f})")


def _support_by_province(board: _Board, gaz: Gazetteer, tally: _Tally, rules: PlaceRules) -> None:
    for code in list(board.scores):
        if gaz.province_of[code] in tally.prov_mentions:
            board.scores[code] *= rules.weights.province_support


# ------------------------------------------------------------------- phase 4: the place of the event


def _choose(
    board: _Board,
    mentions: list[_Mention],
    gaz: Gazetteer,
    tally: _Tally,
    default_city: str | None,
    rules: PlaceRules,
    abroad: bool = False,
) -> PlaceResult:
    wt = rules.weights
    evidence: list[str] = []
    # A place named only inside a road or route name ("Tol Semarang-Solo") never locates the story;
    # when the headline or lead puts the event abroad, only a place named with "di" or as a Kab/Kota
    # ("Kabupaten Indramayu") still can.
    eligible = board.located | (board.placed & tally.explicit_codes) if abroad else board.placed
    ranked = sorted(((c, v) for c, v in board.scores.items() if c in eligible), key=lambda kv: kv[1], reverse=True)
    city: str | None = None
    others: list[str] = []
    # A province in the title with no Kab/Kota in the title or dateline marks a province-wide story
    # ("Pilkada Serentak di Jatim"): passing mentions of a city in the body are not enough then.
    headline_city = any(m.where in {"title", "dateline"} and (m.info.cities or m.as_kec) for m in mentions)
    province_title = any(m.where == "title" and m.info.province and not m.info.cities for m in mentions)
    min_score = wt.min_city_score if headline_city or not province_title else wt.province_story_min
    ranked = _event_first(ranked, board, wt.event_share)
    if ranked and ranked[0][1] >= min_score:
        city = ranked[0][0]
        top = ranked[0][1]
        evidence.extend(board.reasons[city])
        # Further places of the same event only: a place merely mentioned (origin, destination,
        # where a quote was given, the outlet's base) is not one.
        others = [
            c
            for c, s in ranked[1:4]
            if s >= wt.other_share * top and s >= wt.other_min and c in board.event - board.compared
        ]
    elif default_city:
        city = default_city
        evidence.append("feed default city")
    province: str | None = None
    if city is not None:
        province = gaz.province_of[city]
    elif tally.prov_mentions:
        best = max(tally.prov_mentions.items(), key=lambda kv: kv[1])
        if best[1] >= wt.min_city_score:
            province = best[0]
            evidence.append(f"province only: {gaz.provinces[province].name}")
    if city is None and not evidence:
        evidence.append("no place named")
    return PlaceResult(city, others, province, evidence, dict(board.scores))


def _event_first(ranked: list[tuple[str, float]], board: _Board, share: float) -> list[tuple[str, float]]:
    """A place named only in passing (an official's seat, an origin, a speaker's place) gives way to a
    place of the event that scores at least `share` of it: "Anggota DPRD Bandung Ditahan di Padang"."""
    if len(ranked) < 2 or ranked[0][0] in board.event:
        return ranked
    for k, (code, score) in enumerate(ranked[1:4], start=1):
        if code in board.named_event and score >= share * ranked[0][1]:
            return [ranked[k], *ranked[:k], *ranked[k + 1 :]]
    return ranked


def locate(
    title: Tokens,
    body: Tokens,
    raw_body: str,
    gaz: Gazetteer,
    default_city: str | None = None,
) -> PlaceResult:
    """Score every Kab/Kota named in the article and pick the place of the event."""
    rules = place_rules()
    mentions = _collect(title, body, raw_body, gaz, rules)
    tally = _tally(mentions, gaz, rules)
    board = _Board()
    _score_seats(board, mentions, rules)
    _score_names(board, mentions, gaz, tally, rules)
    _score_kecamatan(board, mentions, gaz, tally, rules)
    _support_by_province(board, gaz, tally, rules)
    abroad = _abroad(title, rules) or _abroad(body, rules, rules.weights.lead_tokens)
    return _choose(board, mentions, gaz, tally, default_city, rules, abroad)


def _abroad(tokens: Tokens, rules: PlaceRules, n: int | None = None) -> bool:
    """True if the text puts the event abroad: a locative followed by a place abroad ("di Johor Bahru")."""
    words = tokens.lower[:n] if n is not None else tokens.lower
    for k in range(len(words) - 1):
        if words[k] not in rules.event_before:
            continue
        if words[k + 1] in rules.foreign or " ".join(words[k + 1 : k + 3]) in rules.foreign:
            return True
    return False
