"""Where the story happens: datelines, names, aliases, kecamatan, Kota vs Kabupaten, origin vs event."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from bot.classify.gazetteer import Gazetteer, KeyInfo
from bot.classify.text import Tokens, fold_name, normalize_phrase

# Words right before a name that say which of a Kota/Kabupaten pair is meant.
KAB_WORDS = frozenset({"pemkab", "bupati", "wabup", "kabupaten", "kab", "pemerintah kabupaten"})
KOTA_WORDS = frozenset(
    {"pemkot", "walikota", "wawali", "wawako", "walkot", "kodya", "polrestabes", "kapolrestabes", "kota"}
)
POLICE_WORDS = frozenset({"polres", "polresta", "kapolres", "kapolresta", "mapolres", "mapolresta"})
# Context that says the name is not where the story happens.
ORIGIN_WORDS = frozenset({"asal", "berasal", "kelahiran", "asli", "perantau", "perantauan", "eks"})
FROM_WORDS = frozenset({"dari"})
TOWARD_WORDS = frozenset({"ke", "menuju", "arah", "tujuan", "jurusan"})
STREET_WORDS = frozenset({"jalan", "jl", "jln", "gang", "gg"})
ROUTE_WORDS = frozenset({"tol", "jalur", "ruas", "lintas", "trayek", "jurusan", "rute"})
VILLAGE_WORDS = frozenset(
    {
        "kecamatan",
        "kec",
        "camat",
        "kelurahan",
        "kel",
        "desa",
        "ds",
        "dusun",
        "kampung",
        "kp",
        "lurah",
        "kades",
        "nagari",
        "gampong",
    }
)
KEC_WORDS = frozenset({"kecamatan", "kec", "camat"})
# A Polsek is named after its kecamatan ("Polsek Rantepao"): it locates the story like "Kecamatan X".
POLSEK_WORDS = frozenset({"polsek", "kapolsek", "mapolsek"})
KEC_PREFIX = KEC_WORDS | POLSEK_WORDS
# Offices named after their Kab/Kota: the speaker's unit, not a place the story passes through, so a
# preceding speech verb or "dari" does not discount them ("kata Kasat Reskrim Polres Karawang").
OFFICE_WORDS = POLICE_WORDS | POLSEK_WORDS | (KAB_WORDS | KOTA_WORDS) - {"kabupaten", "kab", "kota"}
# An official's title names the official's home, which need not be where the event is.
OFFICIAL_WORDS = frozenset(
    {"bupati", "wabup", "walikota", "wawali", "wawako", "walkot", "pemkab", "pemkot", "gubernur", "dprd"}
)
# Regional offices of national agencies are named after the city they sit in but cover a wide region
# (a SAR office, a geophysics station, a quarantine or wildlife office, a naval or air base).
REGIONAL_OFFICE_WORDS = frozenset(
    {
        "sar",
        "basarnas",
        "geofisika",
        "meteorologi",
        "karantina",
        "bksda",
        "bbksda",
        "lantamal",
        "lanal",
        "lanud",
        "ksop",
        "syahbandar",
        "bbpom",
        "bpom",
    }
)
COMPARE_WORDS = frozenset({"dibanding", "dibandingkan", "ketimbang", "daripada", "menyusul", "seperti"})
OUTLET_BEFORE = frozenset({"tribun", "radar", "harian", "koran", "tribunnews"})
OUTLET_AFTER = frozenset({"pos", "post", "tv", "news", "today", "terkini", "ekspres", "express", "raya"})
EVENT_BEFORE = frozenset({"di", "wilayah", "kawasan", "daerah", "lokasi", "sekitar", "perairan", "lereng"})
# "ujar Alex di Gedung KPK, Kuningan, Jakarta Selatan": where a quote was given, not the event.
SPEECH_WORDS = frozenset(
    {
        "kata",
        "ujar",
        "ucap",
        "tutur",
        "jelas",
        "ungkap",
        "terang",
        "katanya",
        "ujarnya",
        "ucapnya",
        "tuturnya",
        "jelasnya",
        "ungkapnya",
        "terangnya",
        "imbuhnya",
        "tegasnya",
    }
)
# Words before a name that make it a person's name ("Pak Tegal", "Mbah Kediri", "bernama Ahmad Batu").
HONORIFICS = frozenset(
    {
        "pak",
        "bapak",
        "bu",
        "ibu",
        "mas",
        "mbak",
        "bang",
        "abang",
        "kang",
        "cak",
        "mbah",
        "om",
        "tante",
        "kakek",
        "nenek",
        "bung",
        "gus",
        "ning",
        "uda",
        "uni",
        "daeng",
        "sdr",
        "saudara",
        "saudari",
        "haji",
        "hj",
        "almarhum",
        "almarhumah",
        "bin",
        "binti",
        "alias",
        "bernama",
        "berinisial",
        "inisial",
        "disapa",
        "sapaan",
    }
)
# Common first names: "Ahmad Batu", "Joko Kediri" are people (a surname that is a place name).
GIVEN_NAMES = frozenset(
    {
        "ahmad",
        "achmad",
        "muhammad",
        "mohammad",
        "mochammad",
        "moh",
        "muh",
        "abdul",
        "siti",
        "budi",
        "agus",
        "joko",
        "eko",
        "dwi",
        "tri",
        "rudi",
        "andi",
        "hendra",
        "bambang",
        "slamet",
        "yusuf",
        "imam",
        "rizky",
        "dedi",
        "wahyu",
        "nur",
        "dewi",
    }
)
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

# Provincial institutions sit in the provincial capital: a protest "di depan Kantor Gubernur Riau" or a
# hearing "di Kejati Sumut" happens in Pekanbaru or Medan even when the city is never named.
# (words before the province name, nearest first) -> institution kind.
SEAT_BEFORE: dict[tuple[str, ...], str] = {
    ("gubernur", "kantor"): "gov",
    ("gubernur", "gedung"): "gov",
    ("gubernur", "dinas"): "gov",
    ("gubernur", "jabatan"): "gov",
    ("gubernuran", "kantor"): "gov",
    ("kota", "balai"): "gov",
    ("pemprov", "kantor"): "gov",
    ("pemprov", "gedung"): "gov",
    ("dprd", "gedung"): "gov",
    ("dprd", "kantor"): "gov",
    ("dprd", "di"): "gov",
    ("dprd", "depan"): "gov",
    ("dprd", "halaman"): "gov",
    ("dprd", "ke"): "gov",
    ("kejati",): "kejati",
    ("tinggi", "kejaksaan"): "kejati",
    ("tinggi", "pengadilan"): "kejati",
    ("mapolda",): "polda",
    ("polda", "markas"): "polda",
    ("polda", "di"): "polda",
}
SEAT_SKIP = frozenset({"provinsi", "prov"})
# Capital of each province (seat of the governor, DPRD, Kejati, Pengadilan Tinggi and Polda), and where
# an institution sits elsewhere (Sofifi is in Tidore Kepulauan, Polda DIY in Sleman, Polda Kepri in
# Batam, Polda Kaltim in Balikpapan, Kalsel's governor in Banjarbaru).
CAPITALS: dict[str, str] = {
    "Aceh": "Kota Banda Aceh",
    "Sumatera Utara": "Kota Medan",
    "Sumatera Barat": "Kota Padang",
    "Riau": "Kota Pekanbaru",
    "Jambi": "Kota Jambi",
    "Sumatera Selatan": "Kota Palembang",
    "Bengkulu": "Kota Bengkulu",
    "Lampung": "Kota Bandar Lampung",
    "Kepulauan Bangka Belitung": "Kota Pangkal Pinang",
    "Kepulauan Riau": "Kota Tanjung Pinang",
    "DKI Jakarta": "Kota Jakarta Pusat",
    "Jawa Barat": "Kota Bandung",
    "Jawa Tengah": "Kota Semarang",
    "Daerah Istimewa Yogyakarta": "Kota Yogyakarta",
    "Jawa Timur": "Kota Surabaya",
    "Banten": "Kota Serang",
    "Bali": "Kota Denpasar",
    "Nusa Tenggara Barat": "Kota Mataram",
    "Nusa Tenggara Timur": "Kota Kupang",
    "Kalimantan Barat": "Kota Pontianak",
    "Kalimantan Tengah": "Kota Palangkaraya",
    "Kalimantan Selatan": "Kota Banjarmasin",
    "Kalimantan Timur": "Kota Samarinda",
    "Kalimantan Utara": "Kabupaten Bulungan",
    "Sulawesi Utara": "Kota Manado",
    "Sulawesi Tengah": "Kota Palu",
    "Sulawesi Selatan": "Kota Makassar",
    "Sulawesi Tenggara": "Kota Kendari",
    "Gorontalo": "Kota Gorontalo",
    "Sulawesi Barat": "Kabupaten Mamuju",
    "Maluku": "Kota Ambon",
    "Maluku Utara": "Kota Ternate",
    "Papua": "Kota Jayapura",
    "Papua Barat": "Kabupaten Manokwari",
    "Papua Selatan": "Kabupaten Merauke",
    "Papua Tengah": "Kabupaten Nabire",
    "Papua Pegunungan": "Kabupaten Jayawijaya",
    "Papua Barat Daya": "Kota Sorong",
}
SEAT_EXCEPTIONS: dict[tuple[str, str], str | None] = {
    ("gov", "Maluku Utara"): "Kota Tidore Kepulauan",
    ("gov", "Kalimantan Selatan"): "Kota Banjarbaru",
    ("polda", "Daerah Istimewa Yogyakarta"): "Kabupaten Sleman",
    ("polda", "Kepulauan Riau"): "Kota Batam",
    ("polda", "Kalimantan Timur"): "Kota Balikpapan",
    ("polda", "DKI Jakarta"): None,
    ("kejati", "DKI Jakarta"): None,
}
W_SEAT = 1.0

W_DATELINE = 3.0
W_TITLE = 4.0
W_LEAD = 2.0
W_BODY = 1.0
LEAD_TOKENS = 60
MIN_CITY_SCORE = 1.5
PROVINCE_STORY_MIN = 2.0
OTHER_SHARE = 0.5  # share of the main city's score a further place of the event needs


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


def _after_speech_verb(tokens: Tokens, i: int, span: int = 8) -> bool:
    """True if a speech verb precedes token i in the same sentence, within `span` tokens."""
    for j in range(i - 1, max(-1, i - span - 1), -1):
        gap = tokens.text[tokens.starts[j] + len(tokens.words[j]) : tokens.starts[j + 1]]
        if re.search(r"[.!?\n\"\u201c\u201d]", gap):
            return False
        if tokens.lower[j] in SPEECH_WORDS:
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


def _mentions(tokens: Tokens, gaz: Gazetteer, where: str, lower_ok: bool) -> list[_Mention]:
    out: list[_Mention] = []
    n = len(tokens.lower)
    route_end = -1  # token after the last road/route name, and whether it had a route word
    route_word = False
    for cstart, cend, info in gaz.iter_keys(tokens.joined):
        if info.kind == "ignore":
            continue
        i, j = tokens.token_at(cstart), tokens.token_at(cend - 1) + 1
        if not lower_ok and not _capitalised(tokens, i) and info.kind not in {"abbrev"}:
            continue
        win = _window(tokens, i, 4)
        prev1 = win[0] if win else ""
        prev2 = win[1] if len(win) > 1 else ""
        nxt = tokens.lower[j] if j < n and not tokens.breaks[j] else ""
        weight = info.weight
        vote = info.explicit
        as_kec = False
        if prev1 in VILLAGE_WORDS or (prev1 in POLSEK_WORDS and info.kec):
            if prev1 in KEC_PREFIX and info.kec:
                as_kec = True
            else:
                continue  # a village named like a city
        elif info.kind == "kec" or (not info.cities and not info.province):
            if not info.kec:
                continue
            as_kec = True
        if not as_kec and not info.cities and info.province is None:
            continue
        gap = _gap(tokens, i)
        # "Tol Semarang-Solo", "rute Batam Balikpapan": later ends of a road or line named so far.
        chained = i == route_end and (gap.strip() in _ROUTE_GAP or (route_word and gap == " "))
        if prev1 in STREET_WORDS or (prev2 in STREET_WORDS and prev1 in {"raya", "lingkar", "baru"}):
            route_end, route_word = j, False
            continue
        if prev1 in OUTLET_BEFORE or nxt in OUTLET_AFTER:
            continue
        if prev1 in HONORIFICS and not (prev1 == "ibu" and info.key.startswith("kota")):
            continue  # "Pak Tegal", "Mbah Kediri": a person
        if prev1 in GIVEN_NAMES and not tokens.breaks[i] and _capitalised(tokens, i - 1):
            continue  # "Ahmad Batu", "Joko Kediri": a surname
        if _AGE_AFTER.match(tokens.text, tokens.starts[j - 1] + len(tokens.words[j - 1])):
            continue  # "Kediri (45)": people have ages, places do not
        if info.key == "metro" and (prev1 in POLICE_WORDS or prev1 in {"polda", "kapolda"}):
            continue  # "Polres Metro Jakarta Utara", "Polda Metro Jaya": part of the unit's name
        route = False
        nxt_gap = _gap(tokens, j).strip() if j < n else ""
        if (
            chained
            or prev1 in ROUTE_WORDS
            or (prev2 in ROUTE_WORDS and prev1 in {"ruas", "jalur"})
            or (
                (nxt_gap in _ROUTE_GAP or gap.strip() in _ROUTE_GAP)
                and any(w in ROUTE_WORDS | STREET_WORDS for w in win[:3])
            )
        ):
            weight *= 0.3  # a toll road or route is named after its ends, not where it happened
            route = True
            route_word = route_word if chained else True
            route_end = j
        if info.common or as_kec and info.explicit is None and prev1 not in KEC_PREFIX:
            # Ordinary words and bare kecamatan names need a capital mid-sentence or a prefix.
            has_prefix = bool(vote) or prev1 in KAB_WORDS | KOTA_WORDS | POLICE_WORDS | KEC_PREFIX
            if not has_prefix:
                kec_ok = as_kec and where == "title" and (prev1 in EVENT_BEFORE or " " in info.key)
                if not kec_ok and (not _capitalised(tokens, i) or _sentence_initial(tokens, i) or where == "title"):
                    if where == "title" and info.common and prev1 in EVENT_BEFORE:
                        pass  # "Tawuran di Malang": the locative settles it
                    elif where == "title" and info.common:
                        weight *= 0.25  # Title Case makes every word capitalised
                    else:
                        continue
        if as_kec and prev1 not in KEC_PREFIX and len(info.key) <= 4:
            continue
        # Kota vs Kabupaten from the words around the name.
        if vote is None:
            if prev1 in KOTA_WORDS or (prev1 == "kota" and prev2 == "wali") or nxt == "kota":
                vote = "kota"
            elif prev1 in KAB_WORDS:
                vote = "kabupaten"
            elif prev1 in POLICE_WORDS or (prev1 == "metro" and prev2 in POLICE_WORDS):
                vote = "kota" if nxt == "kota" else "kabupaten"
        office = prev1 in OFFICE_WORDS
        passing = route
        if any(w in ORIGIN_WORDS for w in win):
            weight *= 0.15
            passing = True
        elif office:
            if prev1 in POLICE_WORDS:
                weight *= 1.3  # the Polres that handles a case is the one where it happened
        elif any(w in FROM_WORDS for w in win[:3]):
            weight *= 0.5
            passing = True
        elif prev1 in TOWARD_WORDS:
            weight *= 0.6
            passing = True
        elif any(w in TOWARD_WORDS for w in win[1:4]):
            passing = True  # "dibawa ke RS Siaga Kabupaten Pemalang": where people were taken
        elif prev1 in EVENT_BEFORE or prev2 == "di":
            weight *= 1.3
        if not office and _after_speech_verb(tokens, i):
            weight *= 0.3
            passing = True
        compared = any(w in COMPARE_WORDS for w in win)
        if prev1 in OFFICIAL_WORDS or prev1 == "wali" or (prev1 == "kota" and prev2 == "wali") or compared:
            passing = True  # "Bupati Sragen", "dibanding Klaten": named, but not a place of the event
        if CLUB_PREFIX.match(prev1):
            weight *= 0.5
            passing = True
        if prev1 in REGIONAL_OFFICE_WORDS:
            weight *= 0.5  # "Kantor SAR Ambon", "Stasiun Geofisika Palu": a wide region's base, the speaker's unit
            passing = True
        seat = _seat(gaz, info, _window(tokens, i, 5)) if info.province else None
        out.append(
            _Mention(
                info,
                i,
                j,
                weight,
                where,
                vote,
                " ".join(tokens.words[i:j]),
                as_kec,
                prev1,
                route,
                passing,
                compared,
                seat,
            )
        )
    # "Jambi, Palembang, Banjarmasin, Palangkaraya": a list of three or more places in one sentence
    # describes a wide story, and none of them is its place.
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
                r.weight *= 0.3
                r.passing = True
        run = [m] if m is not None else []
    # "Kecamatan Semin, Yogyakarta" / "Jebres, Jawa Tengah": a name right after another place and a
    # comma is the larger region that contains it, not a second place.
    for a, b in zip(out, out[1:], strict=False):
        if b.start == a.end and tokens.breaks[b.start] and b.info.cities and not b.as_kec:
            inner = a.info.kec if a.as_kec else a.info.cities
            same_prov = {gaz.province_of[c] for c in inner} & {gaz.province_of[c] for c in b.info.cities}
            if inner and same_prov and not set(inner) & set(b.info.cities):
                b.weight *= 0.2
                b.vote = None
                b.passing = True
    return out


_SEAT_CACHE: dict[tuple[int, str, str], str | None] = {}


def _seat_code(gaz: Gazetteer, kind: str, province: str) -> str | None:
    key = (id(gaz), kind, province)
    if key not in _SEAT_CACHE:
        _SEAT_CACHE[key] = _find_seat(gaz, kind, province)
    return _SEAT_CACHE[key]


def _find_seat(gaz: Gazetteer, kind: str, province: str) -> str | None:
    pname = gaz.provinces[province].name
    name = SEAT_EXCEPTIONS.get((kind, pname), CAPITALS.get(pname))
    if name is None:
        return None
    codes = [c for c in gaz.display_keys.get(fold_name(name), []) if gaz.province_of[c] == province]
    return codes[0] if len(codes) == 1 else None


def _seat(gaz: Gazetteer, info: KeyInfo, win: list[str]) -> str | None:
    """The capital, when the province name follows an institution word ("Kantor Gubernur Jatim")."""
    if info.province is None:
        return None
    words = [w for w in win if w not in SEAT_SKIP]
    for pattern, kind in SEAT_BEFORE.items():
        if tuple(words[: len(pattern)]) == pattern:
            return _seat_code(gaz, kind, info.province)
    return None


def locate(
    title: Tokens,
    body: Tokens,
    raw_body: str,
    gaz: Gazetteer,
    default_city: str | None = None,
) -> PlaceResult:
    """Score every Kab/Kota named in the article and pick the place of the event."""
    lower_ok = sum(1 for w in body.words[:200] if w[:1].isupper()) < 3
    mentions = _mentions(title, gaz, "title", lower_ok)
    for m in _mentions(body, gaz, "body", lower_ok):
        if m.start < LEAD_TOKENS:
            m.where = "lead"
        mentions.append(m)
    dl = parse_dateline(raw_body, gaz)
    evidence: list[str] = []
    if dl is not None:
        # The dateline's own words in the body are the outlet's base as much as the event's place.
        dm = _DATELINE_RE.match(raw_body[:90])
        for m in mentions:
            if dm is not None and m.where != "title" and body.starts[m.start] < dm.end():
                m.passing = True
        info, phrase = dl
        mentions.append(_Mention(info, -1, -1, info.weight if info.weight else 1.0, "dateline", info.explicit, phrase))

    # Kota vs Kabupaten votes per ambiguous name, from the whole article.
    votes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    kec_support: dict[str, float] = defaultdict(float)
    for m in mentions:
        if m.as_kec:
            for c in m.info.kec:
                kec_support[c] += 1.0
        elif m.vote and len(m.info.cities) == 1:
            votes[gaz.short[m.info.cities[0]].lower()][m.vote] += 1.0
    prov_mentions: dict[str, float] = defaultdict(float)
    for m in mentions:
        if m.info.province and not m.info.cities and not m.as_kec:
            prov_mentions[m.info.province] += _position_weight(m.where) * m.weight

    def pick(codes: tuple[str, ...], vote: str | None) -> str | None:
        if len(codes) == 1:
            return codes[0]
        if vote:
            for c in codes:
                if gaz.types[c] == vote:
                    return c
        v = votes.get(gaz.short[codes[0]].lower(), {})
        scored = []
        for c in codes:
            s = v.get(gaz.types[c], 0.0) * 2 + kec_support.get(c, 0.0) + prov_mentions.get(gaz.province_of[c], 0) * 0.1
            scored.append((s, gaz.types[c] == "kota", c))
        scored.sort(reverse=True)
        return scored[0][2]

    explicit_codes = {m.info.cities[0] for m in mentions if len(m.info.cities) == 1 and m.vote}
    explicit_codes |= {c for m in mentions if m.as_kec and m.prev1 in KEC_PREFIX for c in m.info.kec}
    scores: dict[str, float] = defaultdict(float)
    reasons: dict[str, list[str]] = defaultdict(list)
    seen_title: set[str] = set()
    body_count: dict[str, int] = defaultdict(int)
    # Codes named other than as the end of a road or line, and codes named as a place of the event
    # (not only as origin, destination, speaker's place, the outlet's dateline or a larger region).
    placed: set[str] = set()
    event: set[str] = set()
    compared: set[str] = set()  # a place the story compares with is not a place of the event
    for m in mentions:
        if m.seat is None:
            continue
        # The institution's seat counts like a place of the event, unless it is only where a
        # statement was made ("kata Gubernur di Kantor Gubernur Jatim").
        w = _position_weight(m.where) * W_SEAT * (0.3 if m.weight < m.info.weight * 0.5 else 1.0)
        scores[m.seat] += w
        placed.add(m.seat)
        if w >= _position_weight(m.where) * W_SEAT:
            event.add(m.seat)
        if len(reasons[m.seat]) < 4:
            reasons[m.seat].append(f"{m.where}: seat of {m.text} ({w:.1f})")
    for m in mentions:
        if m.as_kec:
            continue
        if not m.info.cities:
            continue
        code = pick(m.info.cities, m.vote)
        if code is None:
            continue
        if (
            m.info.province
            and not m.vote
            and any(c != code and gaz.province_of[c] == m.info.province for c in explicit_codes)
        ):
            continue  # "Jambi" next to "Kabupaten Muarojambi" is the province
        w = m.weight
        if m.info.province and not m.vote and m.where != "dateline":
            w *= 0.6  # a bare "Jambi" or "Bengkulu" is as often the province as its capital
        if m.where == "title":
            if code in seen_title:
                continue
            seen_title.add(code)
            w *= W_TITLE
        elif m.where == "dateline":
            w *= W_DATELINE
        else:
            body_count[code] += 1
            k = body_count[code]
            w *= (W_LEAD if m.where == "lead" else W_BODY) / (1 + 0.3 * (k - 1))
        if m.vote and w > 0:
            w += 0.5
        scores[code] += w
        if m.compared:
            compared.add(code)
        if not m.route:
            placed.add(code)
            if not m.passing and m.where != "dateline":
                event.add(code)
        if len(reasons[code]) < 4:
            reasons[code].append(f"{m.where}: {m.text} ({w:.1f})" + (" route" if m.route else ""))
    # Kecamatan: "Kecamatan X" locates the story like the Kab/Kota name would; a bare kecamatan name
    # only supports a Kab/Kota already named, unless it follows "di" or has several words
    # (single bare words are too often people: "Bruno", "Bambang").
    for m in mentions:
        if not m.as_kec:
            continue
        cands = list(m.info.kec)
        if len(cands) > 1:
            named = [c for c in cands if c in scores]
            if len(named) == 1:
                cands = named
            else:
                in_prov = [c for c in cands if gaz.province_of[c] in prov_mentions]
                if len(in_prov) != 1:
                    continue
                cands = in_prov
        code = cands[0]
        prefixed = m.prev1 in KEC_PREFIX
        if not prefixed and code not in scores and not (m.prev1 in EVENT_BEFORE or " " in m.info.key):
            continue
        w = _position_weight(m.where) * m.weight * (1.0 if prefixed else 0.6)
        scores[code] += w
        placed.add(code)
        if not m.passing:
            event.add(code)
        if len(reasons[code]) < 4:
            reasons[code].append(f"kecamatan {m.text} ({w:.1f})")
    # A province named in the text supports its Kab/Kota a little.
    for code in list(scores):
        if gaz.province_of[code] in prov_mentions:
            scores[code] *= 1.1

    # A place named only inside a road or route name ("Tol Semarang-Solo") never locates the story.
    ranked = sorted(((c, v) for c, v in scores.items() if c in placed), key=lambda kv: kv[1], reverse=True)
    city: str | None = None
    others: list[str] = []
    # A province in the title with no Kab/Kota in the title or dateline marks a province-wide story
    # ("Pilkada Serentak di Jatim"): passing mentions of a city in the body are not enough then.
    headline_city = any(m.where in {"title", "dateline"} and (m.info.cities or m.as_kec) for m in mentions)
    province_title = any(m.where == "title" and m.info.province and not m.info.cities for m in mentions)
    min_score = MIN_CITY_SCORE if headline_city or not province_title else PROVINCE_STORY_MIN
    if ranked and ranked[0][1] >= min_score:
        city = ranked[0][0]
        top = ranked[0][1]
        evidence.extend(reasons[city])
        # Further places of the same event only: a place merely mentioned (origin, destination,
        # where a quote was given, the outlet's base) is not one.
        others = [c for c, s in ranked[1:4] if s >= OTHER_SHARE * top and s >= 3.0 and c in event - compared]
    elif default_city:
        city = default_city
        evidence.append("feed default city")
    province: str | None = None
    if city is not None:
        province = gaz.province_of[city]
    elif prov_mentions:
        best = max(prov_mentions.items(), key=lambda kv: kv[1])
        if best[1] >= MIN_CITY_SCORE:
            province = best[0]
            evidence.append(f"province only: {gaz.provinces[province].name}")
    if city is None and not evidence:
        evidence.append("no place named")
    return PlaceResult(city, others, province, evidence, dict(scores))


def _position_weight(where: str) -> float:
    return {"title": W_TITLE, "dateline": W_DATELINE, "lead": W_LEAD}.get(where, W_BODY)
