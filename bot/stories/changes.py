"""Whether a later report changes its story materially, so chats that have the story get a "Pembaruan".

Two things count (issue #10): a case key the story did not have (a crash becomes a murder
investigation), and a death toll in the headline higher than any earlier headline of the story gave
("Truk Tabrak 3 Motor, 2 Tewas" after "Kecelakaan Maut di Kartasura"). Anything else — another outlet's
wording, more detail in the body — only adds the outlet to the alert ("Juga diberitakan"). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

_NUMBER_WORDS: Final = {
    "satu": 1,
    "seorang": 1,
    "dua": 2,
    "tiga": 3,
    "empat": 4,
    "lima": 5,
    "enam": 6,
    "tujuh": 7,
    "delapan": 8,
    "sembilan": 9,
    "sepuluh": 10,
    "belasan": 11,
    "puluhan": 20,
    "ratusan": 100,
}
_COUNT = r"(\d{1,5}|" + "|".join(_NUMBER_WORDS) + r")"
_DEAD = r"(?:tewas|meninggal(?:\s+dunia)?|wafat|korban\s+(?:jiwa|tewas|meninggal))"
# "2 Tewas", "dua orang meninggal dunia", "3 korban jiwa", "5 Penumpang Tewas"
_COUNT_DEAD: Final = re.compile(rf"\b{_COUNT}\s+(?:(?:orang|warga|penumpang|pekerja|korban|pemotor|anak)\s+)?{_DEAD}\b")
# "tewaskan 3 orang", "renggut 2 nyawa", "korban tewas 4 orang"
_DEAD_COUNT: Final = re.compile(rf"\b(?:{_DEAD}|tewaskan|renggut)\s+{_COUNT}\b")
# "korban tewas kebakaran bertambah jadi 4", "korban meninggal naik menjadi 5"
_DEAD_RISES_TO: Final = re.compile(
    rf"\b{_DEAD}(?:\s+\w+){{0,2}}?\s+(?:(?:bertambah|naik)\s+)?(?:jadi|menjadi)\s+{_COUNT}\b"
)
_COUNT_LIVES: Final = re.compile(rf"\b{_COUNT}\s+nyawa\b")
# A death with no count in the headline: "Pengendara Motor Tewas", "Bocah Meninggal Tertimbun".
_ANY_DEAD: Final = re.compile(r"\b(?:tewas|meninggal|wafat|tewaskan|renggut nyawa)\b")
_NOT_DEAD: Final = re.compile(r"\b(?:nyaris|hampir|tidak ada|tak ada|tanpa)\s+(?:korban\s+)?(?:tewas|jiwa|meninggal)\b")


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def death_toll(title: str) -> int | None:
    """The number of dead a headline gives (1 for a death without a count), or None."""
    text = title.lower()
    if _NOT_DEAD.search(text):
        return None
    counts = [
        _count(m.group(1))
        for pattern in (_COUNT_DEAD, _DEAD_COUNT, _DEAD_RISES_TO, _COUNT_LIVES)
        for m in pattern.finditer(text)
    ]
    counts = [c for c in counts if 0 < c < 100_000]
    if counts:
        return max(counts)
    return 1 if _ANY_DEAD.search(text) else None


@dataclass(frozen=True, slots=True)
class Change:
    """What a report adds to its story that is worth a new message."""

    new_cases: tuple[str, ...] = ()
    death_toll: int | None = None  # a toll higher than any earlier headline gave

    def __bool__(self) -> bool:
        return bool(self.new_cases) or self.death_toll is not None


def material_change(
    story_cases: Iterable[str], earlier_titles: Sequence[str], title: str, cases: Sequence[str]
) -> Change:
    """What `title` / `cases` of a later report change in a story that had `story_cases` and whose
    earlier reports were headlined `earlier_titles`; falsy when nothing material."""
    known = set(story_cases)
    new_cases = tuple(c for c in dict.fromkeys(cases) if c not in known)
    toll = death_toll(title)
    if toll is not None:
        before = [t for t in (death_toll(x) for x in earlier_titles) if t is not None]
        if before and toll <= max(before):
            toll = None
    return Change(new_cases=new_cases, death_toll=toll)
