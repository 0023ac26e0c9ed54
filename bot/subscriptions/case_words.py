"""Words for /langganan that name case keys beyond the classifier's own vocabulary, as data.

`data/case_words.csv`: umbrella words for families of cases ("kriminal" → seven crime keys, "bencana" → five
disaster keys; shown in /kasus) and their English counterparts ("crime", "disaster"). English words for one
case come from the classifier (bot.classify.english_case_words). Pure apart from reading the packaged file once.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources

from bot import classify

_DATA = "case_words.csv"


@dataclass(frozen=True, slots=True)
class CaseWord:
    word: str
    kind: str  # "umbrella" or "english"
    cases: tuple[str, ...]


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


@functools.cache
def case_word_table() -> dict[str, CaseWord]:
    """Folded word → its entry; a key that is not a case key is an error in the data file."""
    text = resources.files("bot.subscriptions").joinpath("data", _DATA).read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("".join(line for line in text.splitlines(True) if not line.startswith("#"))))
    table: dict[str, CaseWord] = {}
    for row in rows:
        cases = tuple(c.strip() for c in row["cases"].split("|") if c.strip())
        unknown = [c for c in cases if c not in classify.CASE_KEYS]
        if unknown or row["kind"] not in {"umbrella", "english"}:
            raise ValueError(f"{_DATA}: bad row for {row['word']!r}: {unknown or row['kind']}")
        table[_fold(row["word"])] = CaseWord(word=row["word"].strip(), kind=row["kind"], cases=cases)
    return table


def resolve_case_words(text: str) -> tuple[str, ...] | None:
    """Case keys an umbrella or English word stands for ('kriminal' → 7 keys, 'flood' → banjir), or None."""
    entry = case_word_table().get(_fold(text))
    return entry.cases if entry is not None else None


def umbrella_words() -> list[CaseWord]:
    """The Indonesian umbrella words (kriminal, kejahatan, bencana …), for /kasus."""
    return [entry for entry in case_word_table().values() if entry.kind == "umbrella"]
