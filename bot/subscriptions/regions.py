"""Named regions that span several Kab/Kota — Solo Raya, Jabodetabek, Gerbangkertosusila … — as data.

The table is `data/region_groups.csv` (extend it there). A region resolves to the area codes of its
members, so `/langganan Solo Raya` is the same subscription as naming its seven Kab/Kota. Pure apart from
reading the packaged file once.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from importlib import resources

from bot import classify
from bot.models import Place

_DATA = "region_groups.csv"
_JOINERS = re.compile(r"[\s\-_.]+")


@dataclass(frozen=True, slots=True)
class RegionGroup:
    name: str
    aliases: tuple[str, ...]
    members: tuple[str, ...]  # area codes: Kab/Kota ("33.72") or province ("31")

    @property
    def member_names(self) -> list[str]:
        names = []
        for code in self.members:
            place = classify.place_by_code(code)
            province = classify.province_by_code(code)
            names.append(place.name if place else f"Provinsi {province.name}" if province else code)
        return names


def region_key(text: str) -> str:
    """'Solo Raya', 'soloraya', 'solo-raya' → 'soloraya'."""
    return _JOINERS.sub("", text.casefold())


def _member_code(name: str) -> str:
    """An official Kab/Kota name or "Provinsi X" → its code; a name that is not exactly one place is an error."""
    found = classify.resolve_place(name.removeprefix("Provinsi "))
    exact = [p for p in found if isinstance(p, Place) == (not name.startswith("Provinsi "))]
    if len(exact) != 1:
        raise ValueError(f"{_DATA}: member {name!r} does not name exactly one Kab/Kota or province")
    return exact[0].code


@functools.cache
def region_groups() -> tuple[RegionGroup, ...]:
    text = resources.files("bot.subscriptions").joinpath("data", _DATA).read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("".join(line for line in text.splitlines(True) if not line.startswith("#"))))
    groups = []
    for row in rows:
        aliases = tuple(a.strip() for a in row["aliases"].split("|") if a.strip())
        members = tuple(_member_code(m.strip()) for m in row["members"].split("|") if m.strip())
        groups.append(RegionGroup(name=row["name"].strip(), aliases=aliases, members=members))
    return tuple(groups)


@functools.cache
def _by_key() -> dict[str, RegionGroup]:
    table: dict[str, RegionGroup] = {}
    for group in region_groups():
        for spelling in (group.name, *group.aliases):
            table.setdefault(region_key(spelling), group)
    return table


def resolve_region(text: str) -> RegionGroup | None:
    """The region a phrase names ('solo raya', 'Soloraya', 'JABODETABEK'), or None."""
    key = region_key(text)
    return _by_key().get(key) if key else None


def region_names() -> list[str]:
    """Every way of writing a region, for "did you mean" suggestions."""
    return [spelling for group in region_groups() for spelling in (group.name, *group.aliases)]
