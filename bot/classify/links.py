"""The region an article's link names: a regional desk's subdomain or section ("jateng.inews.id",
"detik.com/jateng", "makassar.kompas.com", "radarsolo.jawapos.com").

A desk covers a region, not one town (the Solo desk reports from Sragen, Wonogiri and Karanganyar;
the Ambon desk from all of Maluku), and where an outlet or desk is based is not where the story happens
(the labelling rule: the place of the event, not of origin). So the link never names the Kab/Kota: it
only gives the province of a story whose text names no place at all. Measured on the dev sets, a desk's
town taken as the Kab/Kota was wrong more often than right; its province was right every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.classify.gazetteer import Gazetteer

# Host labels and first path segments that are sections of national outlets, not regions, although a
# Kab/Kota or kecamatan has the same name ("metro.sindonews.com" is the metropolitan desk, not Kota Metro).
SECTION_WORDS = frozenset({"metro", "kota", "bola", "news", "www", "m", "amp", "read", "berita", "regional", "daerah"})
# A newspaper named after its town: "radarsolo", "tribunjogja".
OUTLET_PREFIXES = ("radar", "tribun")


@dataclass(frozen=True, slots=True)
class LinkRegion:
    province: str  # province code
    label: str  # the part of the link that named it ("jateng", "solo")


def _labels(link: str) -> list[str]:
    """Candidate region names in a link: the host's labels (a newspaper's without its prefix) and the
    first path segment."""
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return []
    host = (parts.hostname or "").lower()
    out: list[str] = []
    for label in host.split(".")[:-1]:  # subdomains and the site's name, without the top-level domain
        out.append(label)
        out += [label[len(p) :] for p in OUTLET_PREFIXES if label.startswith(p) and len(label) > len(p)]
    segments = [s for s in parts.path.split("/") if s]
    if segments:
        out.append(segments[0].lower())
    return [lab for lab in out if lab and lab not in SECTION_WORDS]


def link_region(link: str | None, gaz: Gazetteer) -> LinkRegion | None:
    """The province of the regional desk or section a link names, or None."""
    if not link:
        return None
    for label in _labels(link):
        info = gaz.keys.get(label)
        if info is None or info.common or info.kind in {"ignore", "kec", "landmark"}:
            continue
        if info.province is not None:
            return LinkRegion(info.province, label)
        provinces = {gaz.province_of[c] for c in info.cities}
        if len(provinces) == 1:
            return LinkRegion(provinces.pop(), label)
    return None
